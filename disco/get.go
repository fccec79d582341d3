package disco

import (
	"context"
	"fmt"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// GetInfo asks the entity to (a server, a service, another client's full
// JID; the zero JID means the account itself, answered by its server) for
// its disco#info at node ("" for the entity itself). An iq error comes back
// wrapped, so errors.Is(err, stanza.ItemNotFound) works; a result that is
// not a well-formed disco#info query is an error wrapping ErrMalformed.
func GetInfo(ctx context.Context, s session.Sender, to jid.JID, node string) (*Info, error) {
	return GetInfoIQ(ctx, s, &stanza.IQ{Header: stanza.Header{To: to}}, node)
}

// GetInfoIQ is GetInfo with the iq envelope given by the caller (its id,
// to, xml:lang); its Type and Payload are ignored and iq is not modified.
func GetInfoIQ(ctx context.Context, s session.Sender, iq *stanza.IQ, node string) (*Info, error) {
	raw, err := query(ctx, s, iq, infoQuery{node: node}, "info")
	if err != nil {
		return nil, err
	}
	info, err := ParseInfo(raw)
	if err != nil {
		return nil, fmt.Errorf("disco: info from %s: %w", target(iq.To), err)
	}
	return info, nil
}

// GetItems asks the entity to for its disco#items at node ("" for the
// entity itself). Errors are as for GetInfo. Result set paging (XEP-0059)
// is not followed: a paged answer returns its first page.
func GetItems(ctx context.Context, s session.Sender, to jid.JID, node string) ([]Item, error) {
	return GetItemsIQ(ctx, s, &stanza.IQ{Header: stanza.Header{To: to}}, node)
}

// GetItemsIQ is GetItems with the iq envelope given by the caller; its Type
// and Payload are ignored and iq is not modified.
func GetItemsIQ(ctx context.Context, s session.Sender, iq *stanza.IQ, node string) ([]Item, error) {
	raw, err := query(ctx, s, iq, itemsQuery{node: node}, "items")
	if err != nil {
		return nil, err
	}
	items, err := ParseItems(raw)
	if err != nil {
		return nil, fmt.Errorf("disco: items from %s: %w", target(iq.To), err)
	}
	return items.Items, nil
}

// query sends an iq get with payload p and returns the result's payload.
func query(ctx context.Context, s session.Sender, iq *stanza.IQ, p stanza.Payload, what string) (*stanza.Raw, error) {
	req := *iq
	req.Type = stanza.IQGet
	req.Payload = p
	req.Error = nil
	reply, err := s.SendIQ(ctx, &req)
	if err != nil {
		return nil, fmt.Errorf("disco: %s from %s: %w", what, target(iq.To), err)
	}
	raw, ok := reply.Raw()
	if !ok {
		return nil, fmt.Errorf("disco: %s from %s: %w", what, target(iq.To), malformed("empty result"))
	}
	return raw, nil
}

// target names the addressee of a request in errors.
func target(to jid.JID) string {
	if to.IsZero() {
		return "own account"
	}
	return to.String()
}

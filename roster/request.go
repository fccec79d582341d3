package roster

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// DefaultReplyLimit is the size, in bytes, up to which Fetch accepts a
// roster result: larger than the session's limit on other elements,
// because a roster result is one element and a roster of 20,000 contacts
// is about 2 MiB of XML. See Roster.SetReplyLimit.
const DefaultReplyLimit = 16 << 20

// ErrInvalidItem is wrapped by the errors of Set and Remove for an item
// that cannot be sent: no JID, an empty group name, a group named twice.
var ErrInvalidItem = errors.New("roster: invalid item")

// Fetch asks the server for the account's roster and brings c up to date
// (RFC 6121 §2.2). When the stream offers roster versioning (RFC 6121
// §2.6, Features.RosterVersioning) it sends the version c holds for this
// account, or ver=” when it holds none; without versioning it sends no
// ver. A full result replaces c's items and version; an empty result
// to a version means the roster has not changed since, and the changes,
// if any, follow as pushes. Pushes c receives while the fetch is in flight
// are applied again over its result, which may be older than they are.
//
// A result of up to DefaultReplyLimit bytes is accepted, beyond the
// session's limit on other elements. An iq error comes back wrapped
// (errors.Is(err, stanza.ServiceUnavailable) works); a result that is not
// a roster, or a roster with an item it cannot hold (remove, an item
// twice), is an error wrapping ErrMalformed and leaves c as it was.
func Fetch(ctx context.Context, s session.Sender, c *Cache) error {
	return fetch(ctx, s, &stanza.IQ{}, c, DefaultReplyLimit)
}

// FetchIQ is Fetch with the iq envelope given by the caller (its id,
// xml:lang); its Type and Payload are ignored and iq is not modified.
func FetchIQ(ctx context.Context, s session.Sender, iq *stanza.IQ, c *Cache) error {
	return fetch(ctx, s, iq, c, DefaultReplyLimit)
}

func fetch(ctx context.Context, s session.Sender, iq *stanza.IQ, c *Cache, limit int) error {
	account := s.Addr().Bare()
	cached, ver, mark := c.beginFetch()
	defer c.endFetch()
	if cached != account {
		ver = "" // another account's version means nothing here
	}
	q := &Query{}
	if s.Features().RosterVersioning {
		q.Ver, q.Versioned = ver, true
	}
	req := *iq
	req.Type = stanza.IQGet
	req.Payload = q
	req.Error = nil
	reply, err := s.SendIQ(session.WithReplyLimit(ctx, limit), &req)
	if err != nil {
		return fmt.Errorf("roster: fetch: %w", err)
	}
	var res *Query
	raw, ok := reply.Raw()
	switch {
	case ok:
		if res, err = ParseQuery(raw); err != nil {
			return fmt.Errorf("roster: fetch: %w", err)
		}
	case q.Ver != "":
		// Unchanged since q.Ver: pushes follow (RFC 6121 §2.6.3).
	default:
		// An empty result to a request without a version: no items.
		res = &Query{}
	}
	if err := c.fetched(mark, account, res); err != nil {
		return fmt.Errorf("roster: fetch: %w", err)
	}
	return nil
}

// Set adds it to the roster, or updates the item with its JID (RFC 6121
// §2.3 and §2.4): only its JID, Name and Groups are sent. Subscription,
// Ask and Approved are the server's state and never sent; a roster set
// has exactly one item and no subscription other than remove. The
// server answers, then pushes the new item to every interested resource,
// this one included: a Cache kept by Handle learns the change from that
// push, not from Set.
//
// An item without a JID, or with an empty or repeated group name, is not
// sent: the error wraps ErrInvalidItem. An iq error comes back wrapped,
// so errors.Is(err, stanza.NotAcceptable) works.
func Set(ctx context.Context, s session.Sender, it Item) error {
	return SetIQ(ctx, s, &stanza.IQ{}, it)
}

// SetIQ is Set with the iq envelope given by the caller; its Type and
// Payload are ignored and iq is not modified.
func SetIQ(ctx context.Context, s session.Sender, iq *stanza.IQ, it Item) error {
	if it.JID.IsZero() {
		return fmt.Errorf("%w: no JID", ErrInvalidItem)
	}
	for i, g := range it.Groups {
		if g == "" {
			return fmt.Errorf("%w: %s: empty group name", ErrInvalidItem, it.JID)
		}
		if slices.Contains(it.Groups[:i], g) {
			return fmt.Errorf("%w: %s: group %q twice", ErrInvalidItem, it.JID, g)
		}
	}
	item := Item{JID: it.JID, Name: it.Name, Groups: it.Groups}
	return set(ctx, s, iq, item, "set")
}

// Remove removes the item with JID j from the roster (RFC 6121 §2.5),
// which also cancels the subscriptions both ways. The server answers
// item-not-found for a JID that is not in the roster; other errors are as
// for Set.
func Remove(ctx context.Context, s session.Sender, j jid.JID) error {
	return RemoveIQ(ctx, s, &stanza.IQ{}, j)
}

// RemoveIQ is Remove with the iq envelope given by the caller; its Type
// and Payload are ignored and iq is not modified.
func RemoveIQ(ctx context.Context, s session.Sender, iq *stanza.IQ, j jid.JID) error {
	if j.IsZero() {
		return fmt.Errorf("%w: no JID", ErrInvalidItem)
	}
	return set(ctx, s, iq, Item{JID: j, Subscription: SubscriptionRemove}, "remove")
}

// set sends a roster set with the one item it.
func set(ctx context.Context, s session.Sender, iq *stanza.IQ, it Item, what string) error {
	req := *iq
	req.Type = stanza.IQSet
	req.Payload = &Query{Items: []Item{it}}
	req.Error = nil
	if _, err := s.SendIQ(ctx, &req); err != nil {
		return fmt.Errorf("roster: %s %s: %w", what, it.JID, err)
	}
	return nil
}

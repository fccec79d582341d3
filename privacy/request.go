package privacy

import (
	"context"
	"fmt"

	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// Names is what the server says of the account's privacy lists (RFC 3921
// §10.3): the names of all of them, of the active list of this session
// and of the default list, "" for none.
type Names struct {
	Active  string
	Default string
	Lists   []string
}

// ListNames asks the server for the names of the account's privacy lists,
// with the active and the default list (RFC 3921 §10.3). An iq error comes
// back wrapped (errors.Is(err, stanza.ServiceUnavailable) for a server
// without privacy lists); a result that is not a privacy query, or one
// with a list that has items, is an error wrapping ErrMalformed.
func ListNames(ctx context.Context, s session.Sender) (Names, error) {
	q, err := query(ctx, s, stanza.IQGet, &Query{}, "list names")
	if err != nil {
		return Names{}, err
	}
	n := Names{Active: q.Active, Default: q.Default}
	for _, l := range q.Lists {
		if len(l.Items) != 0 {
			return Names{}, fmt.Errorf("privacy: list names: %w", malformed("list %q with items in a names result", l.Name))
		}
		n.Lists = append(n.Lists, l.Name)
	}
	return n, nil
}

// GetList asks the server for the privacy list named name (RFC 3921
// §10.4). The server answers item-not-found for a list that does not
// exist: errors.Is(err, stanza.ItemNotFound). A result without exactly
// that one list is an error wrapping ErrMalformed; orders are not
// checked, so that a list another client stored can still be read.
func GetList(ctx context.Context, s session.Sender, name string) (List, error) {
	if name == "" {
		return List{}, invalid("get a list without a name")
	}
	q, err := query(ctx, s, stanza.IQGet, &Query{Lists: []List{{Name: name}}}, "get list "+name)
	if err != nil {
		return List{}, err
	}
	if len(q.Lists) != 1 || q.Lists[0].Name != name {
		return List{}, fmt.Errorf("privacy: get list %s: %w", name, malformed("result without list %q", name))
	}
	return q.Lists[0], nil
}

// SetList creates the privacy list l, or replaces the list of that name
// with l whole (RFC 3921 §10.6: a list is always sent whole). A list that
// fails List.Validate, or one without items (which would remove the list;
// see RemoveList), is not sent: the error wraps ErrInvalid. The server
// then pushes the list's name to the account's resources (HandleListPush).
// An iq error comes back wrapped, so errors.Is(err, stanza.BadRequest)
// works.
func SetList(ctx context.Context, s session.Sender, l List) error {
	if err := l.Validate(); err != nil {
		return err
	}
	if len(l.Items) == 0 {
		return invalid("list %q without items (RemoveList removes a list)", l.Name)
	}
	_, err := query(ctx, s, stanza.IQSet, &Query{Lists: []List{l}}, "set list "+l.Name)
	return err
}

// RemoveList removes the privacy list named name (RFC 3921 §10.7). The
// server answers conflict for a list that another resource uses as its
// active list, or that is the default list while one does, and
// item-not-found for a list that does not exist.
func RemoveList(ctx context.Context, s session.Sender, name string) error {
	if name == "" {
		return invalid("remove a list without a name")
	}
	_, err := query(ctx, s, stanza.IQSet, &Query{Lists: []List{{Name: name}}}, "remove list "+name)
	return err
}

// SetActive makes the list named name the active list of this session
// (RFC 3921 §10.8): it applies instead of the default list until the
// stream ends or it is declined. The server answers item-not-found for a
// list that does not exist. Manager.SetActive also sets it again on each
// new stream.
func SetActive(ctx context.Context, s session.Sender, name string) error {
	if name == "" {
		return invalid("set an active list without a name (DeclineActive declines it)")
	}
	_, err := query(ctx, s, stanza.IQSet, &Query{Active: name, HasActive: true}, "set active list "+name)
	return err
}

// DeclineActive declines the use of any active list for this session
// (RFC 3921 §10.8): the default list applies again, if there is one.
func DeclineActive(ctx context.Context, s session.Sender) error {
	_, err := query(ctx, s, stanza.IQSet, &Query{HasActive: true}, "decline active list")
	return err
}

// SetDefault makes the list named name the account's default list (RFC
// 3921 §10.9), which applies to every session without an active list, and
// to the account while it has none. The server answers conflict when the
// current default list is in use by another resource, and item-not-found
// for a list that does not exist.
func SetDefault(ctx context.Context, s session.Sender, name string) error {
	if name == "" {
		return invalid("set a default list without a name (DeclineDefault declines it)")
	}
	_, err := query(ctx, s, stanza.IQSet, &Query{Default: name, HasDefault: true}, "set default list "+name)
	return err
}

// DeclineDefault declines the use of any default list (RFC 3921 §10.9).
// The server answers conflict when the default list is in use by another
// resource.
func DeclineDefault(ctx context.Context, s session.Sender) error {
	_, err := query(ctx, s, stanza.IQSet, &Query{HasDefault: true}, "decline default list")
	return err
}

// query sends q in an iq of type typ and returns the privacy query of the
// result: an empty Query for a result without payload (the answer to a
// set).
func query(ctx context.Context, s session.Sender, typ stanza.IQType, q *Query, what string) (*Query, error) {
	reply, err := s.SendIQ(ctx, &stanza.IQ{Type: typ, Payload: q})
	if err != nil {
		return nil, fmt.Errorf("privacy: %s: %w", what, err)
	}
	raw, ok := reply.Raw()
	if !ok {
		if typ == stanza.IQGet {
			return nil, fmt.Errorf("privacy: %s: %w", what, malformed("empty result"))
		}
		return &Query{}, nil
	}
	if typ == stanza.IQSet {
		return &Query{}, nil // a set's result carries nothing of interest
	}
	res, err := ParseQuery(raw)
	if err != nil {
		return nil, fmt.Errorf("privacy: %s: %w", what, err)
	}
	return res, nil
}

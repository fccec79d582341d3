package register

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/parleyim/parley/form"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// Requester sends an iq get or set and returns its reply, with the
// *stanza.Error of an error reply as the error: a *session.Prelogin
// before login, a session.Sender (such as *session.Session) after.
type Requester interface {
	SendIQ(ctx context.Context, iq *stanza.IQ) (*stanza.IQ, error)
}

var (
	_ Requester = (*session.Prelogin)(nil)
	_ Requester = session.Sender(nil)
)

// Errors of the requests, before anything is sent.
var (
	// ErrUnencrypted means the stream is not encrypted (or the Requester
	// cannot say that it is: it has no TLS method), so a password is
	// not sent over it.
	ErrUnencrypted = errors.New("register: refusing to send a password over an unencrypted stream")
	// ErrUnknownField means a value was given for a field the server did
	// not ask for, which it would ignore.
	ErrUnknownField = errors.New("register: the server did not ask for this field")
	// ErrEmptyPassword means ChangePassword was given an empty password,
	// which Prosody 0.12 would set.
	ErrEmptyPassword = errors.New("register: the new password is empty")
)

// FormError is a refusal that comes with a form to fill in (XEP-0077
// §3.3: a server that wants the old password before it changes a
// password answers not-authorized with a data form asking for username,
// old_password and password). Fill it in with Register, which submits
// Query.Form. Unwrap returns the *stanza.Error.
type FormError struct {
	Err   *stanza.Error
	Query *Query
}

func (e *FormError) Error() string {
	return e.Err.Error() + " (the server sent a form to fill in)"
}

// Unwrap returns the server's stanza error.
func (e *FormError) Unwrap() error { return e.Err }

// refusal returns the error of a set request: err, or a *FormError when
// the error reply carries a query with a data form.
func refusal(reply *stanza.IQ, err error) error {
	if reply == nil || reply.Error == nil {
		return err
	}
	raw, ok := reply.Raw()
	if !ok {
		return err
	}
	q, perr := ParseQuery(raw)
	if perr != nil || q.Form == nil {
		return err
	}
	return &FormError{Err: reply.Error, Query: q}
}

// encrypted reports whether r's stream is known to be encrypted: r has
// the TLS method of *session.Session and *session.Prelogin, and it
// returns a state.
func encrypted(r Requester) bool {
	t, ok := r.(interface{ TLS() *tls.ConnectionState })
	return ok && t.TLS() != nil
}

// Fetch asks the server what it needs to register an account (XEP-0077
// §3.1): the legacy fields or a data form, and instructions. On a
// logged-in session the reply says whether the account is Registered
// and its username. A server without in-band registration answers with
// an error such as service-unavailable or not-allowed, returned wrapped.
func Fetch(ctx context.Context, r Requester) (*Query, error) {
	reply, err := r.SendIQ(ctx, &stanza.IQ{Type: stanza.IQGet, Payload: &Query{}})
	if err != nil {
		return nil, fmt.Errorf("register: asking for the registration fields: %w", err)
	}
	raw, ok := reply.Raw()
	if !ok {
		return nil, fmt.Errorf("%w: the reply carries no query", ErrMalformed)
	}
	q, err := ParseQuery(raw)
	if err != nil {
		return nil, err
	}
	return q, nil
}

// Register registers an account with the answers in values, by field
// name ("username", "password", "email" …), to q, what Fetch returned
// on the same stream (nil: Register fetches it first).
//
// When q has a data form, the answers fill in the form's fields of the
// same var (the form's own checks apply: see form.Form.Set) and the
// submitted form carries its defaults for the rest. Otherwise the
// answers go out as legacy fields, together with the values the server
// filled in itself (such as a key, XEP-0077 §3.1) that values does not
// replace. A value for a field the server did not ask for is
// ErrUnknownField. Missing required fields are the server's to refuse
// (Prosody: not-acceptable; ejabberd: bad-request), so that its text
// reaches the caller.
//
// Register refuses an unencrypted stream (ErrUnencrypted). The server's
// refusal comes back wrapped: errors.Is(err, stanza.Conflict) when the
// username is taken. Register also submits the form of a *FormError, on
// the stream the refusal came on.
func Register(ctx context.Context, r Requester, q *Query, values map[string]string) error {
	if !encrypted(r) {
		return ErrUnencrypted
	}
	if q == nil {
		var err error
		if q, err = Fetch(ctx, r); err != nil {
			return err
		}
	}
	sub, err := submission(q, values)
	if err != nil {
		return err
	}
	if reply, err := r.SendIQ(ctx, &stanza.IQ{Type: stanza.IQSet, Payload: sub}); err != nil {
		err = refusal(reply, err)
		who := values["username"]
		if who == "" {
			return fmt.Errorf("register: registration refused: %w", err)
		}
		return fmt.Errorf("register: registration of %q refused: %w", who, err)
	}
	return nil
}

// submission is the query that answers q with values.
func submission(q *Query, values map[string]string) (*Query, error) {
	if q.Form != nil {
		f := q.Form.Submit()
		for name, v := range values {
			if err := f.Set(name, v); err != nil {
				if errors.Is(err, form.ErrNoField) {
					return nil, fmt.Errorf("%w: %q", ErrUnknownField, name)
				}
				return nil, fmt.Errorf("register: %w", err)
			}
		}
		return &Query{Form: &f}, nil
	}
	for name := range values {
		if !q.Asks(name) {
			return nil, fmt.Errorf("%w: %q", ErrUnknownField, name)
		}
	}
	sub := &Query{}
	for _, f := range q.Fields {
		v, ok := values[f.Name]
		if !ok {
			v = f.Value
		}
		if v != "" {
			sub.Fields = append(sub.Fields, Field{Name: f.Name, Value: v})
		}
	}
	return sub, nil
}

// Create registers the account username with password: Fetch, then
// Register with those two fields. It is for servers that ask for no
// more (Prosody and ejabberd by default); a server that requires more
// answers not-acceptable.
func Create(ctx context.Context, r Requester, username, password string) error {
	return Register(ctx, r, nil, map[string]string{"username": username, "password": password})
}

// ChangePassword changes the password of the account s is logged in as
// (XEP-0077 §3.3): a set with the username and the new password. The
// session stays logged in (Prosody ends the account's other streams
// with a reset stream error; ejabberd keeps them); the next login needs
// the new password. It refuses an empty password (ErrEmptyPassword) and
// an unencrypted stream (ErrUnencrypted); the server's refusal
// (bad-request, forbidden, not-authorized, not-allowed …) comes back
// wrapped, as a *FormError when the server asks for more with a form
// (the old password): fill that in with Register on the same session.
func ChangePassword(ctx context.Context, s session.Sender, password string) error {
	if !encrypted(s) {
		return ErrUnencrypted
	}
	if password == "" {
		return ErrEmptyPassword
	}
	q := &Query{Fields: []Field{{Name: "username", Value: s.Addr().Localpart()}, {Name: "password", Value: password}}}
	if reply, err := s.SendIQ(ctx, &stanza.IQ{Type: stanza.IQSet, Payload: q}); err != nil {
		return fmt.Errorf("register: changing the password of %s refused: %w", s.Addr().Bare(), refusal(reply, err))
	}
	return nil
}

// Cancel removes the account s is logged in as (XEP-0077 §3.2). The
// server answers and then ends the account's streams, this one
// included: after Cancel returns, the session ends by itself (its Err
// tells how the server closed it); Close it as usual. A refusal comes
// back wrapped.
func Cancel(ctx context.Context, s session.Sender) error {
	if _, err := s.SendIQ(ctx, &stanza.IQ{Type: stanza.IQSet, Payload: &Query{Remove: true}}); err != nil {
		return fmt.Errorf("register: removing %s refused: %w", s.Addr().Bare(), err)
	}
	return nil
}

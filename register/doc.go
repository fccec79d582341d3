// Package register implements XEP-0077: In-Band Registration: creating
// an account on a server, changing the password of the logged-in
// account, and cancelling (removing) it.
//
// A new account is registered on a stream that stops before
// authentication, a *session.Prelogin:
//
//	p, err := session.DialPrelogin(ctx, jid.MustParse("example.com"), cfg)
//	...
//	defer p.Close(ctx)
//	q, err := register.Fetch(ctx, p)  // what the server asks: q.Fields, q.Form, q.Instructions
//	err = register.Register(ctx, p, q, map[string]string{"username": "alice", "password": pw})
//
// (Create does both steps for a username and a password.) Then log in
// with session.Dial as usual. ChangePassword and Cancel run on the
// logged-in session.
//
// A server asks either for legacy fields (username, password, email …,
// XEP-0077 §14.1) or with a data form (package form) whose FORM_TYPE is
// jabber:iq:register; Register fills in whichever it got, by field name.
// The server's refusals come back as the *stanza.Error it sent, wrapped,
// with its text: errors.Is(err, stanza.Conflict) for a taken username,
// stanza.NotAcceptable for a missing or unacceptable field, and
// stanza.NotAllowed, stanza.Forbidden, stanza.ResourceConstraint or
// stanza.PolicyViolation for the server's policies. A refusal that
// carries a form asking for more (XEP-0077 §3.3: the old password) is a
// *FormError; Register submits its form.
//
// Register and ChangePassword never send over a stream that is not
// encrypted: they fail with ErrUnencrypted instead, also when
// session.Config.NoTLS allowed the stream, as PLAIN is never sent in
// the clear either.
package register

import "github.com/parleyim/parley/internal/ns"

// Namespaces of XEP-0077.
const (
	// NS qualifies the <query/> of registration requests.
	NS = ns.Register
	// NSFeature qualifies the stream feature of a server that offers
	// in-band registration before authentication.
	NSFeature = ns.RegisterFeature
)

package session

import (
	"context"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

// Sender is what the feature packages (disco, ping, roster, presence …)
// take to talk to the server, instead of a *Session: every function of
// theirs that sends a request takes a Sender.
//
// *Session satisfies it, and so does the reconnecting Client, which sends over
// whichever stream is current: an application that holds the long-lived
// client and passes it to the feature packages never sends over a stale
// session. Handlers registered on a Mux still receive the *Session the
// stanza came on, since that stream is where the reply belongs.
//
// Implementations are safe for concurrent use.
type Sender interface {
	// Send writes a stanza to the stream (see Session.Send).
	Send(ctx context.Context, st stanza.Stanza) error
	// SendIQ sends an iq get or set and waits for its reply (see
	// Session.SendIQ). Implementations hand ctx on to the session, so
	// that WithReplyLimit reaches it.
	SendIQ(ctx context.Context, iq *stanza.IQ) (*stanza.IQ, error)
	// Addr returns the full JID the server bound.
	Addr() jid.JID
	// Features returns what the server offered for the established
	// stream; the value must not be modified.
	Features() *Features
}

var _ Sender = (*Session)(nil)

package session_test

import (
	"context"
	"log"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// Handlers for chat messages and for subscription requests.
func ExampleMessageTypes() {
	mux := session.NewMux()
	mux.HandleMessageFunc(session.MessageTypes(stanza.MessageChat),
		func(ctx context.Context, s *session.Session, m *stanza.Message) {
			log.Printf("%s says %q", m.From, m.Body)
		})
	mux.HandlePresenceFunc(session.PresenceTypes(stanza.PresenceSubscribe),
		func(ctx context.Context, s *session.Session, p *stanza.Presence) {
			log.Printf("%s asks to see our presence", p.From)
		})
}

// A server whose certificate is self-signed, or signed by a private CA:
// trust the certificates in its PEM file. The certificate must still be
// valid for the JID's domain.
func ExampleTrustCAFile() {
	tc, err := session.TrustCAFile("/etc/xmpp/ca.pem")
	if err != nil {
		log.Fatal(err)
	}
	addr, err := jid.Parse("bot@example.org")
	if err != nil {
		log.Fatal(err)
	}
	s, err := session.Dial(context.Background(), addr, "secret", &session.Config{TLSConfig: tc})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close(context.Background())
}

package session_test

import (
	"context"
	"encoding/xml"
	"log"
	"sync"

	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// The shape of a feature package: a start hook that fetches state before
// the next hook sends initial presence, a push handler that trusts only
// the account itself, and an end hook that forgets what the stream said.
func ExampleMux_HandleStart() {
	query := xml.Name{Space: "jabber:iq:roster", Local: "query"}
	var (
		mu      sync.Mutex
		fetched *stanza.Raw // what a real package would parse into items
	)
	mux := session.NewMux()

	// 1. Fetch the roster when a stream becomes ready (on a resumed
	// stream the server kept the state, and so does the package).
	mux.HandleStart(func(ctx context.Context, s *session.Session, resumed bool) {
		if resumed {
			return
		}
		req, _ := stanza.ParseRaw([]byte("<query xmlns='jabber:iq:roster'/>"))
		reply, err := s.SendIQ(ctx, &stanza.IQ{Type: stanza.IQGet, Payload: req})
		if err != nil {
			log.Printf("roster: %v", err)
			return
		}
		mu.Lock()
		fetched, _ = reply.Raw()
		mu.Unlock()
	})
	// 2. Then initial presence: registered later, so it runs after the
	// fetch (RFC 6121 §2.2).
	mux.HandleStart(func(ctx context.Context, s *session.Session, resumed bool) {
		if !resumed {
			_ = s.Send(ctx, &stanza.Presence{})
		}
	})
	// Pushes: only from the account itself.
	mux.HandleIQFunc(stanza.IQSet, query, func(ctx context.Context, s *session.Session, iq *stanza.IQ) (stanza.Payload, error) {
		if !session.TrustedPush(s.Addr(), iq.From) {
			return nil, stanza.ServiceUnavailable
		}
		// apply the push …
		return nil, nil
	})
	// When the stream has ended, what it said is no longer current.
	mux.HandleEnd(func(s *session.Session, err error) {
		mu.Lock()
		defer mu.Unlock()
		if fetched != nil {
			log.Printf("roster of %s no longer current: %v", s.Addr(), err)
			fetched = nil
		}
	})
	_ = &session.Config{Mux: mux} // Dial returns after both start hooks
}

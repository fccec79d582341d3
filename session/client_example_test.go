package session_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
	"github.com/parleyim/parley/xmpptest"
)

// A Client stays connected: when the server ends the stream it dials
// again, and the Mux's start hooks run on the new stream. Here the
// server is xmpptest's, in memory.
func ExampleClient() {
	srv, err := xmpptest.Start(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	addr, err := srv.AddUser("bot", "secret")
	if err != nil {
		log.Fatal(err)
	}

	mux := session.NewMux()
	mux.HandleStart(func(ctx context.Context, s *session.Session, resumed bool) {
		// Each new stream: announce availability again.
		if err := s.Send(ctx, &stanza.Presence{}); err != nil {
			log.Print(err)
		}
	})
	connected := make(chan *session.Session)
	c := session.NewClient(addr, "secret", &session.ClientConfig{
		Session: &session.Config{Mux: mux, Addr: "pipe", DialContext: srv.DialContext, TLSConfig: srv.TLSConfig()},
		// Waits kept short for the example; the defaults follow RFC 6120 §3.3.
		FirstDelay: 10 * time.Millisecond, // a random wait up to this after a stream ended
		RetryDelay: 10 * time.Millisecond, // then this, doubling, after a failure or a short session
		Events: func(e session.Event) {
			if e.Kind == session.Reconnecting {
				return // its delay is random
			}
			var se *stanza.StreamError
			if errors.As(e.Err, &se) {
				fmt.Println(e.Kind, "by", string(se.Condition))
			} else {
				fmt.Println(e.Kind)
			}
			if e.Kind == session.Connected {
				connected <- e.Session
			}
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()

	s := <-connected
	// The server shuts the stream down; the Client comes back.
	if err := srv.StreamError(s.Addr(), &stanza.StreamError{Condition: stanza.StreamSystemShutdown}); err != nil {
		log.Fatal(err)
	}
	<-connected
	cancel()
	fmt.Println("Run:", <-done)
	// Output:
	// connected
	// disconnected by system-shutdown
	// connected
	// Run: context canceled
}

package ping_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/ping"
	"github.com/parleyim/parley/session"
)

// Answer pings, and measure the round trip to the server.
func Example() {
	mux := session.NewMux()
	ping.Handle(mux)

	ctx := context.Background()
	s, err := session.Dial(ctx, jid.MustParse("juliet@example.com"), "password", &session.Config{Mux: mux})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close(ctx)

	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rtt, err := ping.Send(ctx, s, jid.MustParse("example.com"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("round trip:", rtt)
}

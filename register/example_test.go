package register_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/register"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
	"github.com/parleyim/parley/xmpptest"
)

// An account's whole life: registered on a stream that stops before
// login, logged in, its password changed, then removed. The server here
// is xmpptest with in-band registration on, reached in memory.
func Example() {
	ctx := context.Background()
	srv, err := xmpptest.Start(&xmpptest.Config{Registration: true})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	// The same Config serves registration and login: TLS is required
	// and checked against the domain in both.
	cfg := &session.Config{Addr: "pipe", DialContext: srv.DialContext, TLSConfig: srv.TLSConfig()}

	p, err := session.DialPrelogin(ctx, srv.Domain(), cfg)
	if err != nil {
		log.Fatal(err)
	}
	q, err := register.Fetch(ctx, p)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("instructions:", q.Instructions)
	for _, f := range q.Fields {
		fmt.Println("asks for:", f.Name)
	}
	if err := register.Register(ctx, p, q, map[string]string{"username": "juliet", "password": "balcony"}); err != nil {
		log.Fatal(err)
	}
	// A taken username is the server's conflict, with its text.
	err = register.Create(ctx, p, "juliet", "again")
	var se *stanza.Error
	if errors.As(err, &se) && errors.Is(err, stanza.Conflict) {
		fmt.Println("again:", string(se.Condition), "-", se.Text)
	}
	_ = p.Close(ctx)

	juliet, err := jid.New("juliet", srv.Domain().Domainpart(), "")
	if err != nil {
		log.Fatal(err)
	}
	s, err := session.Dial(ctx, juliet, "balcony", cfg)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("logged in as", s.Addr().Bare())
	if err := register.ChangePassword(ctx, s, "orchard"); err != nil {
		log.Fatal(err)
	}
	if err := register.Cancel(ctx, s); err != nil {
		log.Fatal(err)
	}
	<-s.Done() // the server ends the account's streams
	fmt.Println("stream ended:", s.Err() != nil)
	_ = s.Close(ctx)

	_, err = session.Dial(ctx, juliet, "orchard", cfg)
	fmt.Println("login after removal fails:", err != nil)
	// Output:
	// instructions: Choose a username and password for use with this service.
	// asks for: username
	// asks for: password
	// again: conflict - The requested username already exists.
	// logged in as juliet@example.test
	// stream ended: true
	// login after removal fails: true
}

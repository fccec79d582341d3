package xmpptest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
	"github.com/parleyim/parley/xmpptest"
)

// A server in memory, two Parley clients and a message between them.
func Example() {
	srv, err := xmpptest.Start(nil)
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	aliceAddr, _ := srv.AddUser("alice", "alice-pw")
	bobAddr, _ := srv.AddUser("bob", "bob-pw")
	ctx := context.Background()

	got := make(chan *stanza.Message, 1)
	mux := session.NewMux()
	mux.HandleMessageFunc(session.MessageRoute{}, func(_ context.Context, _ *session.Session, m *stanza.Message) { got <- m })
	bob, err := srv.Connect(ctx, bobAddr, "bob-pw", &session.Config{Mux: mux, Resource: "laptop"})
	if err != nil {
		panic(err)
	}
	defer bob.Close(ctx)
	alice, err := srv.Connect(ctx, aliceAddr, "alice-pw", nil)
	if err != nil {
		panic(err)
	}
	defer alice.Close(ctx)

	_ = alice.Send(ctx, &stanza.Message{Header: stanza.Header{To: bob.Addr()}, Type: stanza.MessageChat, Body: "hi"})
	m := <-got
	fmt.Println(m.From.Bare(), "says", m.Body)
	// Output: alice@example.test says hi
}

// In a test, NewServer closes the server when the test ends.
func ExampleNewServer() {
	var t *testing.T // the test's own
	srv := xmpptest.NewServer(t, &xmpptest.Config{Domain: "chat.example", RequireSession: true})
	addr, err := srv.AddUser("alice", "secret")
	if err != nil {
		t.Fatal(err)
	}
	alice, err := srv.Connect(t.Context(), addr, "secret", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close(t.Context())
	// … the test drives alice …
}

// Watch sees every stanza the server routes, with the 'from' it stamped.
func ExampleServer_Watch() {
	srv, _ := xmpptest.Start(nil)
	defer srv.Close()
	addr, _ := srv.AddUser("alice", "pw")
	srv.Watch(func(r xmpptest.Routed) {
		if iq, ok := r.Stanza.(*stanza.IQ); ok {
			fmt.Println(iq.Type, "iq from", iq.From.Bare(), "to", iq.To)
		}
	})
	ctx := context.Background()
	alice, _ := srv.Connect(ctx, addr, "pw", nil)
	defer alice.Close(ctx)
	ping, _ := stanza.ParseRaw([]byte("<ping xmlns='urn:xmpp:ping'/>"))
	_, _ = alice.SendIQ(ctx, &stanza.IQ{Header: stanza.Header{To: srv.Domain()}, Type: stanza.IQGet, Payload: ping})
	// Output: get iq from alice@example.test to example.test
}

// Other clients (slixmpp, go-sendxmpp) connect over TCP and trust the
// server's certificate from CertPEM.
func ExampleListen() {
	srv, _ := xmpptest.Start(&xmpptest.Config{Listen: true})
	defer srv.Close()
	_, _ = srv.AddUser("alice", "pw")
	cfg := &session.Config{Addr: srv.Addr(), TLSConfig: srv.TLSConfig()}
	s, err := session.Dial(context.Background(), jid.MustParse("alice@example.test"), "pw", cfg)
	if err != nil {
		panic(err)
	}
	defer s.Close(context.Background())
	fmt.Println(s.Addr().Bare(), len(srv.CertPEM()) > 0)
	// Output: alice@example.test true
}

// A test starts from a given roster: alice has bob as a contact with
// subscription both. A bot that keeps its roster with the roster package
// sees it on login, and each change the test makes is pushed to it.
func ExampleServer_SetRosterItem() {
	srv, err := xmpptest.Start(nil)
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	aliceAddr, _ := srv.AddUser("alice", "alice-pw")
	bob := jid.MustParse("bob@example.test")
	_ = srv.SetRosterItem(aliceAddr, roster.Item{JID: bob, Name: "Bob", Subscription: roster.SubscriptionBoth, Groups: []string{"Friends"}})

	mux := session.NewMux()
	r := roster.Handle(mux) // fetches the roster on login
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	alice, err := srv.Connect(ctx, aliceAddr, "alice-pw", &session.Config{Mux: mux})
	if err != nil {
		panic(err)
	}
	defer alice.Close(ctx)
	for _, it := range r.Cache().Items() {
		fmt.Println(it.JID, it.Name, it.Subscription, it.Groups)
	}

	w := r.Cache().Watch() // reports what the cache holds, then each change
	defer w.Stop()
	_, _ = w.Next(ctx)
	_ = srv.RemoveRosterItem(aliceAddr, bob)
	changes, _ := w.Next(ctx)
	fmt.Println(changes[0].Op, changes[0].Item.JID)
	// Output:
	// bob@example.test Bob both [Friends]
	// removed bob@example.test
}

// Subscriptions seeded with SetRosterItem behave as if made through the
// protocol: bob's presence reaches alice when she comes online, since
// the server answers her probes.
func ExampleServer_SetRosterItem_presence() {
	srv, err := xmpptest.Start(nil)
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	aliceAddr, _ := srv.AddUser("alice", "alice-pw")
	bobAddr, _ := srv.AddUser("bob", "bob-pw")
	_ = srv.SetRosterItem(aliceAddr, roster.Item{JID: bobAddr, Subscription: roster.SubscriptionBoth})
	_ = srv.SetRosterItem(bobAddr, roster.Item{JID: aliceAddr, Subscription: roster.SubscriptionBoth})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	bob, err := srv.Connect(ctx, jid.MustParse("bob@example.test/phone"), "bob-pw", nil)
	if err != nil {
		panic(err)
	}
	defer bob.Close(ctx)
	_ = bob.Send(ctx, &stanza.Presence{Show: stanza.ShowAway, Status: "lunch"})

	fromBob := make(chan *stanza.Presence, 1)
	mux := session.NewMux()
	mux.HandlePresenceFunc(session.PresenceRoute{}, func(_ context.Context, _ *session.Session, p *stanza.Presence) {
		if p.From.Bare() == bobAddr {
			fromBob <- p
		}
	})
	alice, err := srv.Connect(ctx, aliceAddr, "alice-pw", &session.Config{Mux: mux})
	if err != nil {
		panic(err)
	}
	defer alice.Close(ctx)
	_ = alice.Send(ctx, &stanza.Presence{}) // initial presence
	p := <-fromBob
	fmt.Println(p.From, p.Show, p.Status)
	// Output:
	// bob@example.test/phone away lunch
}

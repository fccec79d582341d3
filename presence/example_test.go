package presence_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/presence"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
	"github.com/parleyim/parley/xmpptest"
)

// Bob's client follows who of his contacts is online: the Tracker, and a
// broadcast callback for each change. Alice, who is in his roster, sends
// him directed presence, changes it, and closes her client: her Manager
// remembers the directed presence and ends it with unavailable presence
// before the stream closes (RFC 6121 §4.6). The server is xmpptest.
func Example() {
	ctx := context.Background()
	srv, err := xmpptest.Start(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	aliceAddr, _ := srv.AddUser("alice", "secret")
	bobAddr, _ := srv.AddUser("bob", "secret")
	_ = srv.SetRosterItem(bobAddr, roster.Item{JID: aliceAddr, Name: "Alice"})

	// Bob: the roster first, so that it is fetched before initial
	// presence goes out and the Tracker knows his contacts.
	mux := session.NewMux()
	p := presence.Handle(mux, roster.Handle(mux), nil)
	events := make(chan presence.Event, 8)
	p.HandleBroadcast(func(_ context.Context, _ *session.Session, e presence.Event) {
		if e.Resource.JID.Bare() == aliceAddr {
			events <- e
		}
	})
	bob, err := srv.Connect(ctx, bobAddr, "secret", &session.Config{Mux: mux, Resource: "desk"})
	if err != nil {
		log.Fatal(err)
	}
	defer bob.Close(ctx)
	show := func(e presence.Event) {
		r := e.Resource
		fmt.Printf("%s %s show=%q status=%q priority=%d\n", e.Op, r.JID, r.Show, r.Status, r.Priority)
	}

	// Alice.
	amux := session.NewMux()
	ap := presence.Handle(amux, roster.Handle(amux), nil)
	alice, err := srv.Connect(ctx, aliceAddr, "secret", &session.Config{Mux: amux, Resource: "phone"})
	if err != nil {
		log.Fatal(err)
	}
	if err := ap.SendDirected(ctx, alice, bobAddr, presence.Available{Show: stanza.ShowChat, Status: "free to talk"}); err != nil {
		log.Fatal(err)
	}
	show(next(events))
	if err := ap.SendDirected(ctx, alice, bobAddr, presence.Available{Show: stanza.ShowAway, Status: "lunch", Priority: 5}); err != nil {
		log.Fatal(err)
	}
	show(next(events))
	best, _ := p.Tracker().Best(aliceAddr)
	fmt.Println("best:", best.JID)
	fmt.Println("alice sent directed presence to", ap.Directed())

	_ = alice.Close(ctx) // unavailable to bob, then the stream's end
	show(next(events))
	fmt.Println("alice's resources online:", len(p.Tracker().Resources(aliceAddr)))
	// Output:
	// online alice@example.test/phone show="chat" status="free to talk" priority=0
	// changed alice@example.test/phone show="away" status="lunch" priority=5
	// best: alice@example.test/phone
	// alice sent directed presence to [bob@example.test]
	// offline alice@example.test/phone show="away" status="lunch" priority=5
	// alice's resources online: 0
}

// A subscription from request to presence: alice asks bob, bob's client
// approves from its request callback, alice's learns of the approval and
// sees bob online, in its roster and in its Tracker.
func Example_subscription() {
	ctx := context.Background()
	srv, err := xmpptest.Start(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	aliceAddr, _ := srv.AddUser("alice", "secret")
	bobAddr, _ := srv.AddUser("bob", "secret")

	// Bob approves whoever asks; a real client would ask its user, and
	// may leave the request pending (presence.Undecided) to answer it
	// later with Manager.Approve or Manager.Deny.
	bmux := session.NewMux()
	bp := presence.Handle(bmux, roster.Handle(bmux), nil)
	bp.HandleRequest(func(_ context.Context, _ *session.Session, req presence.Request) presence.Decision {
		fmt.Println("bob: request from", req.From)
		return presence.Approve
	})
	bob, err := srv.Connect(ctx, bobAddr, "secret", &session.Config{Mux: bmux, Resource: "desk"})
	if err != nil {
		log.Fatal(err)
	}
	defer bob.Close(ctx)

	amux := session.NewMux()
	ar := roster.Handle(amux)
	ap := presence.Handle(amux, ar, nil)
	approved := make(chan jid.JID, 1)
	ap.HandleChange(func(_ context.Context, _ *session.Session, c presence.Change) {
		if c.Type == stanza.PresenceSubscribed {
			sendOnce(approved, c.From)
		}
	})
	pushed := make(chan roster.Item, 1)
	ar.HandlePush(func(_ context.Context, _ *session.Session, it roster.Item) {
		if it.JID == bobAddr && it.Subscription == roster.SubscriptionTo {
			sendOnce(pushed, it)
		}
	})
	online := make(chan jid.JID, 1)
	ap.HandleBroadcast(func(_ context.Context, _ *session.Session, e presence.Event) {
		if e.Op == presence.Online && e.Resource.JID.Bare() == bobAddr {
			sendOnce(online, e.Resource.JID)
		}
	})
	alice, err := srv.Connect(ctx, aliceAddr, "secret", &session.Config{Mux: amux, Resource: "phone"})
	if err != nil {
		log.Fatal(err)
	}
	defer alice.Close(ctx)

	if err := ap.Subscribe(ctx, alice, bobAddr); err != nil {
		log.Fatal(err)
	}
	fmt.Println("alice: approved by", next(approved))
	it := next(pushed)
	fmt.Println("alice: pushed", it.JID, it.Subscription)
	fmt.Println("alice: online", next(online))
	// Output:
	// bob: request from alice@example.test
	// alice: approved by bob@example.test
	// alice: pushed bob@example.test to
	// alice: online bob@example.test/desk
}

// sendOnce hands v over if ch has room: a callback must not block the
// session's dispatcher on a value nobody reads.
func sendOnce[T any](ch chan<- T, v T) {
	select {
	case ch <- v:
	default:
	}
}

// next receives from ch, giving up after ten seconds: an example waits for
// the server, and a server that never answers should fail it, not hang it.
func next[T any](ch <-chan T) T {
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		log.Fatal("example: nothing arrived in ten seconds")
		panic("unreachable")
	}
}

package roster_test

import (
	"bytes"
	"context"
	"fmt"
	"log"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/xmpptest"
)

// A client keeps its roster: fetched at login, edited with Set, kept up
// to date by the server's pushes, saved for the next start. The server
// here is xmpptest, where alice already has bob as a contact.
func Example() {
	ctx := context.Background()
	srv, err := xmpptest.Start(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	alice, _ := srv.AddUser("alice", "secret")
	bob, _ := srv.AddUser("bob", "secret")
	_ = srv.SetRosterItem(alice, roster.Item{JID: bob, Name: "Bob", Subscription: roster.SubscriptionBoth, Groups: []string{"Friends"}})

	mux := session.NewMux()
	r := roster.Handle(mux) // before anything that sends presence
	pushed := make(chan roster.Item, 1)
	r.HandlePush(func(_ context.Context, _ *session.Session, it roster.Item) { pushed <- it })

	s, err := srv.Connect(ctx, alice, "secret", &session.Config{Mux: mux})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close(ctx)
	for _, it := range r.Cache().Items() {
		fmt.Println(it.JID, it.Name, it.Subscription, it.Groups)
	}

	// Add carol with a name and two groups: the server pushes the item.
	carol := jid.MustParse("carol@example.test")
	if err := roster.Set(ctx, s, roster.Item{JID: carol, Name: "Carol", Groups: []string{"Friends", "Work"}}); err != nil {
		log.Fatal(err)
	}
	it := <-pushed
	fmt.Println("pushed:", it.JID, it.Name, it.Subscription, it.Groups)
	fmt.Println("groups:", r.Cache().Groups())
	for _, it := range r.Cache().Group("Friends") {
		fmt.Println("friend:", it.Name)
	}

	// Keep the roster for the next start: with its version, the next
	// login asks only for what changed.
	var saved bytes.Buffer
	if err := r.Cache().Save(&saved); err != nil {
		log.Fatal(err)
	}
	// Output:
	// bob@example.test Bob both [Friends]
	// pushed: carol@example.test Carol none [Friends Work]
	// groups: [Friends Work]
	// friend: Bob
	// friend: Carol
}

// A user interface follows the roster through a Watcher: it never holds
// up the session, and its first changes are the items already there.
func ExampleCache_Watch() {
	cache := roster.NewCache() // or the Cache of a Roster
	w := cache.Watch()
	defer w.Stop()
	go func() {
		for {
			changes, err := w.Next(context.Background())
			if err != nil {
				return // stopped
			}
			for _, ch := range changes {
				fmt.Println(ch.Op, ch.Item.JID)
			}
		}
	}()
}

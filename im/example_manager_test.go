package im_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/parleyim/parley/im"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/presence"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/xmpptest"
)

// Alice and bob, who see each other's presence, talk through
// conversations on an in-memory server: alice asks for receipts, bob
// answers them, and his conversation locks onto the resource alice wrote
// from.
func ExampleConversation() {
	ctx := context.Background()
	srv, err := xmpptest.Start(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	aliceAddr, _ := srv.AddUser("alice", "secret")
	bobAddr, _ := srv.AddUser("bob", "secret")
	_ = srv.SetRosterItem(aliceAddr, roster.Item{JID: bobAddr, Subscription: roster.SubscriptionBoth})
	_ = srv.SetRosterItem(bobAddr, roster.Item{JID: aliceAddr, Subscription: roster.SubscriptionBoth})

	// login connects addr with a roster, presence and an im Manager whose
	// messages go to msgs.
	login := func(addr jid.JID, resource string, opts *im.Options, msgs chan<- *im.Message) (*im.Manager, *session.Session) {
		mux := session.NewMux()
		r := roster.Handle(mux)
		presence.Handle(mux, r, nil) // initial presence: bob is online
		m := im.Handle(mux, r, opts)
		m.HandleMessage(func(_ context.Context, _ *session.Session, msg *im.Message) { msgs <- msg })
		s, err := srv.Connect(ctx, addr, "secret", &session.Config{Mux: mux, Resource: resource})
		if err != nil {
			log.Fatal(err)
		}
		return m, s
	}
	bobMsgs, aliceMsgs := make(chan *im.Message, 8), make(chan *im.Message, 8)
	bm, bob := login(bobAddr, "desk", &im.Options{Receipts: im.ReceiptsToSubscribers}, bobMsgs)
	defer bob.Close(ctx)
	am, alice := login(aliceAddr, "phone", &im.Options{RequestReceipts: true}, aliceMsgs)
	defer alice.Close(ctx)

	conv := am.Conversation(bobAddr)
	fmt.Println("alice writes to", conv.To())
	id, err := conv.Send(ctx, alice, "Are you coming?")
	if err != nil {
		log.Fatal(err)
	}
	msg := next(bobMsgs)
	fmt.Printf("bob got %q (%s, receipt requested: %v)\n", msg.Body, msg.ChatState, msg.ReceiptRequest)
	fmt.Println("bob answers to", bm.Conversation(aliceAddr).To())
	ack := next(aliceMsgs)
	fmt.Println("acknowledged the message alice sent:", string(ack.Receipt) == id)
	// Output:
	// alice writes to bob@example.test
	// bob got "Are you coming?" (active, receipt requested: true)
	// bob answers to alice@example.test/phone
	// acknowledged the message alice sent: true
}

// next returns the next message from msgs, or gives up after 10 seconds.
func next(msgs <-chan *im.Message) *im.Message {
	select {
	case m := <-msgs:
		return m
	case <-time.After(10 * time.Second):
		log.Fatal("no message")
		return nil
	}
}

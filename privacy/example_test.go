package privacy_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/privacy"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// A privacy list is built, checked and edited without a server: a list
// that lets friends through and shows nothing to strangers, then a deny
// item for one contact put before every other, the orders renumbered as
// RFC 3921 §10 asks of the client.
func Example() {
	l := privacy.List{Name: "work", Items: []privacy.Item{
		{Type: privacy.TypeGroup, Value: "Friends", Action: privacy.Allow, Order: 10},
		{Type: privacy.TypeSubscription, Value: privacy.SubscriptionNone, Action: privacy.Deny, Order: 20,
			Kinds: privacy.Message | privacy.PresenceOut},
	}}
	if err := l.Validate(); err != nil {
		log.Fatal(err)
	}
	l = privacy.InsertFirst(l, privacy.Item{Type: privacy.TypeJID, Value: "tybalt@capulet.example", Action: privacy.Deny})
	for _, it := range l.Sorted() {
		fmt.Println(it.Order, it.Action, it.Type, it.Value, it.Kinds.Covers(privacy.IQ))
	}

	// What the server would refuse is refused before sending.
	bad := privacy.List{Name: "bad", Items: []privacy.Item{{Order: 1}, {Action: privacy.Deny, Order: 1}}}
	err := bad.Validate()
	fmt.Println(errors.Is(err, privacy.ErrInvalid), err)
	// Output:
	// 1 deny jid tybalt@capulet.example true
	// 2 allow group Friends true
	// 3 deny subscription none false
	// true privacy: invalid request: list "bad": order 1 twice
}

// A client registers the Manager before anything that sends presence, so
// that the active list it sets is set again on every new stream, and
// learns of the changes that other resources make. Blocking a contact
// uses the blocking command where the server has it, and the default
// privacy list elsewhere.
func ExampleHandle() {
	ctx := context.Background()
	mux := session.NewMux()
	m := privacy.Handle(mux)
	m.HandleListPush(func(_ context.Context, _ *session.Session, name string) {
		log.Printf("privacy list %s changed", name)
	})
	m.HandleBlockingPush(func(_ context.Context, _ *session.Session, b privacy.Blocking) {
		log.Printf("%s %v", b.Command, b.JIDs)
	})
	s, err := session.Dial(ctx, jid.MustParse("juliet@capulet.example"), "password", &session.Config{Mux: mux})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close(ctx)

	if err := m.SetActive(ctx, s, "work"); err != nil {
		log.Print(err)
	}
	tybalt := jid.MustParse("tybalt@capulet.example")
	switch err := privacy.BlockContact(ctx, s, tybalt); {
	case errors.Is(err, stanza.Conflict):
		log.Print("the default list is in use by another resource")
	case err != nil:
		log.Print(err)
	}
}

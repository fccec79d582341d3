package main

import (
	"context"
	"fmt"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/presence"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// handlePresence registers the presence package on who's Mux, after the
// roster: initial presence goes out on each new stream once the roster is
// fetched. Each actor approves the other's subscription request from its
// handler and denies anyone else's; what a contact does shows up in the
// transcript as it arrives.
func (st *story) handlePresence(mux *session.Mux, who *actor) {
	who.presence = presence.Handle(mux, who.roster, nil)
	who.presence.HandleRequest(func(_ context.Context, _ *session.Session, req presence.Request) presence.Decision {
		if req.From != st.other(who).addr.Bare() {
			st.out.event(who.name, "denies the subscription request of %s", req.From)
			return presence.Deny
		}
		st.out.event(who.name, "approves the subscription request of %s", req.From)
		return presence.Approve
	})
	who.presence.HandleChange(func(_ context.Context, _ *session.Session, c presence.Change) {
		st.out.event(who.name, "%s sent %s", c.From, c.Type)
	})
	who.presence.HandleBroadcast(func(_ context.Context, s *session.Session, e presence.Event) {
		if e.Resource.JID.Bare() == who.addr.Bare() {
			return // the account's own resource
		}
		st.out.event(who.name, "sees %s %s%s", e.Resource.JID, e.Op, describe(e))
		select {
		case who.events <- seen{e, s}:
		default: // the story waits for few events; never block the session
		}
	})
}

// seen is a presence event and the session it came on.
type seen struct {
	presence.Event
	on *session.Session
}

// describe says what an online or changed resource announced.
func describe(e presence.Event) string {
	if e.Op == presence.Offline {
		return ""
	}
	show := "available"
	if e.Resource.Show != stanza.ShowNone {
		show = string(e.Resource.Show)
	}
	if e.Resource.Status == "" {
		return " (" + show + ")"
	}
	return fmt.Sprintf(" (%s, %q)", show, e.Resource.Status)
}

// other is the other actor of the story.
func (st *story) other(who *actor) *actor {
	if who == st.alice {
		return st.bob
	}
	return st.alice
}

func aliceSubscribes(ctx context.Context, st *story) error {
	return st.subscribe(ctx, st.alice, st.bob)
}

func bobSubscribes(ctx context.Context, st *story) error { return st.subscribe(ctx, st.bob, st.alice) }

// subscribe has from ask for to's presence (RFC 6121 §3.1); to's handler
// approves, the server pushes the new subscription state to from's roster
// and sends to's current presence, so to is online in from's Tracker.
// On a real server where an earlier run left the subscription in place,
// only the last part is checked.
func (st *story) subscribe(ctx context.Context, from, to *actor) error {
	contact := to.addr.Bare()
	if subscribedTo(from, contact) {
		st.out.event(from.name, "is already subscribed to %s (from an earlier run)", contact)
	} else {
		st.out.event(from.name, "asks %s for a subscription", contact)
		if err := from.presence.Subscribe(ctx, from.sess, contact); err != nil {
			return fmt.Errorf("%s could not subscribe: %w", from.name, err)
		}
		if _, err := waitPush(ctx, from, "the subscription to "+contact.String(), func(it roster.Item) bool {
			return it.JID == contact && (it.Subscription == roster.SubscriptionTo || it.Subscription == roster.SubscriptionBoth)
		}); err != nil {
			return err
		}
		it, _ := from.roster.Cache().Item(contact)
		st.out.event(from.name, "roster: %s, subscription %s", contact, it.Subscription)
	}
	if err := waitEvent(ctx, from, to.name+" online", func(e presence.Event) bool {
		return e.Op == presence.Online && e.Resource.JID.Bare() == contact
	}); err != nil {
		return err
	}
	best, _ := from.presence.Tracker().Best(contact)
	st.out.event(from.name, "tracker: %s is online as %s", contact, best.JID)
	return nil
}

// subscribedTo reports whether who's roster shows a subscription to
// contact's presence.
func subscribedTo(who *actor, contact jid.JID) bool {
	it, ok := who.roster.Cache().Item(contact)
	return ok && (it.Subscription == roster.SubscriptionTo || it.Subscription == roster.SubscriptionBoth)
}

func aliceChangesStatus(ctx context.Context, st *story) error {
	return st.changeStatus(ctx, st.alice, presence.Available{Show: stanza.ShowAway, Status: "in a meeting"})
}

func bobChangesStatus(ctx context.Context, st *story) error {
	return st.changeStatus(ctx, st.bob, presence.Available{Show: stanza.ShowChat, Status: "free to talk", Priority: 5})
}

// changeStatus sets who's presence and waits until the other actor has
// seen the change and its Tracker shows it.
func (st *story) changeStatus(ctx context.Context, who *actor, a presence.Available) error {
	st.out.event(who.name, "sets show %q, status %q, priority %d", a.Show, a.Status, a.Priority)
	if err := who.presence.SetAvailable(ctx, who.sess, a); err != nil {
		return fmt.Errorf("%s could not change presence: %w", who.name, err)
	}
	who.status = a
	peer := st.other(who)
	if err := waitEvent(ctx, peer, who.name+"'s new presence", func(e presence.Event) bool {
		return e.Op == presence.Changed && e.Resource.JID == who.sess.Addr() && e.Resource.Show == a.Show
	}); err != nil {
		return err
	}
	r, ok := peer.presence.Tracker().Resource(who.sess.Addr())
	if !ok || r.Show != a.Show || r.Status != a.Status || r.Priority != a.Priority {
		return fmt.Errorf("%s's tracker has %+v for %s, want show %q, status %q, priority %d", peer.name, r, who.name, a.Show, a.Status, a.Priority)
	}
	return nil
}

// aliceLogsOut closes alice's session and waits until bob has seen her
// go offline: the server broadcast her unavailable presence.
func aliceLogsOut(ctx context.Context, st *story) error {
	full := st.alice.sess.Addr()
	if err := st.logOut(ctx, st.alice); err != nil {
		return err
	}
	if err := waitEvent(ctx, st.bob, "alice offline", func(e presence.Event) bool {
		return e.Op == presence.Offline && e.Resource.JID == full
	}); err != nil {
		return err
	}
	if _, ok := st.bob.presence.Tracker().Resource(full); ok {
		return fmt.Errorf("bob's tracker still has %s", full)
	}
	return nil
}

// waitPush takes who's roster pushes, in the order they came, until one
// matches, and returns it; what names it in the error.
func waitPush(ctx context.Context, who *actor, what string, match func(roster.Item) bool) (roster.Item, error) {
	for {
		select {
		case it := <-who.pushes:
			if match(it) {
				return it, nil
			}
		case <-ctx.Done():
			return roster.Item{}, fmt.Errorf("%s got no roster push for %s: %w", who.name, what, ctx.Err())
		}
	}
}

// waitEvent takes who's presence events, in the order they came, until
// one matches; what names it in the error.
func waitEvent(ctx context.Context, who *actor, what string, match func(presence.Event) bool) error {
	_, err := waitEventOn(ctx, who, what, nil, match)
	return err
}

// waitEventOn is waitEvent for the events that came on the session on
// (any session when nil); it returns the one that matched.
func waitEventOn(ctx context.Context, who *actor, what string, on *session.Session, match func(presence.Event) bool) (presence.Event, error) {
	for {
		select {
		case e := <-who.events:
			if (on == nil || e.on == on) && match(e.Event) {
				return e.Event, nil
			}
		case <-ctx.Done():
			return presence.Event{}, fmt.Errorf("%s did not see %s: %w", who.name, what, ctx.Err())
		}
	}
}

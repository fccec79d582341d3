//go:build interop

package presence_test

import (
	"context"
	"errors"
	"net"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/disco"
	"github.com/parleyim/parley/internal/testkit/syncbuf"
	"github.com/parleyim/parley/internal/testkit/xmppd"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/presence"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// interopClient is one logged-in resource with a roster and a Manager, and
// what both told the application.
type interopClient struct {
	*recorder
	s     *session.Session
	resp  *disco.Responder
	trace *syncbuf.Buffer

	pmu    sync.Mutex
	pushes []roster.Item
}

// waitEvent waits until the broadcast handler has recorded the event
// described as want (describeEvent).
func (rec *recorder) waitEvent(t *testing.T, want string) {
	t.Helper()
	rec.waitFor(t, "the event "+want, func() bool { return slices.Contains(describe(rec.events), want) })
}

func approveAll(presence.Request) presence.Decision { return presence.Approve }

// interopLogin logs user in to srv as resource, with its entity
// capabilities in its presence and a cache for its contacts'. decide is the request
// callback's decision (nil: leave pending); prepare, when not nil, runs on
// the Manager before the stream starts.
func interopLogin(t *testing.T, srv *xmppd.Server, user, resource string, decide func(presence.Request) presence.Decision, prepare func(*presence.Manager)) *interopClient {
	t.Helper()
	mux := session.NewMux()
	resp := disco.Handle(mux)
	c := &interopClient{
		recorder: newRecorderOn(mux, &presence.Options{Responder: resp, Caps: disco.NewCache(0)}, decide),
		resp:     resp,
		trace:    &syncbuf.Buffer{},
	}
	c.r.HandlePush(func(_ context.Context, _ *session.Session, it roster.Item) {
		c.pmu.Lock()
		c.pushes = append(c.pushes, it)
		c.pmu.Unlock()
	})
	if prepare != nil {
		prepare(c.m)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := &session.Config{Addr: srv.Addr, TLSConfig: srv.TLSConfig(), Mux: c.mux, KeepAlive: -1, Resource: resource, Trace: c.trace}
	s, err := session.Dial(ctx, jid.MustParse(user+"@"+srv.Domain), srv.Users[user], cfg)
	require.NoError(t, err, "%s logs in to %s", user, srv.Kind)
	closeAtEnd(t, s)
	t.Cleanup(func() {
		if t.Failed() {
			tr := c.trace.String()
			t.Logf("trace of %s (last 6000 bytes):\n%s", s.Addr(), tr[max(0, len(tr)-6000):])
		}
	})
	c.s = s
	return c
}

// waitItem waits until the roster cache has contact with subscription sub
// and the ask flag ask, and a push brought it.
func (c *interopClient) waitItem(t *testing.T, contact jid.JID, sub roster.Subscription, ask bool) {
	t.Helper()
	var last roster.Item
	ok := assert.Eventually(t, func() bool {
		it, _ := c.r.Cache().Item(contact)
		last = it
		return it.Subscription == sub && it.Ask == ask && c.pushedWith(contact, sub)
	}, 10*time.Second, 20*time.Millisecond)
	if !ok {
		t.Fatalf("%s: %s in the roster as %+v, want subscription %q ask %v through a push", c.s.Addr(), contact, last, sub, ask)
	}
}

// pushedWith reports whether a push had contact with subscription sub.
func (c *interopClient) pushedWith(contact jid.JID, sub roster.Subscription) bool {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	for _, it := range c.pushes {
		if it.JID == contact && it.Subscription == sub {
			return true
		}
	}
	return false
}

// waitRequest waits for a subscription request from from.
func (c *interopClient) waitRequest(t *testing.T, from jid.JID) {
	t.Helper()
	c.waitFor(t, "a request from "+from.String(), func() bool { return c.requestFromLocked(from) })
}

func (c *interopClient) requestFromLocked(from jid.JID) bool {
	for _, r := range c.requests {
		if r.From == from {
			return true
		}
	}
	return false
}

// waitChange waits for a subscription change typ from from.
func (c *interopClient) waitChange(t *testing.T, from jid.JID, typ stanza.PresenceType) {
	t.Helper()
	c.waitFor(t, string(typ)+" from "+from.String(), func() bool {
		for _, ch := range c.changes {
			if ch.From == from && ch.Type == typ {
				return true
			}
		}
		return false
	})
}

// waitTracked waits until the tracker holds full with what ok accepts.
func (c *interopClient) waitTracked(t *testing.T, full jid.JID, ok func(presence.Resource) bool) presence.Resource {
	t.Helper()
	var r presence.Resource
	c.waitFor(t, full.String()+" in the tracker of "+c.s.Addr().String(), func() bool {
		var online bool
		r, online = c.m.Tracker().Resource(full)
		return online && (ok == nil || ok(r))
	})
	return r
}

// waitUntracked waits until no resource of contact is tracked.
func (c *interopClient) waitUntracked(t *testing.T, contact jid.JID) {
	t.Helper()
	c.waitFor(t, contact.String()+" gone from the tracker of "+c.s.Addr().String(), func() bool {
		return len(c.m.Tracker().Resources(contact)) == 0
	})
}

// TestInteropPresence runs the steps with two (and more) Parley
// clients on each server: subscription, approval from the handler, pushes
// on both sides, broadcasts into the tracker, the best resource,
// unsubscribe and cancel, a request while offline, and pre-approval.
func TestInteropPresence(t *testing.T) {
	for _, kind := range xmppd.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			srv := xmppd.Start(t, kind, xmppd.Options{})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			alice := jid.MustParse("alice@" + srv.Domain)
			bob := jid.MustParse("bob@" + srv.Domain)
			carol := jid.MustParse("carol@" + srv.Domain)
			alicePhone := jid.MustParse("alice@" + srv.Domain + "/phone")
			aliceLaptop := jid.MustParse("alice@" + srv.Domain + "/laptop")
			bobDesk := jid.MustParse("bob@" + srv.Domain + "/desk")

			b := interopLogin(t, srv, "bob", "desk", approveAll, nil)
			a := interopLogin(t, srv, "alice", "phone", approveAll, nil)

			// alice subscribes to bob; bob approves from his handler.
			require.NoError(t, a.m.Subscribe(ctx, a.s, bob))
			b.waitRequest(t, alice)
			a.waitChange(t, bob, stanza.PresenceSubscribed)
			a.waitItem(t, bob, roster.SubscriptionTo, false)
			b.waitItem(t, alice, roster.SubscriptionFrom, false)
			assert.True(t, a.pushedWith(bob, roster.SubscriptionNone), "%s pushes the pending request to alice", kind)
			a.waitTracked(t, bobDesk, nil) // the approval brings bob's presence

			// bob subscribes back; alice approves from hers: both.
			require.NoError(t, b.m.Subscribe(ctx, b.s, alice))
			a.waitRequest(t, bob)
			b.waitChange(t, alice, stanza.PresenceSubscribed)
			a.waitItem(t, bob, roster.SubscriptionBoth, false)
			b.waitItem(t, alice, roster.SubscriptionBoth, false)
			b.waitTracked(t, alicePhone, nil)
			assert.Empty(t, a.m.Pending(), "answered from the handler")

			// alice's caps, from her presence, are looked up and verified
			// off bob's handler queue.
			aliceCaps, err := a.resp.Caps()
			require.NoError(t, err)
			b.waitFor(t, "alice's caps verified", func() bool { _, ok := b.m.Info(alicePhone); return ok })
			r, _ := b.m.Tracker().Resource(alicePhone)
			assert.Equal(t, aliceCaps.Ver, r.Caps.Ver)
			assert.Empty(t, b.m.Pending(), "answered from the handler")

			// alice's show and status reach bob's tracker.
			require.NoError(t, a.m.SetAvailable(ctx, a.s, presence.Available{
				Show: stanza.ShowAway, Status: "lunch", AltStatuses: []stanza.Text{{Lang: "de", Value: "Mittag"}},
			}))
			r = b.waitTracked(t, alicePhone, func(r presence.Resource) bool { return r.Show == stanza.ShowAway })
			assert.Equal(t, "lunch", r.Status)
			assert.Equal(t, []stanza.Text{{Lang: "de", Value: "Mittag"}}, r.AltStatuses)
			// The tracker changes before the broadcast handlers run, so
			// the event is waited for, not looked for.
			b.waitEvent(t, "changed "+alicePhone.String()+" away/0/lunch")

			// A second resource of alice with a higher priority becomes
			// bob's best; alice's phone sees it too (her own resources).
			laptop := interopLogin(t, srv, "alice", "laptop", approveAll, func(m *presence.Manager) {
				require.NoError(t, m.SetAvailable(ctx, nil, presence.Available{Show: stanza.ShowDND, Priority: 10}))
			})
			b.waitTracked(t, aliceLaptop, nil)
			best, ok := b.m.Tracker().Best(alice)
			require.True(t, ok)
			assert.Equal(t, aliceLaptop, best.JID, "priority 10 over 0, though dnd is less available than away")
			assert.Equal(t, 10, best.Priority)
			assert.Len(t, b.m.Tracker().Resources(alice), 2)
			a.waitTracked(t, aliceLaptop, nil)
			laptop.waitTracked(t, alicePhone, nil) // the probe of own resources
			require.NoError(t, laptop.s.Close(ctx))
			b.waitFor(t, "the laptop offline", func() bool { _, on := b.m.Tracker().Resource(aliceLaptop); return !on })
			best, _ = b.m.Tracker().Best(alice)
			assert.Equal(t, alicePhone, best.JID, "the phone again once the laptop is gone")
			b.waitEvent(t, "offline "+aliceLaptop.String()+" dnd/10/")

			// alice unsubscribes from bob's presence: bob sees unsubscribe,
			// both rosters change, bob leaves alice's tracker.
			require.NoError(t, a.m.Unsubscribe(ctx, a.s, bob))
			b.waitChange(t, alice, stanza.PresenceUnsubscribe)
			a.waitItem(t, bob, roster.SubscriptionFrom, false)
			b.waitItem(t, alice, roster.SubscriptionTo, false)
			a.waitUntracked(t, bob)
			_, online := b.m.Tracker().Resource(alicePhone)
			assert.True(t, online, "bob still receives alice's presence")

			// alice cancels bob's subscription to hers: bob sees
			// unsubscribed, both rosters go to none, alice leaves bob's
			// tracker.
			require.NoError(t, a.m.Cancel(ctx, a.s, bob))
			b.waitChange(t, alice, stanza.PresenceUnsubscribed)
			a.waitItem(t, bob, roster.SubscriptionNone, false)
			b.waitItem(t, alice, roster.SubscriptionNone, false)
			b.waitUntracked(t, alice)

			// A request while bob is offline reaches his handler after he
			// logs in; he leaves it pending and approves it afterwards.
			require.NoError(t, b.s.Close(ctx))
			require.NoError(t, a.m.Subscribe(ctx, a.s, bob))
			a.waitItem(t, bob, roster.SubscriptionNone, true)
			b2 := interopLogin(t, srv, "bob", "desk", nil, nil)
			b2.waitRequest(t, alice)
			pending := b2.m.Pending()
			require.Len(t, pending, 1)
			assert.Equal(t, alice, pending[0].From)
			require.NoError(t, b2.m.Approve(ctx, b2.s, alice))
			a.waitChange(t, bob, stanza.PresenceSubscribed)
			a.waitItem(t, bob, roster.SubscriptionTo, false)
			b2.waitItem(t, alice, roster.SubscriptionFrom, false)
			a.waitTracked(t, bobDesk, nil)
			assert.Empty(t, b2.m.Pending())

			// Pre-approval: carol approves alice before alice asks.
			c := interopLogin(t, srv, "carol", "tablet", nil, nil)
			offered := c.s.Features().PreApproval
			t.Logf("%s offers pre-approval: %v", kind, offered)
			assert.Equal(t, kind == xmppd.Prosody, offered, "Prosody offers urn:xmpp:features:pre-approval, ejabberd does not")
			err = c.m.PreApprove(ctx, c.s, alice)
			if !offered {
				assert.True(t, errors.Is(err, presence.ErrNoPreApproval), "got %v", err)
				assert.NotContains(t, c.trace.String(), "type='subscribed'", "nothing sent")
				return
			}
			require.NoError(t, err)
			// RFC 6121 §3.4.2 pushes the item with approved='true';
			// Prosody pushes it without.
			c.waitItem(t, alice, roster.SubscriptionNone, false)
			it, _ := c.r.Cache().Item(alice)
			t.Logf("%s pushes the pre-approved item with approved=%v", kind, it.Approved)
			require.NoError(t, a.m.Subscribe(ctx, a.s, carol))
			a.waitChange(t, carol, stanza.PresenceSubscribed)
			a.waitItem(t, carol, roster.SubscriptionTo, false)
			c.waitItem(t, alice, roster.SubscriptionFrom, false)
			c.mu.Lock()
			asked := c.requestFromLocked(alice)
			c.mu.Unlock()
			assert.False(t, asked, "the server answered the request itself")
			if strings.Contains(c.trace.String(), "type='subscribe'") {
				t.Logf("%s delivered the pre-approved request to carol too", kind)
			}
		})
	}
}

// TestInteropDirectedOnNewStream: carol, with alice in her roster and no
// subscription, follows alice's directed presence. alice's connection
// breaks (stream management off, so her stream ends rather than
// resumes); the server tells carol alice is gone (RFC 6121 §4.6.3), and
// alice's next stream on the same Mux sends carol the presence again.
func TestInteropDirectedOnNewStream(t *testing.T) {
	for _, kind := range xmppd.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			srv := xmppd.Start(t, kind, xmppd.Options{})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			alice := jid.MustParse("alice@" + srv.Domain)
			aliceHome := jid.MustParse("alice@" + srv.Domain + "/home")
			c := interopLogin(t, srv, "carol", "tablet", nil, nil)
			require.NoError(t, roster.Set(ctx, c.s, roster.Item{JID: alice}))
			c.waitItem(t, alice, roster.SubscriptionNone, false)

			a := newRecorder(nil, nil)
			var conn net.Conn
			dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
				var err error
				conn, err = (&net.Dialer{}).DialContext(ctx, network, addr)
				return conn, err
			}
			cfg := &session.Config{Addr: srv.Addr, TLSConfig: srv.TLSConfig(), Mux: a.mux, KeepAlive: -1, Resource: "home", NoStreamManagement: true, DialContext: dial}
			s, err := session.Dial(ctx, alice, srv.Users["alice"], cfg)
			require.NoError(t, err)
			closeAtEnd(t, s)
			require.NoError(t, a.m.SendDirected(ctx, s, c.s.Addr().Bare(), presence.Available{Show: stanza.ShowChat, Status: "hi"}))
			hi := func(r presence.Resource) bool { return r.Status == "hi" }
			c.waitTracked(t, aliceHome, hi)

			require.NoError(t, conn.Close())
			select {
			case <-s.Done():
			case <-ctx.Done():
				t.Fatal("alice's session did not end")
			}
			c.waitUntracked(t, alice) // the server's unavailable presence
			t.Logf("%s to carol: %s", kind, regexp.MustCompile(`<presence[^>]*unavailable[^>]*(/>|>.*?</presence>)`).FindString(c.trace.String()))
			s2, err := session.Dial(ctx, alice, srv.Users["alice"], cfg)
			require.NoError(t, err)
			closeAtEnd(t, s2)
			c.waitTracked(t, aliceHome, hi)
			var seen []string
			for _, e := range c.eventList() {
				if strings.Contains(e, aliceHome.String()) {
					seen = append(seen, strings.Fields(e)[0])
				}
			}
			assert.Equal(t, []string{"online", "offline", "online"}, seen, "carol's view of alice/home")
		})
	}
}

package presence_test

import (
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/ping"
	"github.com/parleyim/parley/presence"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
	"github.com/parleyim/parley/xmpptest"
)

// The presence package against xmpptest, whose server side of RFC 6121
// §3–4 was matched against Prosody and ejabberd: every subscription
// transition a client drives through the Manager, seen from both sides;
// broadcasts and probes; directed presence; a client that vanishes.

var (
	alice = jid.MustParse("alice@example.test")
	bob   = jid.MustParse("bob@example.test")
	carol = jid.MustParse("carol@example.test")
)

// newXServer starts an xmpptest server with cfg (nil: the defaults) and
// the accounts alice, bob and carol, password "pw".
func newXServer(t *testing.T, cfg *xmpptest.Config) *xmpptest.Server {
	t.Helper()
	srv := xmpptest.NewServer(t, cfg)
	for _, u := range []string{"alice", "bob", "carol"} {
		_, err := srv.AddUser(u, "pw")
		require.NoError(t, err)
	}
	return srv
}

// xclient is one resource logged in to xmpptest with a roster and a
// Manager, what the Manager told it (the recorder) and the roster pushes
// it accepted (under the recorder's lock).
type xclient struct {
	*recorder
	s      *session.Session
	srv    *xmpptest.Server
	pushes []roster.Item
	syncs  atomic.Int64
}

// xopts are the options of xlogin.
type xopts struct {
	decide func(presence.Request) presence.Decision                          // the request callback's decision; nil: Undecided
	before func(*presence.Manager)                                           // run before the stream starts
	dial   func(ctx context.Context, network, addr string) (net.Conn, error) // when set, session.Dial through it instead of srv.Connect
	noSM   bool                                                              // stream management off: a broken connection ends the session
}

// xlogin logs full (user/resource) in to srv.
func xlogin(t *testing.T, srv *xmpptest.Server, full string, o xopts) *xclient {
	t.Helper()
	c := &xclient{recorder: newRecorder(nil, o.decide), srv: srv}
	c.r.HandlePush(func(_ context.Context, _ *session.Session, it roster.Item) {
		c.add(func() { c.pushes = append(c.pushes, it) })
	})
	if o.before != nil {
		o.before(c.m)
	}
	addr := account(full)
	cfg := &session.Config{Mux: c.mux, KeepAlive: -1, NoStreamManagement: o.noSM}
	var err error
	if o.dial != nil {
		cfg.Addr, cfg.DialContext, cfg.TLSConfig = "pipe", o.dial, srv.TLSConfig()
		c.s, err = session.Dial(ctxT(t), addr, "pw", cfg)
	} else {
		c.s, err = srv.Connect(ctxT(t), addr, "pw", cfg)
	}
	require.NoError(t, err, "%s logs in", full)
	closeAtEnd(t, c.s)
	return c
}

// account turns "alice/home" into alice@example.test/home.
func account(full string) jid.JID {
	user, res, _ := strings.Cut(full, "/")
	return jid.MustParse(user + "@example.test/" + res)
}

// sync waits until everything the server's rules queued for c before now
// has been handled: it seeds a roster item for a JID nobody uses and waits
// for its push, which the server queues behind them (roster pushes and
// the presence of the rules reach a client in the order they were made).
func (c *xclient) sync(t *testing.T) {
	t.Helper()
	n := c.syncs.Add(1)
	marker := jid.MustParse("sync" + strconv.FormatInt(n, 10) + "@example.test")
	require.NoError(t, c.srv.SetRosterItem(c.s.Addr().Bare(), roster.Item{JID: marker}))
	c.waitFor(t, "the push of "+marker.String(), func() bool {
		for _, it := range c.pushes {
			if it.JID == marker {
				return true
			}
		}
		return false
	})
}

// state is a roster item's subscription state, or "-" when there is none.
func (c *xclient) state(contact jid.JID) string {
	it, ok := c.r.Cache().Item(contact)
	if !ok {
		return "-"
	}
	return itemState(it)
}

// itemState renders the subscription state of it: "to", "none+ask",
// "none+approved".
func itemState(it roster.Item) string {
	s := it.Subscription.String()
	if it.Ask {
		s += "+ask"
	}
	if it.Approved {
		s += "+approved"
	}
	return s
}

// changesFrom returns the subscription changes contact made, in order.
func (c *xclient) changesFrom(contact jid.JID) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, ch := range changesLocked(c, contact) {
		out = append(out, string(ch.Type))
	}
	return out
}

// requestsFrom returns how many requests contact made.
func (c *xclient) requestsFrom(contact jid.JID) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return requestsLocked(c, contact)
}

// eventsOf returns the broadcast events about contact as "op full-JID".
func (c *xclient) eventsOf(contact jid.JID) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, e := range eventsLocked(c, contact.Bare()) {
		out = append(out, e.Op.String()+" "+e.Resource.JID.String())
	}
	return out
}

// pushesOf returns the subscription states the pushes of contact carried.
func (c *xclient) pushesOf(contact jid.JID) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, it := range pushesLocked(c, contact) {
		out = append(out, itemState(it))
	}
	return out
}

// online reports whether the Tracker holds a resource of contact.
func (c *xclient) online(contact jid.JID) bool {
	return len(c.m.Tracker().Resources(contact)) > 0
}

// sideWant is what one side of a subscription case ends with.
type sideWant struct {
	state    string   // the roster item for the other side (see xclient.state)
	pushes   []string // the states the pushes of the other side carried, in order
	changes  []string // the HandleChange types from the other side, in order
	requests int      // HandleRequest calls from the other side
	events   []string // Tracker events about the other side
}

func pending(c *xclient) []jid.JID {
	var out []jid.JID
	for _, r := range c.m.Pending() {
		out = append(out, r.From)
	}
	return out
}

// TestXMPPTestSubscriptions drives every subscription transition a client
// can make through the Manager, between alice/home and bob/home, from a
// start state seeded in both rosters, and checks what each side sees:
// the roster pushes and the roster cache (subscription, ask, approved),
// the request and change callbacks, and the Tracker's events (the other
// side coming online when a subscription to it begins, going offline when
// it ends).
func TestXMPPTestSubscriptions(t *testing.T) {
	t.Parallel()
	approve := func(presence.Request) presence.Decision { return presence.Approve }
	deny := func(presence.Request) presence.Decision { return presence.Deny }
	tests := []struct {
		name       string
		cfg        *xmpptest.Config
		aliceSeed  *roster.Item // alice's item for bob before login
		bobSeed    *roster.Item // bob's item for alice before login
		bobDecides func(presence.Request) presence.Decision
		step       func(t *testing.T, a, b *xclient)
		alice, bob sideWant
	}{
		{
			name:       "subscribe, approved from the request callback",
			bobDecides: approve,
			step: func(t *testing.T, a, _ *xclient) {
				require.NoError(t, a.m.Subscribe(ctxT(t), a.s, bob))
			},
			alice: sideWant{state: "to", pushes: []string{"none+ask", "to"}, changes: []string{"subscribed"}, events: []string{"online bob@example.test/home"}},
			bob:   sideWant{state: "from", pushes: []string{"from"}, requests: 1},
		},
		{
			name:       "subscribe, denied from the request callback",
			bobDecides: deny,
			step: func(t *testing.T, a, _ *xclient) {
				require.NoError(t, a.m.Subscribe(ctxT(t), a.s, bob))
			},
			alice: sideWant{state: "none", pushes: []string{"none+ask", "none"}, changes: []string{"unsubscribed"}},
			bob:   sideWant{state: "-", requests: 1},
		},
		{
			name: "subscribe, left pending, approved later",
			step: func(t *testing.T, a, b *xclient) {
				require.NoError(t, a.m.Subscribe(ctxT(t), a.s, bob))
				b.waitFor(t, "alice's request", func() bool { return len(b.requests) == 1 })
				require.Equal(t, []jid.JID{alice}, pending(b), "pending after the callback returned")
				require.NoError(t, b.m.Approve(ctxT(t), b.s, b.m.Pending()[0].From))
				assert.Empty(t, pending(b))
			},
			alice: sideWant{state: "to", pushes: []string{"none+ask", "to"}, changes: []string{"subscribed"}, events: []string{"online bob@example.test/home"}},
			bob:   sideWant{state: "from", pushes: []string{"from"}, requests: 1},
		},
		{
			name: "subscribe, left pending, denied later",
			step: func(t *testing.T, a, b *xclient) {
				require.NoError(t, a.m.Subscribe(ctxT(t), a.s, bob))
				b.waitFor(t, "alice's request", func() bool { return len(b.requests) == 1 })
				require.Equal(t, []jid.JID{alice}, pending(b))
				require.NoError(t, b.m.Deny(ctxT(t), b.s, alice))
				assert.Empty(t, pending(b))
			},
			alice: sideWant{state: "none", pushes: []string{"none+ask", "none"}, changes: []string{"unsubscribed"}},
			bob:   sideWant{state: "-", requests: 1},
		},
		{
			name: "subscribe, left pending, withdrawn by the requester",
			step: func(t *testing.T, a, b *xclient) {
				require.NoError(t, a.m.Subscribe(ctxT(t), a.s, bob))
				b.waitFor(t, "alice's request", func() bool { return len(b.requests) == 1 })
				require.NoError(t, a.m.Unsubscribe(ctxT(t), a.s, bob))
				b.waitFor(t, "the withdrawal", func() bool { return len(b.changes) == 1 })
				assert.Empty(t, pending(b), "a withdrawn request is no longer pending")
			},
			alice: sideWant{state: "none", pushes: []string{"none+ask", "none"}},
			bob:   sideWant{state: "-", requests: 1, changes: []string{"unsubscribe"}},
		},
		{
			name:       "subscribe back: from becomes both",
			aliceSeed:  &roster.Item{JID: bob, Subscription: roster.SubscriptionFrom},
			bobSeed:    &roster.Item{JID: alice, Subscription: roster.SubscriptionTo},
			bobDecides: approve,
			step: func(t *testing.T, a, _ *xclient) {
				require.NoError(t, a.m.Subscribe(ctxT(t), a.s, bob))
			},
			alice: sideWant{state: "both", pushes: []string{"from+ask", "both"}, changes: []string{"subscribed"}, events: []string{"online bob@example.test/home"}},
			bob:   sideWant{state: "both", pushes: []string{"both"}, requests: 1, events: []string{"online alice@example.test/home"}},
		},
		{
			name:      "cancel a subscription from: the contact loses the account's presence",
			aliceSeed: &roster.Item{JID: bob, Subscription: roster.SubscriptionFrom},
			bobSeed:   &roster.Item{JID: alice, Subscription: roster.SubscriptionTo},
			step: func(t *testing.T, a, b *xclient) {
				b.waitFor(t, "alice online at bob's", func() bool { return b.online(alice) })
				require.NoError(t, a.m.Cancel(ctxT(t), a.s, bob))
			},
			alice: sideWant{state: "none", pushes: []string{"none"}},
			bob:   sideWant{state: "none", pushes: []string{"none"}, changes: []string{"unsubscribed"}, events: []string{"online alice@example.test/home", "offline alice@example.test/home"}},
		},
		{
			name:      "cancel from both",
			aliceSeed: &roster.Item{JID: bob, Subscription: roster.SubscriptionBoth},
			bobSeed:   &roster.Item{JID: alice, Subscription: roster.SubscriptionBoth},
			step: func(t *testing.T, a, b *xclient) {
				b.waitFor(t, "alice online at bob's", func() bool { return b.online(alice) })
				a.waitFor(t, "bob online at alice's", func() bool { return a.online(bob) })
				require.NoError(t, a.m.Cancel(ctxT(t), a.s, bob))
			},
			alice: sideWant{state: "to", pushes: []string{"to"}, events: []string{"online bob@example.test/home"}},
			bob:   sideWant{state: "from", pushes: []string{"from"}, changes: []string{"unsubscribed"}, events: []string{"online alice@example.test/home", "offline alice@example.test/home"}},
		},
		{
			name:      "unsubscribe from to: the account loses the contact's presence",
			aliceSeed: &roster.Item{JID: bob, Subscription: roster.SubscriptionTo},
			bobSeed:   &roster.Item{JID: alice, Subscription: roster.SubscriptionFrom},
			step: func(t *testing.T, a, _ *xclient) {
				a.waitFor(t, "bob online at alice's", func() bool { return a.online(bob) })
				require.NoError(t, a.m.Unsubscribe(ctxT(t), a.s, bob))
			},
			alice: sideWant{state: "none", pushes: []string{"none"}, events: []string{"online bob@example.test/home", "offline bob@example.test/home"}},
			bob:   sideWant{state: "none", pushes: []string{"none"}, changes: []string{"unsubscribe"}},
		},
		{
			name:      "unsubscribe from both",
			aliceSeed: &roster.Item{JID: bob, Subscription: roster.SubscriptionBoth},
			bobSeed:   &roster.Item{JID: alice, Subscription: roster.SubscriptionBoth},
			step: func(t *testing.T, a, b *xclient) {
				b.waitFor(t, "alice online at bob's", func() bool { return b.online(alice) })
				a.waitFor(t, "bob online at alice's", func() bool { return a.online(bob) })
				require.NoError(t, a.m.Unsubscribe(ctxT(t), a.s, bob))
			},
			alice: sideWant{state: "from", pushes: []string{"from"}, events: []string{"online bob@example.test/home", "offline bob@example.test/home"}},
			bob:   sideWant{state: "to", pushes: []string{"to"}, changes: []string{"unsubscribe"}, events: []string{"online alice@example.test/home"}},
		},
		{
			name: "pre-approve, then the contact's request is approved by the server",
			step: func(t *testing.T, a, b *xclient) {
				require.True(t, a.s.Features().PreApproval)
				require.NoError(t, a.m.PreApprove(ctxT(t), a.s, bob))
				a.waitFor(t, "the pre-approval's push", func() bool { return len(a.pushes) == 1 })
				require.NoError(t, b.m.Subscribe(ctxT(t), b.s, alice))
			},
			alice: sideWant{state: "from", pushes: []string{"none+approved", "from"}},
			bob:   sideWant{state: "to", pushes: []string{"none+ask", "to"}, changes: []string{"subscribed"}, events: []string{"online alice@example.test/home"}},
		},
		{
			name: "pre-approve without the server's feature",
			cfg:  &xmpptest.Config{NoPreApproval: true},
			step: func(t *testing.T, a, _ *xclient) {
				require.False(t, a.s.Features().PreApproval)
				a.waitFor(t, "the echo of alice's initial presence", func() bool { return len(a.events) == 1 })
				w := newWatchPresence(a.srv, a.s.Addr())
				assert.ErrorIs(t, a.m.PreApprove(ctxT(t), a.s, bob), presence.ErrNoPreApproval)
				// The server routes what a client sends in order: once the
				// echo of a later presence is back, the Watch has seen
				// what PreApprove might have sent.
				require.NoError(t, a.m.SetAvailable(ctxT(t), a.s, presence.Available{Status: "after"}))
				a.waitFor(t, "the echo of alice's presence", func() bool { return len(a.events) >= 2 })
				assert.Empty(t, w.list(), "PreApprove sent nothing")
			},
			alice: sideWant{state: "-"},
			bob:   sideWant{state: "-"},
		},
		{
			name: "pre-approve a pending request: an approval, also without the feature",
			cfg:  &xmpptest.Config{NoPreApproval: true},
			step: func(t *testing.T, a, b *xclient) {
				require.NoError(t, b.m.Subscribe(ctxT(t), b.s, alice))
				a.waitFor(t, "bob's request", func() bool { return len(a.requests) == 1 })
				require.NoError(t, a.m.PreApprove(ctxT(t), a.s, bob))
			},
			alice: sideWant{state: "from", pushes: []string{"from"}, requests: 1},
			bob:   sideWant{state: "to", pushes: []string{"none+ask", "to"}, changes: []string{"subscribed"}, events: []string{"online alice@example.test/home"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newXServer(t, tt.cfg)
			if tt.aliceSeed != nil {
				require.NoError(t, srv.SetRosterItem(alice, *tt.aliceSeed))
			}
			if tt.bobSeed != nil {
				require.NoError(t, srv.SetRosterItem(bob, *tt.bobSeed))
			}
			b := xlogin(t, srv, "bob/home", xopts{decide: tt.bobDecides})
			a := xlogin(t, srv, "alice/home", xopts{})
			tt.step(t, a, b)

			// Wait for what each side must see, then for everything the
			// server sent after it, and check that it saw nothing else.
			for _, side := range []struct {
				name  string
				c     *xclient
				other jid.JID
				want  sideWant
			}{{"alice", a, bob, tt.alice}, {"bob", b, alice, tt.bob}} {
				c, other, want := side.c, side.other, side.want
				c.waitFor(t, side.name+"'s pushes, changes, requests and events", func() bool {
					return len(pushesLocked(c, other)) >= len(want.pushes) && len(changesLocked(c, other)) >= len(want.changes) &&
						requestsLocked(c, other) >= want.requests && len(eventsLocked(c, other)) >= len(want.events)
				})
				c.sync(t)
				assert.Equal(t, want.state, c.state(other), "%s's roster item", side.name)
				assert.Equal(t, want.pushes, c.pushesOf(other), "%s's pushes", side.name)
				assert.Equal(t, want.changes, c.changesFrom(other), "%s's changes", side.name)
				assert.Equal(t, want.requests, c.requestsFrom(other), "%s's requests", side.name)
				assert.Equal(t, want.events, c.eventsOf(other), "%s's tracker events", side.name)
				wantOnline := len(want.events) > 0 && want.events[len(want.events)-1][:6] == "online"
				assert.Equal(t, wantOnline, c.online(other), "%s's tracker", side.name)
				assert.Empty(t, pending(c), "%s's pending requests", side.name)
			}
		})
	}
}

// The Locked variants are for waitFor, which holds the recorder's lock.

func pushesLocked(c *xclient, contact jid.JID) []roster.Item {
	var out []roster.Item
	for _, it := range c.pushes {
		if it.JID == contact {
			out = append(out, it)
		}
	}
	return out
}

func changesLocked(c *xclient, contact jid.JID) []presence.Change {
	var out []presence.Change
	for _, ch := range c.changes {
		if ch.From == contact {
			out = append(out, ch)
		}
	}
	return out
}

func requestsLocked(c *xclient, contact jid.JID) int {
	n := 0
	for _, r := range c.requests {
		if r.From == contact {
			n++
		}
	}
	return n
}

func eventsLocked(c *xclient, contact jid.JID) []presence.Event {
	var out []presence.Event
	for _, e := range c.events {
		if e.Resource.JID.Bare() == contact {
			out = append(out, e)
		}
	}
	return out
}

// seedBoth makes a and b contacts with subscription both.
func seedBoth(t *testing.T, srv *xmpptest.Server, a, b jid.JID) {
	t.Helper()
	require.NoError(t, srv.SetRosterItem(a, roster.Item{JID: b, Subscription: roster.SubscriptionBoth}))
	require.NoError(t, srv.SetRosterItem(b, roster.Item{JID: a, Subscription: roster.SubscriptionBoth}))
}

// describedOf returns the events about contact as describeEvent renders
// them.
func (c *xclient) describedOf(contact jid.JID) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return describe(eventsLocked(c, contact))
}

// waitDescribed waits until the events about contact are want, and fails
// the test with what they are otherwise.
func (c *xclient) waitDescribed(t *testing.T, contact jid.JID, want []string) {
	t.Helper()
	c.waitFor(t, "events about "+contact.String(), func() bool { return len(eventsLocked(c, contact)) >= len(want) })
	require.Equal(t, want, c.describedOf(contact))
}

// bestOf returns the full JID of contact's best resource, "" for none.
func (c *xclient) bestOf(contact jid.JID) string {
	r, ok := c.m.Tracker().Best(contact)
	if !ok {
		return ""
	}
	return r.JID.String()
}

// TestXMPPTestProbesAndBroadcast: a contact online before the account
// logs in is in the Tracker at login, with its show, status and priority
// (the server answers the probe of initial presence); each change of
// presence arrives as Changed; a second resource is Online and Best
// follows the priority, then the show, across the two; a resource that
// logs out is Offline. The contact, in turn, has the account's initial
// presence.
func TestXMPPTestProbesAndBroadcast(t *testing.T) {
	t.Parallel()
	srv := newXServer(t, nil)
	seedBoth(t, srv, alice, bob)
	ctx := ctxT(t)
	desk := xlogin(t, srv, "bob/desk", xopts{before: func(m *presence.Manager) {
		require.NoError(t, m.SetAvailable(ctx, nil, presence.Available{Show: stanza.ShowAway, Status: "lunch", Priority: 5}))
	}})
	a := xlogin(t, srv, "alice/home", xopts{})

	a.waitDescribed(t, bob, []string{"online bob@example.test/desk away/5/lunch"})
	desk.waitDescribed(t, alice, []string{"online alice@example.test/home /0/"})

	require.NoError(t, desk.m.SetAvailable(ctx, desk.s, presence.Available{Show: stanza.ShowDND, Status: "busy", Priority: 3}))
	a.waitDescribed(t, bob, []string{
		"online bob@example.test/desk away/5/lunch",
		"changed bob@example.test/desk dnd/3/busy",
	})
	assert.Equal(t, "bob@example.test/desk", a.bestOf(bob))

	phone := xlogin(t, srv, "bob/phone", xopts{before: func(m *presence.Manager) {
		require.NoError(t, m.SetAvailable(ctx, nil, presence.Available{Show: stanza.ShowChat, Priority: 10}))
	}})
	a.waitDescribed(t, bob, []string{
		"online bob@example.test/desk away/5/lunch",
		"changed bob@example.test/desk dnd/3/busy",
		"online bob@example.test/phone chat/10/",
	})
	assert.Equal(t, "bob@example.test/phone", a.bestOf(bob), "the higher priority")

	require.NoError(t, phone.m.SetAvailable(ctx, phone.s, presence.Available{Show: stanza.ShowChat, Priority: 1}))
	a.waitFor(t, "phone's priority 1", func() bool { return len(eventsLocked(a, bob)) >= 4 })
	assert.Equal(t, "bob@example.test/desk", a.bestOf(bob), "the higher priority")

	require.NoError(t, desk.m.SetAvailable(ctx, desk.s, presence.Available{Show: stanza.ShowDND, Priority: 1}))
	a.waitFor(t, "desk's priority 1", func() bool { return len(eventsLocked(a, bob)) >= 5 })
	assert.Equal(t, "bob@example.test/phone", a.bestOf(bob), "equal priorities: the more available show")

	require.NoError(t, phone.s.Close(ctx))
	a.waitDescribed(t, bob, []string{
		"online bob@example.test/desk away/5/lunch",
		"changed bob@example.test/desk dnd/3/busy",
		"online bob@example.test/phone chat/10/",
		"changed bob@example.test/phone chat/1/",
		"changed bob@example.test/desk dnd/1/",
		"offline bob@example.test/phone chat/1/",
	})
	assert.Equal(t, "bob@example.test/desk", a.bestOf(bob))
	assert.Equal(t, []jid.JID{alice, bob}, a.m.Tracker().Online(), "bob, and alice's own resource (the echo)")
}

// TestXMPPTestOwnResources: the account's own resources are tracked
// without a roster item: its own presence (echoed by the server), another
// resource online at login, one that logs in later, and its logout.
func TestXMPPTestOwnResources(t *testing.T) {
	t.Parallel()
	srv := newXServer(t, nil)
	ctx := ctxT(t)
	home := xlogin(t, srv, "alice/home", xopts{})
	home.waitDescribed(t, alice, []string{"online alice@example.test/home /0/"})

	work := xlogin(t, srv, "alice/work", xopts{before: func(m *presence.Manager) {
		require.NoError(t, m.SetAvailable(ctx, nil, presence.Available{Show: stanza.ShowXA, Status: "commuting", Priority: -1}))
	}})
	home.waitDescribed(t, alice, []string{
		"online alice@example.test/home /0/",
		"online alice@example.test/work xa/-1/commuting",
	})
	work.waitFor(t, "both of alice's resources at work", func() bool { return len(eventsLocked(work, alice)) >= 2 })
	assert.ElementsMatch(t, []string{
		"online alice@example.test/home /0/",
		"online alice@example.test/work xa/-1/commuting",
	}, work.describedOf(alice), "home's presence at login, and work's own echo")
	assert.Equal(t, "alice@example.test/home", home.bestOf(alice))
	assert.Equal(t, "alice@example.test/home", work.bestOf(alice))

	require.NoError(t, work.s.Close(ctx))
	home.waitDescribed(t, alice, []string{
		"online alice@example.test/home /0/",
		"online alice@example.test/work xa/-1/commuting",
		"offline alice@example.test/work xa/-1/commuting", // as last seen
	})
	assert.Len(t, home.m.Tracker().Resources(alice), 1)
}

// TestXMPPTestRequestWhileOffline: a request made while the contact has
// no resource online reaches its request callback after its initial
// presence; one left pending is delivered again at the next login, and
// answered there from Pending.
func TestXMPPTestRequestWhileOffline(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// logins before the one that approves from its callback, each
		// leaving the request pending.
		undecided int
	}{
		{"approved at the first login", 0},
		{"left pending, delivered again at the next login", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newXServer(t, nil)
			ctx := ctxT(t)
			a := xlogin(t, srv, "alice/home", xopts{})
			require.NoError(t, a.m.Subscribe(ctx, a.s, bob))
			a.waitFor(t, "the push of the request", func() bool { return len(pushesLocked(a, bob)) == 1 })
			for range tt.undecided {
				b := xlogin(t, srv, "bob/home", xopts{})
				b.waitFor(t, "the request kept for bob", func() bool { return requestsLocked(b, alice) == 1 })
				assert.Equal(t, []jid.JID{alice}, pending(b))
				require.NoError(t, b.s.Close(ctx))
			}
			b := xlogin(t, srv, "bob/home", xopts{decide: func(presence.Request) presence.Decision { return presence.Approve }})
			b.waitFor(t, "the request kept for bob", func() bool { return requestsLocked(b, alice) == 1 })
			a.waitFor(t, "bob's approval", func() bool {
				return len(changesLocked(a, bob)) == 1 && len(eventsLocked(a, bob)) == 1
			})
			b.sync(t)
			assert.Equal(t, "from", b.state(alice))
			assert.Empty(t, pending(b))
			assert.Equal(t, "to", a.state(bob))
			assert.Equal(t, []string{"subscribed"}, a.changesFrom(bob))
			assert.Equal(t, []string{"online bob@example.test/home"}, a.eventsOf(bob))
		})
	}
}

// watchPresence records, as "type to", each presence that the client
// full sent (not what the server sent on its behalf), in the order the
// server routed them, except available presence without 'to' (the Watch
// may start while the initial presence is routed).
type watchPresence struct {
	mu   sync.Mutex
	sent []string
}

func newWatchPresence(srv *xmpptest.Server, full jid.JID) *watchPresence {
	w := &watchPresence{}
	srv.Watch(func(r xmpptest.Routed) {
		p, ok := r.Stanza.(*stanza.Presence)
		if !ok || p.From != full || p.Type == stanza.PresenceAvailable && p.To.IsZero() {
			return
		}
		typ := string(p.Type)
		if typ == "" {
			typ = "available"
		}
		w.mu.Lock()
		w.sent = append(w.sent, typ+" "+p.To.String())
		w.mu.Unlock()
	})
	return w
}

func (w *watchPresence) list() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.sent)
}

// waitGone waits until full is no longer bound on srv: its connection's
// goroutine has routed everything it read (and run the Watch callbacks).
func waitGone(t *testing.T, srv *xmpptest.Server, full jid.JID) {
	t.Helper()
	require.Eventually(t, func() bool { return !slices.Contains(srv.Resources(full), full) }, 10*time.Second, 5*time.Millisecond, "%s unbound", full)
}

// TestXMPPTestDirected: directed presence to an entity that is not a
// contact reaches it (carol has alice in her roster without a
// subscription, so her Tracker follows alice); each way of ending it
// (EndDirected, SetUnavailable, Close) has the client send it unavailable
// presence itself, which carol's Tracker sees; and an ended one is
// forgotten: a later broadcast and the Close send carol nothing.
func TestXMPPTestDirected(t *testing.T) {
	t.Parallel()
	aliceHome := account("alice/home")
	tests := []struct {
		name string
		end  func(ctx context.Context, a *xclient) error
		// the client's presences after the directed one, up to its end
		// (available presence without 'to' left out)
		sent []string
	}{
		{"EndDirected", func(ctx context.Context, a *xclient) error {
			return a.m.EndDirected(ctx, a.s, carol)
		}, []string{"unavailable carol@example.test"}},
		{"SetUnavailable", func(ctx context.Context, a *xclient) error {
			return a.m.SetUnavailable(ctx, a.s, "")
		}, []string{"unavailable ", "unavailable carol@example.test"}},
		{"Close", func(ctx context.Context, a *xclient) error {
			return a.s.Close(ctx)
		}, []string{"unavailable carol@example.test", "unavailable "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newXServer(t, nil)
			require.NoError(t, srv.SetRosterItem(carol, roster.Item{JID: alice}))
			ctx := ctxT(t)
			c := xlogin(t, srv, "carol/home", xopts{})
			a := xlogin(t, srv, "alice/home", xopts{})
			a.waitDescribed(t, alice, []string{"online alice@example.test/home /0/"}) // the initial presence is routed
			w := newWatchPresence(srv, aliceHome)

			require.NoError(t, a.m.SendDirected(ctx, a.s, carol, presence.Available{Show: stanza.ShowChat, Status: "hi"}))
			c.waitDescribed(t, alice, []string{"online alice@example.test/home chat/0/hi"})
			assert.Equal(t, []jid.JID{carol}, a.m.Directed())

			require.NoError(t, tt.end(ctx, a))
			c.waitDescribed(t, alice, []string{"online alice@example.test/home chat/0/hi", "offline alice@example.test/home chat/0/hi"})
			assert.Empty(t, a.m.Directed(), "forgotten")

			// Forgotten by both: a broadcast does not reach carol, and
			// Close sends her nothing more.
			if tt.name != "Close" {
				require.NoError(t, a.m.SetAvailable(ctx, a.s, presence.Available{Status: "later"}))
				a.waitFor(t, "the echo of the broadcast", func() bool {
					evs := eventsLocked(a, alice)
					return len(evs) > 0 && evs[len(evs)-1].Resource.Status == "later"
				})
				require.NoError(t, a.s.Close(ctx))
			}
			waitGone(t, srv, aliceHome)
			c.sync(t)
			assert.Len(t, c.eventsOf(alice), 2, "carol saw nothing after the end")
			want := append([]string{"available carol@example.test"}, tt.sent...)
			if tt.name != "Close" {
				want = append(want, "unavailable ") // at Close: the broadcast one only
			}
			assert.Equal(t, want, w.list(), "what alice's client sent")
		})
	}
}

// TestXMPPTestVanish: a client whose connection ends without unavailable
// presence, cut by the server or closed under the client, goes offline
// in the Tracker of its contact and of the entity it sent directed
// presence to: the server sends unavailable presence on its behalf.
func TestXMPPTestVanish(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cut  func(t *testing.T, srv *xmpptest.Server, conn net.Conn)
	}{
		{"the server drops the connection", func(t *testing.T, srv *xmpptest.Server, _ net.Conn) {
			require.NoError(t, srv.Drop(account("alice/home")))
		}},
		{"the client's connection is closed", func(t *testing.T, _ *xmpptest.Server, conn net.Conn) {
			require.NoError(t, conn.Close())
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newXServer(t, nil)
			seedBoth(t, srv, alice, bob)
			require.NoError(t, srv.SetRosterItem(carol, roster.Item{JID: alice}))
			ctx := ctxT(t)
			b := xlogin(t, srv, "bob/home", xopts{})
			c := xlogin(t, srv, "carol/home", xopts{})
			var conn net.Conn
			// Without stream management, whose session would resume
			// the broken connection instead of vanishing.
			a := xlogin(t, srv, "alice/home", xopts{noSM: true, dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
				var err error
				conn, err = srv.DialContext(ctx, network, addr)
				return conn, err
			}})
			a.waitDescribed(t, alice, []string{"online alice@example.test/home /0/"}) // the initial presence is routed
			w := newWatchPresence(srv, account("alice/home"))
			require.NoError(t, a.m.SendDirected(ctx, a.s, carol, presence.Available{}))
			b.waitDescribed(t, alice, []string{"online alice@example.test/home /0/"})
			c.waitDescribed(t, alice, []string{"online alice@example.test/home /0/"})

			tt.cut(t, srv, conn)
			select {
			case <-a.s.Done():
			case <-time.After(10 * time.Second):
				t.Fatal("alice's session did not end")
			}
			b.waitDescribed(t, alice, []string{"online alice@example.test/home /0/", "offline alice@example.test/home /0/"})
			c.waitDescribed(t, alice, []string{"online alice@example.test/home /0/", "offline alice@example.test/home /0/"})
			assert.False(t, b.online(alice))
			assert.False(t, c.online(alice))
			waitGone(t, srv, account("alice/home"))
			assert.Equal(t, []string{"available carol@example.test"}, w.list(), "no unavailable from alice's client: the server spoke for it")
		})
	}
}

// TestXMPPTestResumedKeepsState: alice's connection breaks under stream
// management and her session resumes it. Her contacts see nothing (no
// offline, no second online), she sends no second initial presence, and
// her Tracker and directed presence are as they were, and the directed
// presence is not sent again: the start hook ran with resumed set and
// kept the package's state.
func TestXMPPTestResumedKeepsState(t *testing.T) {
	t.Parallel()
	srv := newXServer(t, nil)
	seedBoth(t, srv, alice, bob)
	ctx := ctxT(t)
	b := xlogin(t, srv, "bob/home", xopts{})
	a := xlogin(t, srv, "alice/home", xopts{})
	a.waitDescribed(t, bob, []string{"online bob@example.test/home /0/"})
	b.waitDescribed(t, alice, []string{"online alice@example.test/home /0/"})
	var mu sync.Mutex
	broadcasts, directed := 0, 0
	srv.Watch(func(r xmpptest.Routed) {
		p, ok := r.Stanza.(*stanza.Presence)
		if !ok || p.From != account("alice/home") || p.Type != stanza.PresenceAvailable {
			return
		}
		mu.Lock()
		switch p.To {
		case jid.JID{}:
			broadcasts++
		case carol:
			directed++
		}
		mu.Unlock()
	})
	require.NoError(t, a.m.SendDirected(ctx, a.s, carol, presence.Available{}))
	// Routed (and so acknowledged) before the connection breaks.
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return directed == 1 }, 10*time.Second, 5*time.Millisecond)

	require.NoError(t, srv.Drop(account("alice/home")))
	// A round trip through the resumed stream: it is back.
	_, err := ping.Send(ctx, a.s, srv.Domain())
	require.NoError(t, err)
	require.NoError(t, a.s.Err())
	assert.Equal(t, 1, a.s.Stats().Resumed)
	// A change after the resumption reaches bob: what he saw before it
	// is all there was.
	require.NoError(t, a.m.SetAvailable(ctx, a.s, presence.Available{Status: "back"}))
	b.waitDescribed(t, alice, []string{"online alice@example.test/home /0/", "changed alice@example.test/home /0/back"})
	mu.Lock()
	// Watch runs after delivery, so the change itself may not be counted
	// yet; a second initial presence, sent before it on the same stream,
	// would be.
	assert.LessOrEqual(t, broadcasts, 1, "only the change after the resumption: no second initial presence")
	assert.Equal(t, 1, directed, "the directed presence is not sent again")
	mu.Unlock()
	assert.True(t, a.online(bob), "alice's tracker kept bob")
	assert.Equal(t, []jid.JID{carol}, a.m.Directed(), "alice's directed presence is remembered")
}

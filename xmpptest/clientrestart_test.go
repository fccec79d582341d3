package xmpptest_test

import (
	"context"
	"errors"
	"net"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/testkit/syncbuf"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/ping"
	"github.com/parleyim/parley/presence"
	"github.com/parleyim/parley/privacy"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/sasl"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
	"github.com/parleyim/parley/xmpptest"
)

// session.Client across a server restart, on xmpptest here and on
// Prosody and ejabberd behind the interop tag (clientrestart_interop_test.go):
// the same steps, the same checks.

// restartTarget is a server a Client test runs against.
type restartTarget struct {
	domain   string
	password string
	// config is a session configuration that reaches the server.
	config func() session.Config
	// restart restarts the server under the connected clients: their
	// streams end, accounts, rosters and offline messages are kept.
	restart func() error
	// privacy reports that the server has privacy lists.
	privacy bool
}

// restartClient is one account run by a session.Client with the
// feature packages registered as an application would.
type restartClient struct {
	t      *testing.T
	c      *session.Client
	addr   jid.JID
	roster *roster.Roster
	pres   *presence.Manager
	priv   *privacy.Manager
	trace  *syncbuf.Buffer

	events   chan session.Event
	messages chan *stanza.Message
	seen     chan presence.Event // broadcasts from contacts
	runErr   chan error

	gateMu sync.Mutex
	gate   chan struct{} // closed: dials go through; open channel: they wait
	dials  atomic.Int32
}

// newRestartClient makes the Client for name and starts Run.
func newRestartClient(t *testing.T, tg restartTarget, name, password string) *restartClient {
	t.Helper()
	addr, err := jid.New(name, tg.domain, "")
	require.NoError(t, err)
	rc := &restartClient{t: t, addr: addr, trace: &syncbuf.Buffer{},
		events: make(chan session.Event, 64), messages: make(chan *stanza.Message, 16),
		seen: make(chan presence.Event, 64), runErr: make(chan error, 1), gate: make(chan struct{})}
	close(rc.gate)
	mux := session.NewMux()
	ping.Handle(mux)
	rc.roster = roster.Handle(mux)
	rc.priv = privacy.Handle(mux) // before presence: the list is active before initial presence
	rc.pres = presence.Handle(mux, rc.roster, nil)
	rc.pres.HandleRequest(func(context.Context, *session.Session, presence.Request) presence.Decision {
		return presence.Approve
	})
	rc.pres.HandleBroadcast(func(_ context.Context, s *session.Session, e presence.Event) {
		if e.Resource.JID.Bare() != s.Addr().Bare() {
			rc.seen <- e
		}
	})
	mux.HandleMessageFunc(session.MessageTypes(stanza.MessageChat), func(_ context.Context, _ *session.Session, m *stanza.Message) {
		rc.messages <- m
	})
	cfg := tg.config()
	cfg.Mux = mux
	cfg.Trace = rc.trace
	cfg.KeepAlive = -1
	dial := cfg.DialContext
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	cfg.DialContext = func(ctx context.Context, network, a string) (net.Conn, error) {
		rc.gateMu.Lock()
		gate := rc.gate
		rc.gateMu.Unlock()
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		rc.dials.Add(1)
		return dial(ctx, network, a)
	}
	rc.c = session.NewClient(addr, password, &session.ClientConfig{
		Session:    &cfg,
		FirstDelay: 50 * time.Millisecond, RetryDelay: 100 * time.Millisecond, MaxDelay: 400 * time.Millisecond,
		Events: func(e session.Event) { rc.events <- e },
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { rc.runErr <- rc.c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-rc.c.Done():
		case <-time.After(20 * time.Second):
			t.Errorf("%s: Run did not return", name)
		}
		if t.Failed() {
			t.Logf("%s's XML:\n%s", name, rc.trace.String())
		}
	})
	return rc
}

// hold makes the client's dials wait until release.
func (rc *restartClient) hold() {
	rc.gateMu.Lock()
	rc.gate = make(chan struct{})
	rc.gateMu.Unlock()
}

func (rc *restartClient) release() {
	rc.gateMu.Lock()
	close(rc.gate)
	rc.gateMu.Unlock()
}

const restartWait = 60 * time.Second

// rosterVerSent finds a versioned roster request in a trace.
var rosterVerSent = regexp.MustCompile(`SEND <iq [^>]*type='get'><query xmlns='jabber:iq:roster' ver='([^']*)'`)

// until returns the first event of kind k (those before it are logged).
func (rc *restartClient) until(k session.EventKind, keep func(session.Event) bool) session.Event {
	rc.t.Helper()
	deadline := time.After(restartWait)
	for {
		select {
		case e := <-rc.events:
			rc.t.Logf("%s: %v", rc.addr.Localpart(), e)
			if e.Kind == k && (keep == nil || keep(e)) {
				return e
			}
			if e.Kind == session.GaveUp {
				rc.t.Fatalf("%s gave up: %v", rc.addr, e.Err)
			}
		case <-deadline:
			rc.t.Fatalf("%s: no %v event", rc.addr, k)
			return session.Event{}
		}
	}
}

func newSession(e session.Event) bool { return !e.Resumed }

// subscribedBoth waits until the roster cache shows a mutual
// subscription with contact.
func (rc *restartClient) subscribedBoth(contact jid.JID) {
	rc.t.Helper()
	deadline := time.Now().Add(restartWait)
	for {
		if it, ok := rc.roster.Cache().Item(contact); ok && it.Subscription == roster.SubscriptionBoth {
			return
		}
		if time.Now().After(deadline) {
			rc.t.Fatalf("%s's roster never showed a mutual subscription with %s", rc.addr, contact)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sees waits until a broadcast from contact matches ok.
func (rc *restartClient) sees(contact jid.JID, ok func(presence.Event) bool) presence.Event {
	rc.t.Helper()
	deadline := time.After(restartWait)
	for {
		select {
		case e := <-rc.seen:
			if e.Resource.JID.Bare() == contact && ok(e) {
				return e
			}
		case <-deadline:
			rc.t.Fatalf("%s never saw the expected presence of %s", rc.addr, contact)
			return presence.Event{}
		}
	}
}

// runClientRestart: alice and bob, subscribed to each other, run Clients;
// alice announces a presence and activates a privacy list. The server
// restarts while alice cannot dial; bob comes back and writes to her;
// then alice comes back, and everything is as it was: her roster fetched
// by version (when the server versions rosters), her presence seen by
// bob with its status, her privacy list active, bob's message delivered.
func runClientRestart(t *testing.T, tg restartTarget) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*restartWait)
	defer cancel()
	alice := newRestartClient(t, tg, "alice", tg.password)
	bob := newRestartClient(t, tg, "bob", tg.password)
	alice.until(session.Connected, nil)
	bob.until(session.Connected, nil)

	// Mutual subscription: each asks, the other's handler approves.
	require.NoError(t, alice.pres.Subscribe(ctx, alice.c, bob.addr))
	require.NoError(t, bob.pres.Subscribe(ctx, bob.c, alice.addr))
	// The subscriptions are settled (both ways, in both caches) before
	// anything else: a push still in flight at the restart could be lost
	// with the stream (ejabberd drops what was unacknowledged).
	alice.subscribedBoth(bob.addr)
	bob.subscribedBoth(alice.addr)
	away := presence.Available{Show: stanza.ShowAway, Status: "back soon", Priority: 3}
	require.NoError(t, alice.pres.SetAvailable(ctx, alice.c, away))
	bob.sees(alice.addr, func(e presence.Event) bool { return e.Resource.Status == away.Status })
	if tg.privacy {
		spam, err := jid.New("spam", tg.domain, "")
		require.NoError(t, err)
		require.NoError(t, privacy.SetList(ctx, alice.c, privacy.List{Name: "pl", Items: []privacy.Item{
			{Type: privacy.TypeJID, Value: spam.String(), Action: privacy.Deny, Order: 1}}}))
		require.NoError(t, alice.priv.SetActive(ctx, alice.c, "pl"))
	}
	ver := alice.roster.Cache().Ver()
	first, err := alice.c.Session(ctx)
	require.NoError(t, err)
	rosterVer := first.Features().RosterVersioning

	// alice's dials wait from now on: a server that ends her stream
	// with an error has her Client wait to dial; one that only closes
	// the connection has her session try to resume, which waits too.
	// Either way she is away until release.
	alice.hold()
	require.NoError(t, tg.restart())
	alice.until(session.Disconnected, nil)
	bob.until(session.Connected, newSession)

	// bob writes while alice is away: the server keeps it offline. His
	// ping comes back after the server has routed the message.
	require.NoError(t, bob.c.Send(ctx, &stanza.Message{Header: stanza.Header{To: alice.addr}, Type: stanza.MessageChat, Body: "while you were away"}))
	_, err = ping.Send(ctx, bob.c, jid.JID{})
	require.NoError(t, err)
	dialsBefore := alice.dials.Load()

	alice.release()
	e := alice.until(session.Connected, newSession)
	assert.NotSame(t, first, e.Session, "a new session")
	assert.Greater(t, alice.dials.Load(), dialsBefore)

	m := <-alice.messages
	assert.Equal(t, "while you were away", m.Body)
	assert.Equal(t, bob.addr, m.From.Bare())
	back := bob.sees(alice.addr, func(e presence.Event) bool {
		return e.Op == presence.Online && e.Resource.JID == alice.c.Addr()
	})
	assert.Equal(t, away.Status, back.Resource.Status, "the last available presence is restored")
	assert.Equal(t, away.Show, back.Resource.Show)
	assert.Equal(t, away.Priority, back.Resource.Priority)
	it, ok := alice.roster.Cache().Item(bob.addr)
	require.True(t, ok, "bob is in alice's roster")
	assert.Equal(t, roster.SubscriptionBoth, it.Subscription)
	t.Logf("roster versioning offered: %v; version before the restart %q", rosterVer, ver)
	if rosterVer && ver != "" {
		// The version the cache had when the stream ended (a push may
		// have raised it after ver was read), sent on the new stream.
		second := alice.trace.String()
		second = second[strings.LastIndex(second, "urn:ietf:params:xml:ns:xmpp-bind"):]
		got := rosterVerSent.FindStringSubmatch(second)
		require.NotNil(t, got, "the roster is fetched by version on the new stream")
		assert.NotEmpty(t, got[1])
	}
	if tg.privacy {
		names, err := privacy.ListNames(ctx, alice.c)
		require.NoError(t, err)
		assert.Equal(t, "pl", names.Active, "the privacy list is active again")
		assert.Equal(t, "pl", alice.priv.Active())
	}
	require.NoError(t, alice.c.Close(ctx))
	require.ErrorIs(t, <-alice.runErr, session.ErrClosed)
	require.NoError(t, bob.c.Close(ctx))
}

// runClientWrongPassword: a refused login stops the Client at once, with
// the SASL error and one dial.
func runClientWrongPassword(t *testing.T, tg restartTarget) {
	rc := newRestartClient(t, tg, "alice", "not the password")
	e := rc.until(session.GaveUp, nil)
	require.ErrorIs(t, e.Err, sasl.NotAuthorized)
	select {
	case err := <-rc.runErr:
		require.ErrorIs(t, err, sasl.NotAuthorized)
	case <-time.After(restartWait):
		t.Fatal("Run did not return")
	}
	assert.Equal(t, int32(1), rc.dials.Load(), "no second attempt")
}

// runClientCancelInBackoff: ctx ends Run while it waits to dial again.
func runClientCancelInBackoff(t *testing.T, tg restartTarget) {
	cfg := tg.config()
	cfg.DialContext = func(context.Context, string, string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	}
	addr, err := jid.New("alice", tg.domain, "")
	require.NoError(t, err)
	waiting := make(chan session.Event, 8)
	c := session.NewClient(addr, tg.password, &session.ClientConfig{Session: &cfg, RetryDelay: time.Hour, MaxDelay: time.Hour,
		Events: func(e session.Event) {
			if e.Kind == session.Reconnecting {
				waiting <- e
			}
		}})
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(ctx) }()
	e := <-waiting
	assert.GreaterOrEqual(t, e.Delay, 30*time.Minute)
	cancel()
	require.ErrorIs(t, <-runErr, context.Canceled)
	require.ErrorIs(t, c.Send(context.Background(), &stanza.Message{Header: stanza.Header{To: addr}}), session.ErrClosed)
}

// xmpptestTarget is an xmpptest server with alice and bob, over TCP.
func xmpptestTarget(t *testing.T) restartTarget {
	srv := xmpptest.NewServer(t, &xmpptest.Config{Listen: true})
	for _, u := range []string{"alice", "bob"} {
		_, err := srv.AddUser(u, "secret")
		require.NoError(t, err)
	}
	return restartTarget{
		domain:   srv.Domain().Domainpart(),
		password: "secret",
		config: func() session.Config {
			return session.Config{Addr: srv.Addr(), TLSConfig: srv.TLSConfig()}
		},
		restart: srv.Restart,
		privacy: true,
	}
}

func TestClientRestart(t *testing.T) {
	runClientRestart(t, xmpptestTarget(t))
}

func TestClientWrongPassword(t *testing.T) {
	runClientWrongPassword(t, xmpptestTarget(t))
}

func TestClientCancelInBackoff(t *testing.T) {
	runClientCancelInBackoff(t, xmpptestTarget(t))
}

package roster_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
	"github.com/parleyim/parley/xmpptest"
)

// Behaviour of the roster package against xmpptest, whose rosters follow
// RFC 6121 §2 and answer as Prosody and ejabberd do.

var (
	aliceJID = jid.MustParse("alice@example.test")
	bobJID   = jid.MustParse("bob@example.test")
	carolJID = jid.MustParse("carol@example.test")
	daveJID  = jid.MustParse("dave@example.net")

	// aliceRoster is what newServer seeds alice's roster with.
	aliceRoster = []roster.Item{
		{JID: bobJID, Name: "Bob", Subscription: roster.SubscriptionBoth, Groups: []string{"Friends"}},
		{JID: carolJID, Subscription: roster.SubscriptionTo, Ask: false, Groups: []string{"Friends", "Work"}},
		{JID: daveJID, Name: "Dave", Subscription: roster.SubscriptionNone, Ask: true, Approved: true},
	}
)

// newServer starts an xmpptest server with cfg (nil for the defaults) and
// the accounts alice, bob and carol (password "pw"); alice's roster holds
// aliceRoster.
func newServer(t *testing.T, cfgs ...*xmpptest.Config) *xmpptest.Server {
	t.Helper()
	cfg := &xmpptest.Config{RecordTranscripts: true}
	if len(cfgs) > 0 && cfgs[0] != nil {
		cfg = cfgs[0]
		cfg.RecordTranscripts = true
	}
	srv := xmpptest.NewServer(t, cfg)
	for _, u := range []string{"alice", "bob", "carol"} {
		_, err := srv.AddUser(u, "pw")
		require.NoError(t, err)
	}
	for _, it := range aliceRoster {
		require.NoError(t, srv.SetRosterItem(aliceJID, it))
	}
	return srv
}

// serverRoster returns the server's copy of alice's roster.
func serverRoster(t *testing.T, srv *xmpptest.Server) *roster.Query {
	t.Helper()
	q, err := srv.Roster(aliceJID)
	require.NoError(t, err)
	return q
}

// rosterGets returns the roster gets in the transcript of addr.
func rosterGets(srv *xmpptest.Server, addr jid.JID) []string {
	var out []string
	for _, line := range strings.Split(srv.Transcript(addr), "\n") {
		if strings.HasPrefix(line, "C: ") && strings.Contains(line, "type='get'") && strings.Contains(line, "jabber:iq:roster") {
			i := strings.Index(line, "<query")
			out = append(out, line[i:strings.Index(line[i:], ">")+i+1])
		}
	}
	return out
}

func TestXMPPTestFetchAtLogin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  *xmpptest.Config
		get  string
	}{
		{"versioning", nil, `<query xmlns='jabber:iq:roster' ver=''/>`},
		{"no versioning", &xmpptest.Config{NoRosterVersioning: true}, `<query xmlns='jabber:iq:roster'/>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, tt.cfg)
			alice := login(t, srv, "alice/home", nil)
			want := serverRoster(t, srv)
			assert.Equal(t, want.Items, alice.r.Cache().Items())
			assert.Equal(t, want.Ver, alice.r.Cache().Ver())
			assert.Equal(t, []string{tt.get}, rosterGets(srv, alice.s.Addr()))
			assert.Equal(t, []string{"Friends", "Work"}, alice.r.Cache().Groups())
			assert.Equal(t, aliceRoster[:2], alice.r.Cache().Group("Friends"))
			assert.Equal(t, []error{nil}, alice.fetchE)
			assert.Len(t, alice.w.Changes(), 3, "watchers see every item added")
		})
	}
}

// The roster is fetched before the start hooks registered after Handle
// run: where the presence package will send initial presence.
func TestXMPPTestFetchBeforeLaterHooks(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	var seen int
	mux, c := newClient(nil)
	defer c.w.Stop()
	mux.HandleStart(func(context.Context, *session.Session, bool) { seen = c.r.Cache().Len() })
	s, err := srv.Connect(ctxT(t), jid.MustParse("alice@example.test/home"), "pw", &session.Config{Mux: mux, KeepAlive: -1})
	require.NoError(t, err)
	closeAtEnd(t, s)
	assert.Equal(t, 3, seen)
}

// waitPush waits until c has accepted n pushes in all.
func waitPush(t *testing.T, c *client, n int) []roster.Item {
	t.Helper()
	require.Eventually(t, func() bool { return len(c.pushes()) >= n }, 5*time.Second, 5*time.Millisecond, "%d pushes on %s", n, c.s.Addr())
	return c.pushes()
}

func TestXMPPTestSetRenameRemove(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	phone := login(t, srv, "alice/phone", nil)
	desk := login(t, srv, "alice/desk", nil)
	eve := roster.Item{JID: jid.MustParse("eve@example.test"), Name: "Eve", Groups: []string{"Work", "Chess"}}

	// Set with a name and two groups: pushed to both resources.
	require.NoError(t, roster.Set(ctxT(t), phone.s, eve))
	for _, c := range []*client{phone, desk} {
		assert.Equal(t, eve, waitPush(t, c, 1)[0])
		got, ok := c.r.Cache().Item(eve.JID)
		require.True(t, ok)
		assert.Equal(t, eve, got)
		assert.Equal(t, serverRoster(t, srv).Items, c.r.Cache().Items())
		assert.Equal(t, serverRoster(t, srv).Ver, c.r.Cache().Ver())
		assert.Equal(t, []string{"Chess", "Friends", "Work"}, c.r.Cache().Groups())
	}

	// Rename, from the other resource; the groups go with what is sent.
	renamed := eve
	renamed.Name = "Eve E."
	renamed.Groups = nil
	require.NoError(t, roster.Set(ctxT(t), desk.s, renamed))
	for _, c := range []*client{phone, desk} {
		assert.Equal(t, renamed, waitPush(t, c, 2)[1])
		got, _ := c.r.Cache().Item(eve.JID)
		assert.Equal(t, renamed, got)
		assert.Equal(t, []string{"Friends", "Work"}, c.r.Cache().Groups())
	}

	// Set never sends the server's state: a set of an existing item keeps
	// its subscription.
	bob := aliceRoster[0]
	bob.Subscription = roster.SubscriptionNone
	bob.Name = "Robert"
	require.NoError(t, roster.Set(ctxT(t), phone.s, bob))
	waitPush(t, phone, 3)
	got, _ := phone.r.Cache().Item(bobJID)
	assert.Equal(t, roster.SubscriptionBoth, got.Subscription)
	assert.Equal(t, "Robert", got.Name)

	// Remove.
	require.NoError(t, roster.Remove(ctxT(t), phone.s, eve.JID))
	for _, c := range []*client{phone, desk} {
		assert.Equal(t, roster.SubscriptionRemove, waitPush(t, c, 4)[3].Subscription)
		_, ok := c.r.Cache().Item(eve.JID)
		assert.False(t, ok)
		assert.Equal(t, serverRoster(t, srv).Items, c.r.Cache().Items())
		assert.Equal(t, serverRoster(t, srv).Ver, c.r.Cache().Ver())
	}
}

func TestXMPPTestServerErrors(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	alice := login(t, srv, "alice/home", nil)
	bob := login(t, srv, "bob/home", nil)
	tests := []struct {
		name string
		do   func(ctx context.Context) error
		is   stanza.Condition
	}{
		{"remove an item not in the roster", func(ctx context.Context) error {
			return roster.Remove(ctx, alice.s, jid.MustParse("nobody@example.test"))
		}, stanza.ItemNotFound},
		{"set in another user's roster", func(ctx context.Context) error {
			return roster.SetIQ(ctx, bob.s, &stanza.IQ{Header: stanza.Header{To: aliceJID}}, roster.Item{JID: bob.s.Addr().Bare()})
		}, stanza.Forbidden},
		{"fetch another user's roster", func(ctx context.Context) error {
			return roster.FetchIQ(ctx, bob.s, &stanza.IQ{Header: stanza.Header{To: aliceJID}}, roster.NewCache())
		}, stanza.Forbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do(ctxT(t))
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.is)
			var se *stanza.Error
			assert.ErrorAs(t, err, &se)
			assert.True(t, strings.HasPrefix(err.Error(), "roster: "), err.Error())
		})
	}
	assert.Equal(t, aliceRoster, alice.r.Cache().Items(), "nothing changed")
}

// A client that saved its cache logs in again after changes made while it
// was offline: it sends its version and receives only what changed, by
// either of the answers RFC 6121 §2.6.3 allows; its cache then equals a
// fresh full fetch.
func TestXMPPTestRestartWithSavedVersion(t *testing.T) {
	t.Parallel()
	for _, asPushes := range []bool{false, true} {
		t.Run(fmt.Sprintf("updates as pushes %v", asPushes), func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, &xmpptest.Config{RosterUpdatesAsPushes: asPushes})
			first := login(t, srv, "alice/phone", nil)
			var saved bytes.Buffer
			require.NoError(t, first.r.Cache().Save(&saved))
			savedVer := first.r.Cache().Ver()
			require.NoError(t, first.s.Close(ctxT(t)))

			// While the phone is offline: one item added, one changed, one
			// removed (from another resource and through the server).
			desk := login(t, srv, "alice/desk", nil)
			frank := roster.Item{JID: jid.MustParse("frank@example.test"), Name: "Frank"}
			require.NoError(t, roster.Set(ctxT(t), desk.s, frank))
			renamed := aliceRoster[1]
			renamed.Name = "Carol"
			require.NoError(t, roster.Set(ctxT(t), desk.s, renamed))
			require.NoError(t, srv.RemoveRosterItem(aliceJID, daveJID))

			var w *roster.Watcher
			back := login(t, srv, "alice/phone", func(r *roster.Roster) {
				require.NoError(t, r.Cache().Load(bytes.NewReader(saved.Bytes())))
				w = r.Cache().Watch()
				w.Changes() // what was loaded
			})
			defer w.Stop()
			assert.Equal(t, []string{`<query xmlns='jabber:iq:roster' ver='` + savedVer + `'/>`}, rosterGets(srv, back.s.Addr()))
			want := []roster.Change{
				{Op: roster.Updated, Item: renamed},
				{Op: roster.Removed, Item: aliceRoster[2]},
				{Op: roster.Added, Item: frank},
			}
			if asPushes {
				got := waitPush(t, back, 3)
				assert.Equal(t, []roster.Item{frank, renamed, {JID: daveJID, Subscription: roster.SubscriptionRemove}}, got, "the changes come as pushes")
			} else {
				assert.Empty(t, back.pushes(), "the changes come in the result")
			}
			assert.ElementsMatch(t, want, w.Changes(), "watchers see only what changed")

			fresh := login(t, srv, "alice/fresh", nil)
			assert.Equal(t, fresh.r.Cache().Items(), back.r.Cache().Items())
			assert.Equal(t, fresh.r.Cache().Ver(), back.r.Cache().Ver())
			assert.Equal(t, serverRoster(t, srv).Ver, back.r.Cache().Ver())
		})
	}
}

// An up-to-date version gets an empty result: nothing changes, nothing
// is reported, and the same Mux fetches again on each new stream.
func TestXMPPTestReconnectUpToDate(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	mux, c := newClient(nil)
	defer c.w.Stop()
	addr := jid.MustParse("alice@example.test/home")
	connect := func() *session.Session {
		s, err := srv.Connect(ctxT(t), addr, "pw", &session.Config{Mux: mux, KeepAlive: -1})
		require.NoError(t, err)
		closeAtEnd(t, s)
		c.s = s
		return s
	}
	s := connect()
	ver := c.r.Cache().Ver()
	require.NotEmpty(t, ver)
	c.w.Changes()
	require.NoError(t, s.Close(ctxT(t)))

	s = connect()
	assert.Equal(t, []string{`<query xmlns='jabber:iq:roster' ver='` + ver + `'/>`}, rosterGets(srv, s.Addr()))
	assert.Contains(t, srv.Transcript(s.Addr()), "type='result'/>", "an empty result")
	assert.Equal(t, aliceRoster, c.r.Cache().Items())
	assert.Nil(t, c.w.Changes())
	assert.Equal(t, []error{nil, nil}, c.fetchE)

	// A change on the server reaches the reconnected stream as a push.
	require.NoError(t, srv.RemoveRosterItem(aliceJID, bobJID))
	waitPush(t, c, 1)
	assert.Len(t, c.r.Cache().Items(), 2)
	assert.Equal(t, serverRoster(t, srv).Ver, c.r.Cache().Ver())
}

// A roster of 20,000 contacts, over the session's 1 MiB element limit,
// loads from xmpptest.
func TestXMPPTestBigRoster(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	_, items := bigRoster(20000)
	for _, it := range items {
		require.NoError(t, srv.SetRosterItem(aliceJID, it))
	}
	alice := login(t, srv, "alice/home", nil)
	require.Equal(t, []error{nil}, alice.fetchE)
	assert.Equal(t, 20003, alice.r.Cache().Len())
	assert.Equal(t, serverRoster(t, srv).Items, alice.r.Cache().Items())
}

package xmpptest_test

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"sync"
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

// rosterLogin logs user ("name/resource") in on srv with a client that
// records roster pushes.
func rosterLogin(t *testing.T, srv *xmpptest.Server, user string) *rclient {
	t.Helper()
	c, mux := newRClient()
	addr := account(srv, user)
	s, err := srv.Connect(ctxFor(t), addr, "pw-"+addr.Localpart(), &session.Config{Mux: mux, KeepAlive: -1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	c.s = s
	return c
}

// get sends a roster get with query (a template for ver) and returns the
// reply's roster, nil for an empty result.
func (c *rclient) get(t *testing.T, query string) *roster.Query {
	t.Helper()
	raw, err := stanza.ParseRaw([]byte(query))
	require.NoError(t, err)
	reply, err := c.s.SendIQ(ctxFor(t), &stanza.IQ{Type: stanza.IQGet, Payload: raw})
	require.NoError(t, err)
	r, ok := reply.Raw()
	if !ok {
		return nil
	}
	q, err := roster.ParseQuery(r)
	require.NoError(t, err)
	return q
}

// set sends a roster set of it.
func (c *rclient) set(t *testing.T, it roster.Item) error {
	t.Helper()
	_, err := c.s.SendIQ(ctxFor(t), &stanza.IQ{Type: stanza.IQSet, Payload: &roster.Query{Items: []roster.Item{it}}})
	return err
}

// next returns the next push's item and version.
func (c *rclient) next(t *testing.T) (roster.Item, string) {
	t.Helper()
	select {
	case p := <-c.pushes:
		raw, ok := p.Raw()
		require.True(t, ok)
		q, err := roster.ParseQuery(raw)
		require.NoError(t, err)
		require.Len(t, q.Items, 1)
		return q.Items[0], q.Ver
	case <-time.After(5 * time.Second):
		t.Fatal("no roster push arrived")
		return roster.Item{}, ""
	}
}

// quiet checks that no push is pending once a round trip to the server
// has been made.
func (c *rclient) quiet(t *testing.T) {
	t.Helper()
	assert.Empty(t, receivePushes(t, c, 0), "no more pushes")
}

var (
	bob   = jid.MustParse("bob@example.test")
	carol = jid.MustParse("carol@example.test")
	dave  = jid.MustParse("dave@example.test")
)

// The Go API seeds the roster with what a client cannot set, reads it, and
// pushes its changes like a client's set.
func TestRosterAPI(t *testing.T) {
	srv := newServer(t, nil)
	seeded := roster.Item{JID: bob, Name: "Bob", Subscription: roster.SubscriptionBoth, Ask: true, Approved: true, Groups: []string{"Friends"}}
	require.NoError(t, srv.SetRosterItem(alice, seeded))

	got, err := srv.Roster(alice)
	require.NoError(t, err)
	require.Len(t, got.Items, 1)
	assert.True(t, got.Items[0].Equal(seeded), "Roster returns the seeded item: %+v", got.Items[0])
	assert.NotEmpty(t, got.Ver)
	got.Items[0].Groups[0] = "changed"
	again, err := srv.Roster(alice)
	require.NoError(t, err)
	assert.Equal(t, []string{"Friends"}, again.Items[0].Groups, "Roster hands out copies")

	a := rosterLogin(t, srv, "alice/a")
	q := a.get(t, fetchQuery)
	require.NotNil(t, q)
	require.Len(t, q.Items, 1)
	assert.True(t, q.Items[0].Equal(seeded), "the client sees subscription, ask and approved: %+v", q.Items[0])
	assert.Equal(t, again.Ver, q.Ver)

	// A client's update keeps the server's subscription state.
	require.NoError(t, a.set(t, roster.Item{JID: bob, Name: "Robert"}))
	it, ver := a.next(t)
	assert.Equal(t, render(roster.Item{JID: bob, Name: "Robert", Subscription: roster.SubscriptionBoth, Ask: true, Approved: true}), render(it))
	now, err := srv.Roster(alice)
	require.NoError(t, err)
	assert.Equal(t, now.Ver, ver, "the push carries the roster's version")

	// Changes through the API are pushed to interested resources.
	require.NoError(t, srv.SetRosterItem(alice, roster.Item{JID: carol, Subscription: roster.SubscriptionTo}))
	it, _ = a.next(t)
	assert.Equal(t, "carol@example.test sub=to", render(it))
	require.NoError(t, srv.RemoveRosterItem(alice, bob))
	it, ver = a.next(t)
	assert.Equal(t, "bob@example.test sub=remove", render(it))
	now, err = srv.Roster(alice)
	require.NoError(t, err)
	assert.Equal(t, now.Ver, ver)
	a.quiet(t)

	tests := []struct {
		name string
		err  error
		want error // nil: any error
	}{
		{"unknown account", srv.SetRosterItem(jid.MustParse("nobody@example.test"), roster.Item{JID: bob}), xmpptest.ErrUnknownAccount},
		{"another domain", srv.SetRosterItem(jid.MustParse("alice@example.net"), roster.Item{JID: bob}), xmpptest.ErrUnknownAccount},
		{"no JID", srv.SetRosterItem(alice, roster.Item{}), nil},
		{"subscription remove", srv.SetRosterItem(alice, roster.Item{JID: bob, Subscription: roster.SubscriptionRemove}), nil},
		{"remove a missing item", srv.RemoveRosterItem(alice, dave), xmpptest.ErrNotInRoster},
		{"remove from an unknown account", srv.RemoveRosterItem(jid.MustParse("nobody@example.test"), bob), xmpptest.ErrUnknownAccount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Error(t, tt.err)
			if tt.want != nil {
				assert.ErrorIs(t, tt.err, tt.want)
			}
		})
	}
	_, err = srv.Roster(jid.MustParse("nobody@example.test"))
	assert.ErrorIs(t, err, xmpptest.ErrUnknownAccount)
	a.quiet(t)
}

// With RosterUpdatesAsPushes a stale version gets an empty result and the
// changes since, oldest first, each with its version; without it the whole
// roster. Either way the client ends where a full fetch would put it.
func TestRosterStaleVersion(t *testing.T) {
	for _, asPushes := range []bool{false, true} {
		t.Run("RosterUpdatesAsPushes="+strconv.FormatBool(asPushes), func(t *testing.T) {
			srv := newServer(t, &xmpptest.Config{RosterUpdatesAsPushes: asPushes})
			require.NoError(t, srv.SetRosterItem(alice, roster.Item{JID: bob}))
			require.NoError(t, srv.SetRosterItem(alice, roster.Item{JID: carol}))
			old, err := srv.Roster(alice)
			require.NoError(t, err)

			// Offline: update bob, remove carol, add dave, update bob again.
			require.NoError(t, srv.SetRosterItem(alice, roster.Item{JID: bob, Name: "B1"}))
			require.NoError(t, srv.RemoveRosterItem(alice, carol))
			require.NoError(t, srv.SetRosterItem(alice, roster.Item{JID: dave, Subscription: roster.SubscriptionFrom}))
			require.NoError(t, srv.SetRosterItem(alice, roster.Item{JID: bob, Name: "B2"}))
			cur, err := srv.Roster(alice)
			require.NoError(t, err)

			a := rosterLogin(t, srv, "alice/a")
			q := a.get(t, "<query xmlns='jabber:iq:roster' ver='"+old.Ver+"'/>")
			if !asPushes {
				require.NotNil(t, q, "the whole roster")
				assert.Equal(t, cur.Ver, q.Ver)
				assert.Equal(t, []string{"bob@example.test name=\"B2\"", "dave@example.test sub=from"}, renderAll(q.Items))
				a.quiet(t)
				return
			}
			assert.Nil(t, q, "an empty result")
			var got []string
			var last string
			for range 3 {
				it, ver := a.next(t)
				got = append(got, render(it))
				last = ver
			}
			assert.Equal(t, []string{"carol@example.test sub=remove", "dave@example.test sub=from", "bob@example.test name=\"B2\""}, got,
				"the latest state of each item changed, in the order of its last change")
			assert.Equal(t, cur.Ver, last, "the last push brings the current version")
			a.quiet(t)

			assert.Nil(t, a.get(t, "<query xmlns='jabber:iq:roster' ver='"+cur.Ver+"'/>"), "then the version is current")
			full := a.get(t, "<query xmlns='jabber:iq:roster' ver='7-feedbeef'/>")
			require.NotNil(t, full, "a version of another server: the whole roster")
			assert.Equal(t, renderAll(cur.Items), renderAll(full.Items))
			a.quiet(t)
		})
	}
}

// A client that saved its roster and logs in again with its version ends
// with what a full fetch gives, with both of xmpptest's stale-version
// answers: the roster package's two paths.
func TestRosterCacheAcrossLogins(t *testing.T) {
	for _, asPushes := range []bool{false, true} {
		t.Run("RosterUpdatesAsPushes="+strconv.FormatBool(asPushes), func(t *testing.T) {
			srv := newServer(t, &xmpptest.Config{RosterUpdatesAsPushes: asPushes})
			require.NoError(t, srv.SetRosterItem(alice, roster.Item{JID: bob, Subscription: roster.SubscriptionBoth}))
			require.NoError(t, srv.SetRosterItem(alice, roster.Item{JID: carol, Groups: []string{"Work"}}))

			var saved bytes.Buffer
			s, cache := rosterSession(t, srv, nil)
			require.NoError(t, cache.Save(&saved))
			require.NoError(t, s.Close(ctxFor(t)))

			require.NoError(t, srv.SetRosterItem(alice, roster.Item{JID: bob, Name: "Bob", Subscription: roster.SubscriptionBoth}))
			require.NoError(t, srv.RemoveRosterItem(alice, carol))
			require.NoError(t, srv.SetRosterItem(alice, roster.Item{JID: dave}))
			want, err := srv.Roster(alice)
			require.NoError(t, err)

			_, cache = rosterSession(t, srv, &saved)
			require.Eventually(t, func() bool { return cache.Ver() == want.Ver }, 5*time.Second, 5*time.Millisecond)
			assert.Equal(t, renderAll(want.Items), renderAll(cache.Items()))
		})
	}
}

// rosterSession logs alice in with the roster package, its cache loaded
// from saved when given.
func rosterSession(t *testing.T, srv *xmpptest.Server, saved *bytes.Buffer) (*session.Session, *roster.Cache) {
	t.Helper()
	mux := session.NewMux()
	r := roster.Handle(mux)
	if saved != nil {
		require.NoError(t, r.Cache().Load(saved))
	}
	s, err := srv.Connect(ctxFor(t), alice, "pw-alice", &session.Config{Mux: mux, KeepAlive: -1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s, r.Cache()
}

func renderAll(items []roster.Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = render(it)
	}
	return out
}

// Without versioning there is no stream feature and no ver anywhere.
func TestNoRosterVersioning(t *testing.T) {
	srv := newServer(t, &xmpptest.Config{NoRosterVersioning: true})
	require.NoError(t, srv.SetRosterItem(alice, roster.Item{JID: bob}))
	a := rosterLogin(t, srv, "alice/a")
	assert.False(t, a.s.Features().RosterVersioning)
	q := a.get(t, "<query xmlns='jabber:iq:roster' ver='1'/>")
	require.NotNil(t, q, "a ver is ignored: the whole roster")
	assert.False(t, q.Versioned)
	assert.Len(t, q.Items, 1)
	require.NoError(t, a.set(t, roster.Item{JID: carol}))
	_, ver := a.next(t)
	assert.Empty(t, ver)
	got, err := srv.Roster(alice)
	require.NoError(t, err)
	assert.Empty(t, got.Ver)
}

// With versioning the stream offers it, and the domain lists the roster
// among its features (as Prosody does).
func TestRosterFeatures(t *testing.T) {
	srv := newServer(t, nil)
	a := rosterLogin(t, srv, "alice/a")
	assert.True(t, a.s.Features().RosterVersioning)
	info, err := stanza.ParseRaw([]byte("<query xmlns='http://jabber.org/protocol/disco#info'/>"))
	require.NoError(t, err)
	reply, err := a.s.SendIQ(ctxFor(t), &stanza.IQ{Header: stanza.Header{To: srv.Domain()}, Type: stanza.IQGet, Payload: info})
	require.NoError(t, err)
	raw, _ := reply.Raw()
	assert.Contains(t, raw.String(), "var='jabber:iq:roster'")
}

// The sender of a set gets its result before its own push (as Prosody,
// and RFC 6121 §2.3.2's example, send them).
func TestRosterResultBeforePush(t *testing.T) {
	srv := newServer(t, withTranscripts(xmpptest.Config{}))
	a := rosterLogin(t, srv, "alice/a")
	a.get(t, fetchQuery)
	const setID = "the-set"
	_, err := a.s.SendIQ(ctxFor(t), &stanza.IQ{Header: stanza.Header{ID: setID}, Type: stanza.IQSet, Payload: &roster.Query{Items: []roster.Item{{JID: bob}}}})
	require.NoError(t, err)
	a.next(t)
	tr := srv.Transcript(a.s.Addr())
	result := strings.Index(tr, "S: <iq id='"+setID+"' to='alice@example.test/a' type='result'/>")
	push := strings.Index(tr, "to='alice@example.test/a' type='set'><query xmlns='jabber:iq:roster'")
	require.NotEqual(t, -1, result, tr)
	require.NotEqual(t, -1, push, tr)
	assert.Less(t, result, push, "result first:\n%s", tr)
}

// Changes made at once from several resources and the API reach every
// interested resource once each, in the order of their versions.
func TestRosterPushOrder(t *testing.T) {
	srv := newServer(t, nil)
	watchers := []*rclient{rosterLogin(t, srv, "alice/w1"), rosterLogin(t, srv, "alice/w2")}
	for _, w := range watchers {
		w.get(t, fetchQuery)
	}
	const perWriter = 25
	writers := []*rclient{rosterLogin(t, srv, "alice/s1"), rosterLogin(t, srv, "alice/s2")}
	var wg sync.WaitGroup
	for i, w := range writers {
		wg.Go(func() {
			for n := range perWriter {
				assert.NoError(t, w.set(t, roster.Item{JID: jid.MustParse("c" + strconv.Itoa(i) + "-" + strconv.Itoa(n) + "@example.test")}))
			}
		})
	}
	wg.Go(func() {
		for n := range perWriter {
			assert.NoError(t, srv.SetRosterItem(alice, roster.Item{JID: jid.MustParse("api-" + strconv.Itoa(n) + "@example.test")}))
		}
	})
	wg.Wait()
	total := 3 * perWriter
	for _, w := range watchers {
		prev := uint64(0)
		for range total {
			_, ver := w.next(t)
			n := verNumber(t, ver)
			assert.Greater(t, n, prev, "versions in order")
			prev = n
		}
		w.quiet(t)
	}
	got, err := srv.Roster(alice)
	require.NoError(t, err)
	assert.Len(t, got.Items, total)
}

// A resource's first fetch answers before any push reaches it, and every
// push it then gets is newer than the roster it fetched, also while the
// roster changes meanwhile.
func TestRosterFetchBeforePushes(t *testing.T) {
	srv := newServer(t, withTranscripts(xmpptest.Config{}))
	for i := range 20 {
		// A subtest each: its resource logs out when it ends, so that no
		// resource gets more pushes than its channel holds.
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			c := rosterLogin(t, srv, "alice/f"+strconv.Itoa(i))
			var wg sync.WaitGroup
			wg.Go(func() {
				for n := range 50 {
					assert.NoError(t, srv.SetRosterItem(alice, roster.Item{JID: jid.MustParse("c" + strconv.Itoa(n) + "@example.test"), Name: strconv.Itoa(i)}))
				}
			})
			const getID = "the-get"
			reply, err := c.s.SendIQ(ctxFor(t), &stanza.IQ{Header: stanza.Header{ID: getID}, Type: stanza.IQGet, Payload: &roster.Query{Versioned: true}})
			wg.Wait()
			require.NoError(t, err)
			raw, ok := reply.Raw()
			require.True(t, ok)
			q, err := roster.ParseQuery(raw)
			require.NoError(t, err)
			now, err := srv.Roster(alice)
			require.NoError(t, err)
			if now.Ver == q.Ver {
				return // the fetch came after the changes: nothing to push
			}
			_, ver := c.next(t)
			tr := srv.Transcript(c.s.Addr())
			result := strings.Index(tr, "S: <iq id='"+getID+"'")
			push := strings.Index(tr, "type='set'><query xmlns='jabber:iq:roster' ver=")
			require.NotEqual(t, -1, result)
			assert.Less(t, result, push, "the result comes first")
			assert.Greater(t, verNumber(t, ver), verNumber(t, q.Ver), "the first push is newer than the roster")
		})
	}
}

// verNumber returns the counter in one of xmpptest's versions ("n-epoch"),
// which says their order (a client treats versions as opaque).
func verNumber(t *testing.T, ver string) uint64 {
	t.Helper()
	num, _, _ := strings.Cut(ver, "-")
	n, err := strconv.ParseUint(num, 10, 64)
	require.NoError(t, err, ver)
	return n
}

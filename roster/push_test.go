package roster_test

import (
	"context"
	"fmt"
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

// client is a session with a roster registered on its mux, and what the
// roster told the application.
type client struct {
	s      *session.Session
	r      *roster.Roster
	w      *roster.Watcher
	mu     sync.Mutex
	pushed []roster.Item
	fetchE []error
}

func (c *client) pushes() []roster.Item {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]roster.Item(nil), c.pushed...)
}

// newClient returns a mux with a roster whose callbacks record into a
// client; prepare runs on the roster before the session starts (to load a
// saved cache, say).
func newClient(prepare func(r *roster.Roster)) (*session.Mux, *client) {
	mux := session.NewMux()
	c := &client{r: roster.Handle(mux)}
	c.r.HandlePush(func(_ context.Context, _ *session.Session, it roster.Item) {
		c.mu.Lock()
		c.pushed = append(c.pushed, it)
		c.mu.Unlock()
	})
	c.r.HandleFetch(func(_ context.Context, _ *session.Session, err error) {
		c.mu.Lock()
		c.fetchE = append(c.fetchE, err)
		c.mu.Unlock()
	})
	if prepare != nil {
		prepare(c.r)
	}
	c.w = c.r.Cache().Watch()
	return mux, c
}

// login logs user ("name/resource") in to srv with a roster.
func login(t *testing.T, srv *xmpptest.Server, user string, prepare func(r *roster.Roster)) *client {
	t.Helper()
	mux, c := newClient(prepare)
	t.Cleanup(c.w.Stop)
	local, res, _ := strings.Cut(user, "/")
	addr := jid.MustParse(local + "@" + srv.Domain().String() + "/" + res)
	s, err := srv.Connect(ctxT(t), addr, "pw", &session.Config{Mux: mux, KeepAlive: -1})
	require.NoError(t, err)
	closeAtEnd(t, s)
	c.s = s
	return c
}

// replies collects the iq results and errors that clients send, by id.
type replies struct {
	mu   sync.Mutex
	byID map[string]*stanza.IQ
	cond *sync.Cond
}

func watchReplies(srv *xmpptest.Server) *replies {
	r := &replies{byID: make(map[string]*stanza.IQ)}
	r.cond = sync.NewCond(&r.mu)
	srv.Watch(func(rt xmpptest.Routed) {
		iq, ok := rt.Stanza.(*stanza.IQ)
		if !ok || (iq.Type != stanza.IQResult && iq.Type != stanza.IQError) {
			return
		}
		r.mu.Lock()
		r.byID[iq.ID] = iq
		r.mu.Unlock()
		r.cond.Broadcast()
	})
	return r
}

// await returns the reply with the given id, failing the test after 5s.
func (r *replies) await(t *testing.T, id string) *stanza.IQ {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	stop := time.AfterFunc(5*time.Second, r.cond.Broadcast)
	defer stop.Stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.byID[id] == nil {
		if time.Now().After(deadline) {
			t.Fatalf("no reply to iq %s", id)
		}
		r.cond.Wait()
	}
	return r.byID[id]
}

// pushXML is a roster push with the given from attribute ("" for none)
// and items.
func pushXML(id, from, ver, items string) string {
	var b strings.Builder
	b.WriteString("<iq type='set' id='" + id + "'")
	if from != "" {
		b.WriteString(" from='" + from + "'")
	}
	b.WriteString("><query xmlns='jabber:iq:roster'")
	if ver != "" {
		b.WriteString(" ver='" + ver + "'")
	}
	b.WriteString(">" + items + "</query></iq>")
	return b.String()
}

const mallory = "<item jid='mallory@evil.example' name='Friend' subscription='both'><group>Trusted</group></item>"

// Every push that does not come from the account itself is refused with
// service-unavailable, and neither applied nor delivered (RFC 6121
// §2.1.6; CVE-2015-8688, CVE-2016-9928).
func TestSpoofedPushes(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	rep := watchReplies(srv)
	alice := login(t, srv, "alice/home", nil)
	other := login(t, srv, "alice/work", nil) // a second resource of the account
	d := srv.Domain().String()

	for i, from := range []string{
		"bob@" + d,              // another user
		"bob@" + d + "/desk",    // another user's resource
		alice.s.Addr().String(), // the session's own full JID
		other.s.Addr().String(), // another resource of the account
		d,                       // the server's domain
		d + "/admin",            // a resource of the domain
		"evil.example",          // another domain
		"alice@evil.example",    // the same user name elsewhere
		"alice@" + d + "/",      // not even a JID
	} {
		t.Run(from, func(t *testing.T) {
			before, ver, pushed := alice.r.Cache().Items(), alice.r.Cache().Ver(), len(alice.pushes())
			alice.w.Changes()
			id := fmt.Sprintf("spoof%d", i)
			require.NoError(t, srv.InjectRaw(alice.s.Addr(), []byte(pushXML(id, from, "evil1", mallory))))
			reply := rep.await(t, id)
			if strings.HasSuffix(from, "/") {
				// An unparsable from is answered by the session itself.
				assert.Equal(t, stanza.IQError, reply.Type)
			} else {
				require.Equal(t, stanza.IQError, reply.Type, "refused")
				assert.ErrorIs(t, reply.Error, stanza.ServiceUnavailable)
			}
			assert.Equal(t, before, alice.r.Cache().Items(), "not applied")
			assert.Equal(t, ver, alice.r.Cache().Ver(), "version kept")
			assert.Len(t, alice.pushes(), pushed, "the application is not told")
			assert.Nil(t, alice.w.Changes(), "watchers are not told")
		})
	}
}

func TestPushes(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	rep := watchReplies(srv)
	alice := login(t, srv, "alice/home", nil)
	alice.w.Changes()
	d := srv.Domain().String()
	erin := roster.Item{JID: jid.MustParse("erin@" + d), Name: "Erin", Subscription: roster.SubscriptionTo, Groups: []string{"Work"}}
	const erinXML = "<item jid='erin@example.test' name='Erin' subscription='to'><group>Work</group></item>"

	// No from: accepted.
	require.NoError(t, srv.InjectRaw(alice.s.Addr(), []byte(pushXML("p1", "", "v7", erinXML))))
	assert.Equal(t, stanza.IQResult, rep.await(t, "p1").Type)
	got, ok := alice.r.Cache().Item(erin.JID)
	require.True(t, ok, "applied")
	assert.Equal(t, erin, got)
	assert.Equal(t, "v7", alice.r.Cache().Ver(), "version stored")
	assert.Equal(t, []roster.Item{erin}, alice.pushes(), "delivered")
	assert.Equal(t, []roster.Change{{Op: roster.Added, Item: erin}}, alice.w.Changes())

	// The account's bare JID, in another case: accepted.
	renamed := erin
	renamed.Name = "Erin E."
	renamed.Groups = nil
	require.NoError(t, srv.InjectRaw(alice.s.Addr(), []byte(pushXML("p2", "ALICE@"+d, "v8",
		"<item jid='erin@example.test' name='Erin E.' subscription='to'/>"))))
	assert.Equal(t, stanza.IQResult, rep.await(t, "p2").Type)
	got, _ = alice.r.Cache().Item(erin.JID)
	assert.Equal(t, renamed, got)
	assert.Equal(t, "v8", alice.r.Cache().Ver())
	assert.Equal(t, []roster.Change{{Op: roster.Updated, Item: renamed}}, alice.w.Changes())

	// A removal.
	require.NoError(t, srv.InjectRaw(alice.s.Addr(), []byte(pushXML("p3", "alice@"+d, "v9",
		"<item jid='erin@example.test' subscription='remove'/>"))))
	assert.Equal(t, stanza.IQResult, rep.await(t, "p3").Type)
	_, ok = alice.r.Cache().Item(erin.JID)
	assert.False(t, ok, "removed")
	assert.Equal(t, "v9", alice.r.Cache().Ver())
	assert.Equal(t, []roster.Change{{Op: roster.Removed, Item: renamed}}, alice.w.Changes())
	assert.Equal(t, roster.SubscriptionRemove, alice.pushes()[2].Subscription)
}

// A trusted push that breaks the rules is answered bad-request and
// changes nothing.
func TestBadPushes(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	rep := watchReplies(srv)
	alice := login(t, srv, "alice/home", nil)
	alice.w.Changes()
	before := alice.r.Cache().Items()
	ver := alice.r.Cache().Ver()
	for i, tc := range []struct{ name, items string }{
		{"no item", ""},
		{"two items", "<item jid='a@example.test'/><item jid='b@example.test'/>"},
		{"item without jid", "<item name='x'/>"},
		{"invalid jid", "<item jid='a@b@c'/>"},
		{"unknown subscription", "<item jid='a@example.test' subscription='all'/>"},
		{"unknown ask", "<item jid='a@example.test' ask='please'/>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprintf("bad%d", i)
			require.NoError(t, srv.InjectRaw(alice.s.Addr(), []byte(pushXML(id, "", "bad", tc.items))))
			reply := rep.await(t, id)
			require.Equal(t, stanza.IQError, reply.Type)
			assert.ErrorIs(t, reply.Error, stanza.BadRequest)
			assert.Equal(t, before, alice.r.Cache().Items())
			assert.Equal(t, ver, alice.r.Cache().Ver())
			assert.Empty(t, alice.pushes())
			assert.Nil(t, alice.w.Changes())
		})
	}
}

// A second roster on the same Mux panics: nothing can silently take the
// pushes away from the first cache.
func TestHandleTwicePanics(t *testing.T) {
	t.Parallel()
	mux := session.NewMux()
	roster.Handle(mux)
	assert.Panics(t, func() { roster.Handle(mux) })
	assert.NotPanics(t, func() { roster.Handle(session.NewMux()) })
}

//go:build interop

package roster_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/testkit/syncbuf"
	"github.com/parleyim/parley/internal/testkit/xmppd"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/session"
)

// interopClient is a session of alice with a roster, and the pushes it
// accepted.
type interopClient struct {
	s      *session.Session
	r      *roster.Roster
	pushes chan roster.Item
	trace  *syncbuf.Buffer
}

// interopLogin logs user in to srv as resource with a roster whose cache
// is first loaded from saved (when not nil).
func interopLogin(t *testing.T, srv *xmppd.Server, user, resource string, saved []byte) *interopClient {
	t.Helper()
	mux := session.NewMux()
	c := &interopClient{r: roster.Handle(mux), pushes: make(chan roster.Item, 16), trace: &syncbuf.Buffer{}}
	if saved != nil {
		require.NoError(t, c.r.Cache().Load(bytes.NewReader(saved)))
	}
	var fetchErr error
	c.r.HandleFetch(func(_ context.Context, _ *session.Session, err error) { fetchErr = err })
	c.r.HandlePush(func(_ context.Context, _ *session.Session, it roster.Item) { c.pushes <- it })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := &session.Config{Addr: srv.Addr, TLSConfig: srv.TLSConfig(), Mux: mux, KeepAlive: -1, Resource: resource, Trace: c.trace}
	s, err := session.Dial(ctx, jid.MustParse(user+"@"+srv.Domain), srv.Users[user], cfg)
	require.NoError(t, err, "%s logs in to %s", user, srv.Kind)
	closeAtEnd(t, s)
	require.NoError(t, fetchErr, "the roster is fetched at login")
	c.s = s
	return c
}

// awaitPush returns the next push c accepted.
func (c *interopClient) awaitPush(t *testing.T) roster.Item {
	t.Helper()
	select {
	case it := <-c.pushes:
		return it
	case <-time.After(10 * time.Second):
		t.Fatalf("no roster push on %s", c.s.Addr())
		return roster.Item{}
	}
}

// sortedGroups returns it with its groups sorted: servers need not keep
// their order.
func sortedGroups(it roster.Item) roster.Item {
	it = it.Clone()
	slices.Sort(it.Groups)
	return it
}

func TestInteropRoster(t *testing.T) {
	for _, kind := range xmppd.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			srv := xmppd.Start(t, kind, xmppd.Options{})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			bob := jid.MustParse("bob@" + srv.Domain)
			carol := jid.MustParse("carol@" + srv.Domain)

			// Fetch: a new account's roster is empty, and versioned.
			phone := interopLogin(t, srv, "alice", "phone", nil)
			assert.True(t, phone.s.Features().RosterVersioning, "%s offers roster versioning", kind)
			assert.Contains(t, phone.trace.String(), "ver=''", "ver='' asked with nothing cached")
			assert.Zero(t, phone.r.Cache().Len())
			t.Logf("%s: empty roster at version %q", kind, phone.r.Cache().Ver())
			desk := interopLogin(t, srv, "alice", "desk", nil)

			// Set with a name and two groups: pushed to both resources.
			want := roster.Item{JID: bob, Name: "Bob", Groups: []string{"Friends", "Work"}}
			require.NoError(t, roster.Set(ctx, phone.s, want))
			for _, c := range []*interopClient{phone, desk} {
				assert.Equal(t, want, sortedGroups(c.awaitPush(t)), "push on %s", c.s.Addr())
				got, ok := c.r.Cache().Item(bob)
				require.True(t, ok)
				assert.Equal(t, want, sortedGroups(got))
				assert.Equal(t, []string{"Friends", "Work"}, c.r.Cache().Groups())
			}
			t.Logf("%s: version after the set %q", kind, desk.r.Cache().Ver())

			// Rename.
			want.Name = "Bobby"
			require.NoError(t, roster.Set(ctx, desk.s, want))
			for _, c := range []*interopClient{phone, desk} {
				assert.Equal(t, "Bobby", c.awaitPush(t).Name)
				got, _ := c.r.Cache().Item(bob)
				assert.Equal(t, "Bobby", got.Name)
			}

			// Remove.
			require.NoError(t, roster.Remove(ctx, phone.s, bob))
			for _, c := range []*interopClient{phone, desk} {
				pushed := c.awaitPush(t)
				assert.Equal(t, roster.SubscriptionRemove, pushed.Subscription)
				assert.Zero(t, c.r.Cache().Len())
			}

			// A change while the phone is offline, then the phone logs in
			// with its saved cache: it sends its version and ends up with
			// what a fresh full fetch gets.
			require.NoError(t, roster.Set(ctx, phone.s, roster.Item{JID: carol, Name: "Carol", Groups: []string{"Family"}}))
			phone.awaitPush(t)
			desk.awaitPush(t)
			var saved bytes.Buffer
			require.NoError(t, phone.r.Cache().Save(&saved))
			savedVer := phone.r.Cache().Ver()
			require.NoError(t, phone.s.Close(ctx))

			require.NoError(t, roster.Set(ctx, desk.s, roster.Item{JID: bob, Name: "Bob again", Groups: []string{"Friends"}}))
			desk.awaitPush(t)
			require.NoError(t, roster.Set(ctx, desk.s, roster.Item{JID: carol, Name: "Carol renamed"}))
			desk.awaitPush(t)

			back := interopLogin(t, srv, "alice", "phone", saved.Bytes())
			if savedVer != "" {
				assert.Contains(t, back.trace.String(), "ver='"+savedVer+"'", "the saved version is sent")
			}
			// Changes may come as pushes after an empty result: wait until
			// the cache has both.
			fresh := interopLogin(t, srv, "alice", "fresh", nil)
			require.Eventually(t, func() bool {
				return equalItems(back.r.Cache().Items(), fresh.r.Cache().Items())
			}, 10*time.Second, 50*time.Millisecond, "the cache equals a fresh fetch")
			assert.Equal(t, fresh.r.Cache().Items(), back.r.Cache().Items())
			assert.Equal(t, fresh.r.Cache().Ver(), back.r.Cache().Ver())
			got, _ := back.r.Cache().Item(carol)
			assert.Equal(t, "Carol renamed", got.Name)
			t.Logf("%s: saved version %q, after login %q, %d pushes after the fetch", kind, savedVer, back.r.Cache().Ver(), len(back.pushes))
			if strings.Contains(back.trace.String(), "<item") {
				t.Logf("%s answered the stale version with items", kind)
			}
		})
	}
}

func equalItems(a, b []roster.Item) bool {
	return slices.EqualFunc(a, b, func(x, y roster.Item) bool { return sortedGroups(x).Equal(sortedGroups(y)) })
}

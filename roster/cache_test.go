package roster

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
)

var (
	juliet  = jid.MustParse("juliet@example.com")
	romeo   = Item{JID: jid.MustParse("romeo@example.net"), Name: "Romeo", Subscription: SubscriptionBoth, Groups: []string{"Friends", "Lovers"}}
	nurse   = Item{JID: jid.MustParse("nurse@example.com"), Name: "Nurse", Subscription: SubscriptionTo, Groups: []string{"Family"}}
	tybalt  = Item{JID: jid.MustParse("tybalt@example.com"), Subscription: SubscriptionNone, Ask: true}
	benvoli = Item{JID: jid.MustParse("benvolio@example.net"), Name: "Benvolio", Subscription: SubscriptionFrom, Approved: true, Groups: []string{"Friends"}}
)

// filled returns a cache holding juliet's roster: romeo, nurse and tybalt
// at version v1.
func filled(t *testing.T) *Cache {
	t.Helper()
	c := NewCache()
	require.NoError(t, c.replace(juliet, "v1", []Item{romeo, nurse, tybalt}))
	return c
}

func TestCacheReplace(t *testing.T) {
	t.Parallel()
	c := filled(t)
	assert.Equal(t, juliet, c.Account())
	assert.Equal(t, "v1", c.Ver())
	assert.Equal(t, 3, c.Len())
	assert.Equal(t, []Item{nurse, romeo, tybalt}, c.Items(), "sorted by JID")
	assert.Equal(t, []string{"Family", "Friends", "Lovers"}, c.Groups())
	assert.Equal(t, []Item{romeo}, c.Group("Friends"))
	assert.Empty(t, c.Group("Enemies"))
	got, ok := c.Item(romeo.JID)
	require.True(t, ok)
	assert.Equal(t, romeo, got)
	_, ok = c.Item(benvoli.JID)
	assert.False(t, ok)
}

func TestCacheRefusesBadRoster(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		items []Item
		err   string
	}{
		{"remove in a roster", []Item{romeo, {JID: nurse.JID, Subscription: SubscriptionRemove}}, "item nurse@example.com with subscription remove in a roster"},
		{"item twice", []Item{romeo, nurse, {JID: romeo.JID}}, "item romeo@example.net twice in a roster"},
		{"no jid", []Item{{Name: "x"}}, "item without jid"},
		{"subscription out of range", []Item{{JID: romeo.JID, Subscription: 42}}, "in a roster"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := filled(t)
			before := c.Items()
			err := c.replace(jid.MustParse("other@example.com"), "v9", tt.items)
			require.ErrorIs(t, err, ErrMalformed)
			assert.ErrorContains(t, err, tt.err)
			assert.Equal(t, before, c.Items(), "the cache is left as it was")
			assert.Equal(t, "v1", c.Ver())
			assert.Equal(t, juliet, c.Account())
		})
	}
}

func TestCacheNormalizesGroups(t *testing.T) {
	t.Parallel()
	c := NewCache()
	require.NoError(t, c.replace(juliet, "", []Item{{JID: romeo.JID, Groups: []string{"", "a", "b", "a", ""}}, {JID: nurse.JID, Groups: []string{""}}}))
	got, _ := c.Item(romeo.JID)
	assert.Equal(t, []string{"a", "b"}, got.Groups)
	got, _ = c.Item(nurse.JID)
	assert.Nil(t, got.Groups)
	assert.Equal(t, []string{"a", "b"}, c.Groups())
}

func TestCachePush(t *testing.T) {
	t.Parallel()
	renamed := romeo.Clone()
	renamed.Name = "Romeo Montague"
	renamed.Groups = []string{"Lovers"}
	tests := []struct {
		name   string
		push   Item
		ver    string
		items  []Item
		groups []string
	}{
		{"add", benvoli, "v2", []Item{benvoli, nurse, romeo, tybalt}, []string{"Family", "Friends", "Lovers"}},
		{"update", renamed, "v2", []Item{nurse, renamed, tybalt}, []string{"Family", "Lovers"}},
		{"remove", Item{JID: nurse.JID, Subscription: SubscriptionRemove}, "v2", []Item{romeo, tybalt}, []string{"Friends", "Lovers"}},
		{"remove unknown", Item{JID: benvoli.JID, Subscription: SubscriptionRemove}, "v2", []Item{nurse, romeo, tybalt}, []string{"Family", "Friends", "Lovers"}},
		{"without ver the cache has none", benvoli, "", []Item{benvoli, nurse, romeo, tybalt}, []string{"Family", "Friends", "Lovers"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := filled(t)
			_, err := c.push(tt.push, tt.ver)
			require.NoError(t, err)
			assert.Equal(t, tt.items, c.Items())
			assert.Equal(t, tt.groups, c.Groups())
			assert.Equal(t, tt.ver, c.Ver())
		})
	}
}

func TestCachePushRefused(t *testing.T) {
	t.Parallel()
	c := filled(t)
	_, err := c.push(Item{Name: "x"}, "v2")
	require.ErrorIs(t, err, ErrMalformed)
	_, err = c.push(Item{JID: romeo.JID, Subscription: 9}, "v2")
	require.ErrorIs(t, err, ErrMalformed)
	assert.Equal(t, "v1", c.Ver())
	assert.Equal(t, 3, c.Len())
}

func TestCacheSnapshotsShareNothing(t *testing.T) {
	t.Parallel()
	c := filled(t)
	items := c.Items()
	items[1].Groups[0] = "Enemies"
	items[1].Name = "changed"
	one, _ := c.Item(romeo.JID)
	one.Groups[1] = "x"
	grp := c.Group("Friends")
	grp[0].Groups[0] = "y"
	w := c.Watch()
	defer w.Stop()
	for _, ch := range w.Changes() {
		if ch.Item.Groups != nil {
			ch.Item.Groups[0] = "z"
		}
	}
	got, _ := c.Item(romeo.JID)
	assert.Equal(t, romeo, got)
	assert.Equal(t, []string{"Family", "Friends", "Lovers"}, c.Groups())
}

// The fetch's result is older than a push applied while it was in
// flight: the push must survive it.
func TestCacheFetchKeepsNewerPushes(t *testing.T) {
	t.Parallel()
	c := filled(t)
	_, _, mark := c.beginFetch()
	_, err := c.push(benvoli, "v3") // arrives while the fetch is in flight
	require.NoError(t, err)
	require.NoError(t, c.fetched(mark, juliet, &Query{Ver: "v2", Items: []Item{romeo}}))
	c.endFetch()
	assert.Equal(t, []Item{benvoli, romeo}, c.Items())
	assert.Equal(t, "v3", c.Ver())
	assert.Nil(t, c.log, "the log is dropped once no fetch is in flight")

	// Without a fetch in flight nothing is logged.
	_, err = c.push(nurse, "v4")
	require.NoError(t, err)
	assert.Nil(t, c.log)
}

func TestCacheFetchUnchanged(t *testing.T) {
	t.Parallel()
	c := NewCache()
	_, _, mark := c.beginFetch()
	require.NoError(t, c.fetched(mark, juliet, nil))
	c.endFetch()
	assert.Equal(t, juliet, c.Account())
	assert.Zero(t, c.Len())
}

func TestWatcher(t *testing.T) {
	t.Parallel()
	c := filled(t)
	w := c.Watch()
	defer w.Stop()
	first := w.Changes()
	require.Len(t, first, 3)
	for _, ch := range first {
		assert.Equal(t, Added, ch.Op)
	}
	assert.Nil(t, w.Changes(), "collected")

	renamed := romeo.Clone()
	renamed.Name = "R"
	mustPush(t, c, benvoli)                                                // added
	mustPush(t, c, renamed)                                                // updated
	mustPush(t, c, Item{JID: nurse.JID, Subscription: SubscriptionRemove}) // removed
	mustPush(t, c, renamed)                                                // no change: not reported
	assert.Equal(t, []Change{
		{Op: Added, Item: benvoli},
		{Op: Updated, Item: renamed},
		{Op: Removed, Item: nurse},
	}, w.Changes())
}

func mustPush(t *testing.T, c *Cache, it Item) {
	t.Helper()
	_, err := c.push(it, "")
	require.NoError(t, err)
}

func TestWatcherCoalesces(t *testing.T) {
	t.Parallel()
	gone := func(it Item) Item { return Item{JID: it.JID, Subscription: SubscriptionRemove} }
	r2 := romeo.Clone()
	r2.Name = "R2"
	r3 := romeo.Clone()
	r3.Name = "R3"
	b2 := benvoli.Clone()
	b2.Name = "B2"
	tests := []struct {
		name   string
		pushes []Item
		want   []Change
	}{
		{"added then updated is added", []Item{benvoli, b2}, []Change{{Added, b2}}},
		{"added then removed is nothing", []Item{benvoli, gone(benvoli)}, nil},
		{"updated twice is updated", []Item{r2, r3}, []Change{{Updated, r3}}},
		{"updated then removed is removed", []Item{r2, gone(romeo)}, []Change{{Removed, r2}}},
		{"removed then added is updated", []Item{gone(romeo), r3}, []Change{{Updated, r3}}},
		{"order of first change", []Item{r2, benvoli, gone(nurse), r3}, []Change{{Updated, r3}, {Added, benvoli}, {Removed, nurse}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := filled(t)
			w := c.Watch()
			defer w.Stop()
			w.Changes()
			for _, p := range tt.pushes {
				mustPush(t, c, p)
			}
			assert.Equal(t, tt.want, w.Changes())
		})
	}
}

// A watcher that never collects holds one entry per item, however many
// pushes come: its memory is bounded by the roster, not by the pushes.
func TestWatcherBounded(t *testing.T) {
	t.Parallel()
	c := filled(t)
	w := c.Watch()
	defer w.Stop()
	for i := range 10000 {
		mustPush(t, c, benvoli)
		mustPush(t, c, Item{JID: benvoli.JID, Subscription: SubscriptionRemove})
		r := romeo.Clone()
		r.Name = strings.Repeat("x", i%7)
		mustPush(t, c, r)
	}
	w.mu.Lock()
	pending, order := len(w.pending), len(w.order)
	w.mu.Unlock()
	assert.Equal(t, 3, pending)
	assert.LessOrEqual(t, order, 2*pending+17)
	assert.Len(t, w.Changes(), 3)
}

func TestWatcherReplaceDiff(t *testing.T) {
	t.Parallel()
	c := filled(t)
	w := c.Watch()
	defer w.Stop()
	w.Changes()
	r2 := romeo.Clone()
	r2.Groups = []string{"Lovers"}
	require.NoError(t, c.replace(juliet, "v2", []Item{r2, tybalt, benvoli}))
	got := w.Changes()
	assert.ElementsMatch(t, []Change{{Updated, r2}, {Added, benvoli}, {Removed, nurse}}, got)
}

func TestWatcherNextAndStop(t *testing.T) {
	t.Parallel()
	c := NewCache()
	w := c.Watch()
	got := make(chan []Change)
	go func() {
		ch, err := w.Next(context.Background())
		assert.NoError(t, err)
		got <- ch
	}()
	mustPush(t, c, romeo)
	select {
	case ch := <-got:
		assert.Equal(t, []Change{{Added, romeo}}, ch)
	case <-time.After(5 * time.Second):
		t.Fatal("Next did not return")
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := w.Next(ctx)
	assert.ErrorIs(t, err, context.Canceled)

	w.Stop()
	w.Stop()
	_, err = w.Next(context.Background())
	assert.ErrorIs(t, err, ErrStopped)
	_, open := <-w.Ready()
	assert.False(t, open, "Ready is closed")
	mustPush(t, c, nurse) // a stopped watcher is detached
	assert.Empty(t, c.watchers)
}

// A watcher that does not read never holds up pushes: they are applied
// while it sleeps.
func TestWatcherNeverBlocksCache(t *testing.T) {
	t.Parallel()
	c := NewCache()
	w := c.Watch()
	defer w.Stop()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 500 {
				j := jid.MustParse("c" + strings.Repeat("x", g) + string(rune('a'+i%26)) + "@example.com")
				mustPush(t, c, Item{JID: j})
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 26*4, c.Len())
	assert.Len(t, w.Changes(), 26*4)
}

func TestSaveLoad(t *testing.T) {
	t.Parallel()
	c := filled(t)
	var buf bytes.Buffer
	require.NoError(t, c.Save(&buf))
	assert.True(t, strings.HasPrefix(buf.String(), `<roster xmlns="urn:parleyim:roster-cache:0" account="juliet@example.com"><query xmlns="jabber:iq:roster" ver="v1">`), buf.String())

	d := NewCache()
	w := d.Watch()
	defer w.Stop()
	require.NoError(t, d.Load(bytes.NewReader(buf.Bytes())))
	assert.Equal(t, juliet, d.Account())
	assert.Equal(t, "v1", d.Ver())
	assert.Equal(t, c.Items(), d.Items())
	assert.Equal(t, c.Groups(), d.Groups())
	assert.Len(t, w.Changes(), 3, "loading tells the watchers")

	// An empty cache round-trips too.
	buf.Reset()
	require.NoError(t, NewCache().Save(&buf))
	e := filled(t)
	require.NoError(t, e.Load(&buf))
	assert.Zero(t, e.Len())
	assert.True(t, e.Account().IsZero())
	assert.Empty(t, e.Ver())
}

func TestLoadRefuses(t *testing.T) {
	t.Parallel()
	const head = `<roster xmlns='urn:parleyim:roster-cache:0' account='juliet@example.com'>`
	tests := []struct {
		name      string
		data      string
		malformed bool
	}{
		{"empty", ``, false},
		{"not a saved roster", `<query xmlns='jabber:iq:roster'/>`, false},
		{"bad account", `<roster xmlns='urn:parleyim:roster-cache:0' account='a@b@c'><query xmlns='jabber:iq:roster'/></roster>`, false},
		{"no query", head + `</roster>`, false},
		{"another element", head + `<query xmlns='jabber:iq:private'/></roster>`, true},
		{"bad item", head + `<query xmlns='jabber:iq:roster'><item jid='a@b' subscription='x'/></query></roster>`, true},
		{"remove", head + `<query xmlns='jabber:iq:roster'><item jid='a@b' subscription='remove'/></query></roster>`, true},
		{"item twice", head + `<query xmlns='jabber:iq:roster'><item jid='a@b'/><item jid='a@b'/></query></roster>`, true},
		{"truncated", head + `<query xmlns='jabber:iq:roster'><item jid='a@b'/>`, false},
		{"text before", `x` + head + `<query xmlns='jabber:iq:roster'/></roster>`, false},
		{"doctype", `<!DOCTYPE roster>` + head + `<query xmlns='jabber:iq:roster'/></roster>`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := filled(t)
			err := c.Load(strings.NewReader(tt.data))
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "roster: loading"), err.Error())
			if tt.malformed {
				assert.ErrorIs(t, err, ErrMalformed)
			}
			assert.Equal(t, []Item{nurse, romeo, tybalt}, c.Items())
			assert.Equal(t, "v1", c.Ver())
		})
	}
}

func TestOpString(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "added", Added.String())
	assert.Equal(t, "updated", Updated.String())
	assert.Equal(t, "removed", Removed.String())
	assert.Equal(t, "Op(9)", Op(9).String())
}

package presence

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/disco"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

var (
	account = jid.MustParse("juliet@example.com")
	t0      = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
)

func full(s string) jid.JID { return jid.MustParse(s) }

// feed applies presences to a fresh tracker, one second apart, and
// returns it with the events.
func feed(t *testing.T, max int, ps ...*stanza.Presence) (*Tracker, []Event) {
	t.Helper()
	tr := newTracker(max)
	tr.reset(account, t0, nil)
	var events []Event
	for i, p := range ps {
		now := t0.Add(time.Duration(i+1) * time.Second)
		if p.Type == stanza.PresenceUnavailable {
			events = tr.unavailable(p.From, p, now, events)
			continue
		}
		caps, _ := disco.FindCaps(p)
		if e, ok := tr.available(p.From, p, caps, now); ok {
			events = append(events, e)
		}
	}
	return tr, events
}

func avail(from string, show stanza.Show, prio int8) *stanza.Presence {
	return &stanza.Presence{Header: stanza.Header{From: full(from)}, Show: show, Priority: prio}
}

func unavail(from, status string) *stanza.Presence {
	return &stanza.Presence{Header: stanza.Header{From: full(from)}, Type: stanza.PresenceUnavailable, Status: status}
}

// The best resource: highest priority, then the more available show
// (chat, none, away, xa, dnd), then the most recent presence.
func TestBest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ps   []*stanza.Presence
		want string
	}{
		{"one", []*stanza.Presence{avail("romeo@example.net/a", stanza.ShowAway, 0)}, "romeo@example.net/a"},
		{"higher priority wins over show", []*stanza.Presence{
			avail("romeo@example.net/a", stanza.ShowChat, 1),
			avail("romeo@example.net/b", stanza.ShowDND, 5),
		}, "romeo@example.net/b"},
		{"negative priorities: the higher", []*stanza.Presence{
			avail("romeo@example.net/a", stanza.ShowNone, -5),
			avail("romeo@example.net/b", stanza.ShowNone, -1),
		}, "romeo@example.net/b"},
		{"same priority: chat over available", []*stanza.Presence{
			avail("romeo@example.net/a", stanza.ShowNone, 0),
			avail("romeo@example.net/b", stanza.ShowChat, 0),
		}, "romeo@example.net/b"},
		{"same priority: available over away", []*stanza.Presence{
			avail("romeo@example.net/a", stanza.ShowNone, 0),
			avail("romeo@example.net/b", stanza.ShowAway, 0),
		}, "romeo@example.net/a"},
		{"same priority: away over xa over dnd", []*stanza.Presence{
			avail("romeo@example.net/a", stanza.ShowDND, 0),
			avail("romeo@example.net/b", stanza.ShowXA, 0),
			avail("romeo@example.net/c", stanza.ShowAway, 0),
		}, "romeo@example.net/c"},
		{"xa over dnd", []*stanza.Presence{
			avail("romeo@example.net/a", stanza.ShowXA, 0),
			avail("romeo@example.net/b", stanza.ShowDND, 0),
		}, "romeo@example.net/a"},
		{"all equal: the most recent", []*stanza.Presence{
			avail("romeo@example.net/a", stanza.ShowAway, 3),
			avail("romeo@example.net/b", stanza.ShowAway, 3),
		}, "romeo@example.net/b"},
		{"all equal: a presence again makes it the most recent", []*stanza.Presence{
			avail("romeo@example.net/a", stanza.ShowAway, 3),
			avail("romeo@example.net/b", stanza.ShowAway, 3),
			avail("romeo@example.net/a", stanza.ShowAway, 3),
		}, "romeo@example.net/a"},
		{"the best goes offline: the next", []*stanza.Presence{
			avail("romeo@example.net/a", stanza.ShowNone, 1),
			avail("romeo@example.net/b", stanza.ShowNone, 9),
			unavail("romeo@example.net/b", ""),
		}, "romeo@example.net/a"},
		{"priority lowered", []*stanza.Presence{
			avail("romeo@example.net/a", stanza.ShowNone, 1),
			avail("romeo@example.net/b", stanza.ShowNone, 9),
			avail("romeo@example.net/b", stanza.ShowNone, 0),
		}, "romeo@example.net/a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr, _ := feed(t, 0, tt.ps...)
			best, ok := tr.Best(full("romeo@example.net/whatever"))
			require.True(t, ok)
			assert.Equal(t, full(tt.want), best.JID)
			rs := tr.Resources(full("romeo@example.net"))
			require.NotEmpty(t, rs)
			assert.Equal(t, best, rs[0], "Resources lists the best first")
		})
	}
}

func TestTrackerEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ps   []*stanza.Presence
		want []string // op jid show/prio/status
		left []string // resources left, best first
	}{
		{"online, changed, offline with status", []*stanza.Presence{
			avail("romeo@example.net/a", stanza.ShowNone, 0),
			avail("romeo@example.net/a", stanza.ShowAway, 0),
			unavail("romeo@example.net/a", "gone"),
		}, []string{"online romeo@example.net/a /0/", "changed romeo@example.net/a away/0/", "offline romeo@example.net/a away/0/gone"}, nil},
		{"the same presence twice: one event", []*stanza.Presence{
			avail("romeo@example.net/a", stanza.ShowNone, 1),
			avail("romeo@example.net/a", stanza.ShowNone, 1),
		}, []string{"online romeo@example.net/a /1/"}, []string{"romeo@example.net/a"}},
		{"status change is a change", []*stanza.Presence{
			avail("romeo@example.net/a", stanza.ShowNone, 1),
			{Header: stanza.Header{From: full("romeo@example.net/a")}, Priority: 1, Status: "hi"},
		}, []string{"online romeo@example.net/a /1/", "changed romeo@example.net/a /1/hi"}, []string{"romeo@example.net/a"}},
		{"caps change is a change", []*stanza.Presence{
			avail("romeo@example.net/a", stanza.ShowNone, 1),
			{Header: stanza.Header{From: full("romeo@example.net/a")}, Priority: 1, Extensions: []stanza.Payload{disco.Caps{Hash: "sha-1", Node: "n", Ver: "v"}}},
		}, []string{"online romeo@example.net/a /1/", "changed romeo@example.net/a /1/"}, []string{"romeo@example.net/a"}},
		{"unavailable from the bare JID: every resource", []*stanza.Presence{
			avail("romeo@example.net/a", stanza.ShowNone, 0),
			avail("romeo@example.net/b", stanza.ShowNone, 0),
			avail("nurse@example.com/x", stanza.ShowNone, 0),
			unavail("romeo@example.net", ""),
		}, []string{"online romeo@example.net/a /0/", "online romeo@example.net/b /0/", "online nurse@example.com/x /0/",
			"offline romeo@example.net/a /0/", "offline romeo@example.net/b /0/"}, nil},
		{"unavailable from an unknown resource: nothing", []*stanza.Presence{
			avail("romeo@example.net/a", stanza.ShowNone, 0),
			unavail("romeo@example.net/zzz", ""),
		}, []string{"online romeo@example.net/a /0/"}, []string{"romeo@example.net/a"}},
		{"available from the bare JID is a resource of its own", []*stanza.Presence{
			avail("romeo@example.net", stanza.ShowNone, 0),
			avail("romeo@example.net/a", stanza.ShowNone, 0),
		}, []string{"online romeo@example.net /0/", "online romeo@example.net/a /0/"}, []string{"romeo@example.net/a", "romeo@example.net"}},
		{"at most 2 resources: a third is ignored until one leaves", []*stanza.Presence{
			avail("romeo@example.net/a", stanza.ShowNone, 0),
			avail("romeo@example.net/b", stanza.ShowNone, 0),
			avail("romeo@example.net/c", stanza.ShowNone, 0),
			unavail("romeo@example.net/a", ""),
			avail("romeo@example.net/c", stanza.ShowNone, 0),
		}, []string{"online romeo@example.net/a /0/", "online romeo@example.net/b /0/", "offline romeo@example.net/a /0/", "online romeo@example.net/c /0/"},
			[]string{"romeo@example.net/c", "romeo@example.net/b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr, events := feed(t, 2, tt.ps...)
			var got []string
			for _, e := range events {
				r := e.Resource
				got = append(got, fmt.Sprintf("%s %s %s/%d/%s", e.Op, r.JID, r.Show, r.Priority, r.Status))
			}
			assert.Equal(t, tt.want, got)
			var left []string
			for _, r := range tr.Resources(full("romeo@example.net")) {
				left = append(left, r.JID.String())
			}
			assert.Equal(t, tt.left, left)
			n := 0
			for _, j := range tr.Online() {
				n += len(tr.Resources(j))
			}
			assert.Equal(t, n, tr.Len(), "Len counts the resources")
		})
	}
}

// What a Resource reports, and that what is handed out is a copy.
func TestTrackerResource(t *testing.T) {
	t.Parallel()
	caps := disco.Caps{Hash: "sha-1", Node: "https://example.org", Ver: "QgayPKawpkPSDYmwT/WM94uAlu0="}
	p := &stanza.Presence{
		Header: stanza.Header{From: full("romeo@example.net/orchard")},
		Show:   stanza.ShowDND, Status: "busy", AltStatuses: []stanza.Text{{Lang: "fr", Value: "occupé"}}, Priority: -3,
		Extensions: []stanza.Payload{caps},
	}
	tr, events := feed(t, 0, p)
	require.Len(t, events, 1)
	want := Resource{
		JID: p.From, Show: stanza.ShowDND, Status: "busy", AltStatuses: []stanza.Text{{Lang: "fr", Value: "occupé"}},
		Priority: -3, LastSeen: t0.Add(time.Second), Caps: caps,
	}
	got, ok := tr.Resource(p.From)
	require.True(t, ok)
	assert.True(t, want.LastSeen.Equal(got.LastSeen))
	got.LastSeen, events[0].Resource.LastSeen = want.LastSeen, want.LastSeen
	assert.Equal(t, want, got)
	assert.Equal(t, want, events[0].Resource)

	got.AltStatuses[0].Value = "changed"
	p.AltStatuses[0].Value = "changed too"
	again, _ := tr.Resource(p.From)
	assert.Equal(t, "occupé", again.AltStatuses[0].Value, "neither the caller nor the stanza can change the tracker")

	_, ok = tr.Resource(full("romeo@example.net/other"))
	assert.False(t, ok)
	_, ok = tr.Best(full("nobody@example.net"))
	assert.False(t, ok)
	assert.Empty(t, tr.Resources(full("nobody@example.net")))
	assert.Equal(t, []jid.JID{full("romeo@example.net")}, tr.Online())
	assert.Equal(t, account, tr.Account())
}

// A reset empties the tracker and reports everyone offline.
func TestTrackerReset(t *testing.T) {
	t.Parallel()
	tr, _ := feed(t, 0,
		avail("romeo@example.net/a", stanza.ShowNone, 0),
		avail("nurse@example.com/b", stanza.ShowAway, 0),
		&stanza.Presence{Header: stanza.Header{From: full("nurse@example.com/c")}, Extensions: []stanza.Payload{disco.Caps{Hash: "sha-1", Node: "n", Ver: "v"}}},
	)
	require.Equal(t, 3, tr.Len())
	events := tr.reset(full("juliet@example.com/balcony"), t0, nil)
	assert.Len(t, events, 3)
	for _, e := range events {
		assert.Equal(t, Offline, e.Op)
		assert.True(t, t0.Equal(e.Resource.LastSeen))
	}
	assert.Zero(t, tr.Len())
	assert.Empty(t, tr.Online())
	assert.Empty(t, tr.interned)
	assert.Equal(t, account, tr.Account(), "the bare JID")
}

// Resources announcing the same caps share one copy of its strings; the
// table is bounded.
func TestTrackerInternsCaps(t *testing.T) {
	t.Parallel()
	tr := newTracker(0)
	tr.reset(account, t0, nil)
	for i := range maxInterned + 10 {
		ver := fmt.Sprintf("ver%d", i)
		for _, r := range []string{"a", "b"} {
			from := full(fmt.Sprintf("c%d@example.net/%s", i, r))
			caps := disco.Caps{Hash: "sha-1", Node: "n", Ver: string([]byte(ver))} // a string of its own
			_, ok := tr.available(from, &stanza.Presence{Header: stanza.Header{From: from}}, caps, t0)
			require.True(t, ok)
		}
	}
	assert.Len(t, tr.interned, maxInterned)
	a, _ := tr.Resource(full("c7@example.net/a"))
	b, _ := tr.Resource(full("c7@example.net/b"))
	assert.Equal(t, a.Caps, b.Caps)
	assert.Same(t, unsafeStringData(a.Caps.Ver), unsafeStringData(b.Caps.Ver), "one copy")
}

func TestOpString(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "online", Online.String())
	assert.Equal(t, "changed", Changed.String())
	assert.Equal(t, "offline", Offline.String())
	assert.Equal(t, "Op(9)", Op(9).String())
}

package presence

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parleyim/parley/disco"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

// DefaultMaxResources is the number of resources per contact a Tracker
// keeps when Options.MaxResources is not set.
const DefaultMaxResources = 16

// maxInterned bounds the table of distinct caps elements a Tracker shares
// between resources.
const maxInterned = 4096

// Op says what happened to a resource.
type Op uint8

// What an Event reports.
const (
	// Online: a resource that was not online sent available presence.
	Online Op = iota + 1
	// Changed: an online resource changed its show, status, priority or
	// capabilities.
	Changed
	// Offline: an online resource went offline (unavailable presence, a
	// presence error, the contact's removal or an ended subscription, a
	// new stream).
	Offline
)

// String returns "online", "changed" or "offline".
func (o Op) String() string {
	switch o {
	case Online:
		return "online"
	case Changed:
		return "changed"
	case Offline:
		return "offline"
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Resource is what a Tracker knows of one online resource of a contact or
// of the account itself: the last available presence it sent.
//
// JID is the resource's full JID (a bare JID when the presence came from
// one). Show, Status (the status in the stanza's default language),
// AltStatuses (the other languages) and Priority are as sent; Priority is
// in -128..127, 0 when the presence had none (RFC 6121 §4.7.2.3). LastSeen
// is when its latest presence arrived. Caps is the entity-capabilities
// element (XEP-0115) it announced, zero when none; Manager.Info returns
// what it stands for once verified.
type Resource struct {
	JID         jid.JID
	Show        stanza.Show
	Status      string
	AltStatuses []stanza.Text
	Priority    int
	LastSeen    time.Time
	Caps        disco.Caps
}

// Event is a change to a tracked resource: Resource is as it is now, or
// for Offline as it was last seen, with the time it went offline as
// LastSeen and, when the unavailable presence carried a status, that
// status.
type Event struct {
	Op       Op
	Resource Resource
}

// Tracker knows which resources of the account's contacts, and of the
// account itself, are online, and what each last announced. A Manager
// keeps one up to date (Manager.Tracker): with every available and
// unavailable presence of a roster contact or of the account, and emptied
// when a new stream starts (not on a resumed one), since the presence it
// holds belongs to the stream that ended.
//
// It is bounded: presence from JIDs that are not in the roster is not
// tracked (only the account's own resources are tracked without a roster
// item), and a contact has at most Options.MaxResources resources tracked;
// an available presence from one more is ignored until one of them goes
// offline.
//
// What it returns is a copy. A Tracker is safe for concurrent use.
type Tracker struct {
	max int

	mu       sync.RWMutex
	account  jid.JID                  // bare
	contacts map[jid.JID][]trackedRes // by bare JID; never empty slices
	n        int                      // resources tracked
	seq      uint64                   // presences applied, for "most recent"
	interned map[disco.Caps]disco.Caps
}

// trackedRes is one tracked resource, packed.
type trackedRes struct {
	jid      jid.JID // full
	status   string
	alts     []stanza.Text
	caps     disco.Caps
	seen     int64 // Unix nanoseconds
	seq      uint64
	priority int8
	show     uint8 // showRank
}

// newTracker returns an empty tracker that keeps at most max resources
// per contact (DefaultMaxResources for max <= 0).
func newTracker(max int) *Tracker {
	if max <= 0 {
		max = DefaultMaxResources
	}
	return &Tracker{max: max, contacts: make(map[jid.JID][]trackedRes)}
}

// Show ranks from the most available to the least: the order of Best.
var showRanks = [...]stanza.Show{stanza.ShowChat, stanza.ShowNone, stanza.ShowAway, stanza.ShowXA, stanza.ShowDND}

func showRank(s stanza.Show) uint8 {
	for i, v := range showRanks {
		if v == s {
			return uint8(i)
		}
	}
	return 1 // unknown: plain available (the decoder never yields one)
}

// compare orders resources best first: highest priority, then the more
// available show (chat, none, away, xa, dnd), then the most recent
// presence.
func compare(a, b *trackedRes) int {
	if c := cmp.Compare(b.priority, a.priority); c != 0 {
		return c
	}
	if c := cmp.Compare(a.show, b.show); c != 0 {
		return c
	}
	return cmp.Compare(b.seq, a.seq)
}

func (r *trackedRes) resource() Resource {
	return Resource{
		JID:         r.jid,
		Show:        showRanks[r.show],
		Status:      r.status,
		AltStatuses: slices.Clone(r.alts),
		Priority:    int(r.priority),
		LastSeen:    time.Unix(0, r.seen),
		Caps:        r.caps,
	}
}

// Account returns the bare JID of the account whose contacts the tracker
// follows; zero before the first stream.
func (t *Tracker) Account() jid.JID {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.account
}

// Len returns the number of resources tracked.
func (t *Tracker) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.n
}

// Online returns the bare JIDs that have at least one resource online,
// sorted; the account's own bare JID among them when another of its
// resources (or this one, whose presence the server echoes) is online.
func (t *Tracker) Online() []jid.JID {
	t.mu.RLock()
	out := make([]jid.JID, 0, len(t.contacts))
	for j := range t.contacts {
		out = append(out, j)
	}
	t.mu.RUnlock()
	slices.SortFunc(out, func(a, b jid.JID) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// Resources returns the online resources of the contact (or account)
// with JID j (any resourcepart is ignored), best first (see Best); none
// when it is offline or not tracked.
func (t *Tracker) Resources(j jid.JID) []Resource {
	t.mu.RLock()
	rs := slices.Clone(t.contacts[j.Bare()])
	t.mu.RUnlock()
	slices.SortFunc(rs, func(a, b trackedRes) int { return compare(&a, &b) })
	out := make([]Resource, len(rs))
	for i := range rs {
		out[i] = rs[i].resource()
	}
	return out
}

// Best returns the best online resource of the contact (or account) with
// JID j (any resourcepart is ignored): the one with the highest priority;
// among equal priorities the more available show (chat, then plain
// available, away, xa, dnd); among those the one whose latest presence
// arrived last. False when none is online.
func (t *Tracker) Best(j jid.JID) (Resource, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	rs := t.contacts[j.Bare()]
	if len(rs) == 0 {
		return Resource{}, false
	}
	best := &rs[0]
	for i := 1; i < len(rs); i++ {
		if compare(&rs[i], best) < 0 {
			best = &rs[i]
		}
	}
	return best.resource(), true
}

// Resource returns the resource with the full JID full, if it is online.
func (t *Tracker) Resource(full jid.JID) (Resource, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	rs := t.contacts[full.Bare()]
	if i := indexOf(rs, full); i >= 0 {
		return rs[i].resource(), true
	}
	return Resource{}, false
}

func indexOf(rs []trackedRes, full jid.JID) int {
	for i := range rs {
		if rs[i].jid == full {
			return i
		}
	}
	return -1
}

// reset empties the tracker for a new stream of account and appends an
// Offline event for each resource it held to dst.
func (t *Tracker) reset(account jid.JID, now time.Time, dst []Event) []Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, rs := range t.contacts {
		for i := range rs {
			dst = append(dst, offline(&rs[i], now, nil))
		}
	}
	t.account = account.Bare()
	t.contacts = make(map[jid.JID][]trackedRes)
	t.interned = nil
	t.n = 0
	return dst
}

// offline is the Offline event for r at now; p, when not nil, is the
// unavailable presence whose status it carries.
func offline(r *trackedRes, now time.Time, p *stanza.Presence) Event {
	res := r.resource()
	res.LastSeen = now
	if p != nil && (p.Status != "" || len(p.AltStatuses) > 0) {
		res.Status, res.AltStatuses = p.Status, slices.Clone(p.AltStatuses)
	}
	return Event{Op: Offline, Resource: res}
}

// available applies an available presence p from the full (or bare) JID
// from, announcing caps (zero for none), and returns the event it makes:
// none for a presence that changed nothing, or from one resource too many.
func (t *Tracker) available(from jid.JID, p *stanza.Presence, caps disco.Caps, now time.Time) (Event, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq++
	bare := from.Bare()
	rs := t.contacts[bare]
	i := indexOf(rs, from)
	if i < 0 {
		if len(rs) >= t.max {
			return Event{}, false
		}
		// What the tracker keeps is copied out of the stanza, which
		// would otherwise stay alive as long as the entry.
		rs = append(rs, trackedRes{jid: from.Clone()})
		if len(rs) == 1 {
			bare = bare.Clone()
		} else {
			bare = rs[0].jid.Bare()
		}
		t.contacts[bare] = rs
		t.n++
		i = len(rs) - 1
	}
	r := &rs[i]
	isNew := r.seq == 0
	show, prio := showRank(p.Show), p.Priority
	changed := isNew || r.show != show || r.priority != prio || r.status != p.Status ||
		!slices.Equal(r.alts, p.AltStatuses) || r.caps != caps
	if changed {
		r.show, r.priority, r.status = show, prio, strings.Clone(p.Status)
		r.alts = cloneTexts(p.AltStatuses)
		r.caps = t.intern(caps)
	}
	r.seen, r.seq = now.UnixNano(), t.seq
	switch {
	case isNew:
		return Event{Op: Online, Resource: r.resource()}, true
	case changed:
		return Event{Op: Changed, Resource: r.resource()}, true
	}
	return Event{}, false
}

// intern returns the tracker's shared copy of c, so that resources
// announcing the same caps share their strings. The table is bounded; it
// is emptied on reset.
func (t *Tracker) intern(c disco.Caps) disco.Caps {
	if c == (disco.Caps{}) {
		return c
	}
	if v, ok := t.interned[c]; ok {
		return v
	}
	if t.interned == nil {
		t.interned = make(map[disco.Caps]disco.Caps)
	}
	c = disco.Caps{Hash: strings.Clone(c.Hash), Node: strings.Clone(c.Node), Ver: strings.Clone(c.Ver)}
	if len(t.interned) < maxInterned {
		t.interned[c] = c
	}
	return c
}

// cloneTexts returns a copy of ts sharing no memory with them.
func cloneTexts(ts []stanza.Text) []stanza.Text {
	if ts == nil {
		return nil
	}
	out := make([]stanza.Text, len(ts))
	for i, x := range ts {
		out[i] = stanza.Text{Lang: strings.Clone(x.Lang), Value: strings.Clone(x.Value)}
	}
	return out
}

// unavailable applies an unavailable presence (or a presence error) p
// from from: a full JID takes that resource offline, a bare JID every
// resource of the contact. It appends the Offline events to dst.
func (t *Tracker) unavailable(from jid.JID, p *stanza.Presence, now time.Time, dst []Event) []Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	bare := from.Bare()
	rs := t.contacts[bare]
	if from.IsBare() {
		for i := range rs {
			dst = append(dst, offline(&rs[i], now, p))
		}
		t.n -= len(rs)
		delete(t.contacts, bare)
		return dst
	}
	i := indexOf(rs, from)
	if i < 0 {
		return dst
	}
	dst = append(dst, offline(&rs[i], now, p))
	t.n--
	if len(rs) == 1 {
		delete(t.contacts, bare)
		return dst
	}
	rs = slices.Delete(rs, i, i+1)
	t.contacts[bare] = rs
	return dst
}

package roster

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/parleyim/parley/jid"
)

// Op says what happened to a roster item.
type Op uint8

// The changes a Watcher reports.
const (
	Added Op = iota + 1
	Updated
	Removed
)

// String returns "added", "updated" or "removed".
func (o Op) String() string {
	switch o {
	case Added:
		return "added"
	case Updated:
		return "updated"
	case Removed:
		return "removed"
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Change is a change to one roster item: the item as it is now, or for
// Removed as it was.
type Change struct {
	Op   Op
	Item Item
}

// ErrStopped is returned by Watcher.Next once the watcher is stopped.
var ErrStopped = errors.New("roster: watcher stopped")

// Watcher receives the changes to a Cache. Cache.Watch makes one.
//
// The cache never waits for a watcher: a change is recorded in the
// watcher's pending set and the watcher is signalled (Ready), whatever
// the watcher is doing. The pending set keeps one entry per item, the
// latest: changes to an item that the watcher has not collected yet are
// merged (added then updated is added, added then removed is nothing,
// updated then removed is removed, removed then added is updated). So a
// slow watcher loses no item's final state, blocks neither the session's
// reader nor its dispatcher, and holds at most one entry per contact: its
// memory is bounded by the roster's size, not by the rate of pushes. It
// does not see the intermediate states of an item that changed several
// times between two collections.
//
// A Watcher is safe for concurrent use.
type Watcher struct {
	cache *Cache

	mu      sync.Mutex
	pending map[jid.JID]Change
	order   []jid.JID // pending JIDs in order of first change; may hold stale ones
	ready   chan struct{}
	stopped bool
}

// Watch returns a new watcher of c. Its first changes are every item the
// cache holds now, as Added, so a watcher needs no separate snapshot and
// misses nothing between the two. Stop it when done.
func (c *Cache) Watch() *Watcher {
	w := &Watcher{cache: c, pending: make(map[jid.JID]Change), ready: make(chan struct{}, 1)}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, it := range c.items {
		w.add(Change{Op: Added, Item: it})
	}
	c.watchers = append(c.watchers, w)
	return w
}

// notifyLocked tells every watcher about ch; c.mu is held.
func (c *Cache) notifyLocked(ch Change) {
	for _, w := range c.watchers {
		w.add(ch)
	}
}

// add merges ch into the pending set and signals the watcher.
func (w *Watcher) add(ch Change) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	j := ch.Item.JID
	prev, ok := w.pending[j]
	switch {
	case !ok:
		w.pending[j] = ch
		w.order = append(w.order, j)
		if len(w.order) > 2*len(w.pending)+16 {
			w.compact()
		}
	case prev.Op == Added && ch.Op == Removed:
		delete(w.pending, j) // never seen: nothing to report
	case prev.Op == Added:
		w.pending[j] = Change{Op: Added, Item: ch.Item}
	case prev.Op == Removed:
		w.pending[j] = Change{Op: Updated, Item: ch.Item}
	default:
		w.pending[j] = ch
	}
	select {
	case w.ready <- struct{}{}:
	default:
	}
}

// compact drops the stale JIDs from order (those whose changes cancelled
// out, and repeats). w.mu is held.
func (w *Watcher) compact() {
	seen := make(map[jid.JID]bool, len(w.pending))
	out := w.order[:0]
	for _, j := range w.order {
		if _, ok := w.pending[j]; ok && !seen[j] {
			seen[j] = true
			out = append(out, j)
		}
	}
	clear(w.order[len(out):])
	w.order = out
}

// Ready returns a channel that receives a value when changes are pending.
// It is closed when the watcher is stopped. After a receive, collect the
// changes with Changes.
func (w *Watcher) Ready() <-chan struct{} { return w.ready }

// Changes returns the pending changes, in the order their items first
// changed, and clears them; nil when there are none. The items share
// nothing with the cache.
func (w *Watcher) Changes() []Change {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) == 0 {
		w.order = w.order[:0]
		return nil
	}
	out := make([]Change, 0, len(w.pending))
	for _, j := range w.order {
		if ch, ok := w.pending[j]; ok {
			ch.Item = ch.Item.Clone()
			out = append(out, ch)
			delete(w.pending, j)
		}
	}
	clear(w.order)
	w.order = w.order[:0]
	return out
}

// Next waits until changes are pending and returns them (see Changes). It
// returns ctx's error when ctx ends first, and ErrStopped once the watcher
// is stopped.
func (w *Watcher) Next(ctx context.Context) ([]Change, error) {
	for {
		w.mu.Lock()
		stopped := w.stopped
		w.mu.Unlock()
		if stopped {
			return nil, ErrStopped
		}
		if ch := w.Changes(); ch != nil {
			return ch, nil
		}
		select {
		case <-w.ready:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
}

// Stop detaches the watcher from its cache, drops its pending changes and
// closes Ready. Stopping again does nothing.
func (w *Watcher) Stop() {
	c := w.cache
	c.mu.Lock()
	for i, o := range c.watchers {
		if o == w {
			c.watchers = append(c.watchers[:i:i], c.watchers[i+1:]...)
			break
		}
	}
	c.mu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	w.stopped = true
	w.pending, w.order = nil, nil
	select { // drop a signal for changes that are gone
	case <-w.ready:
	default:
	}
	close(w.ready)
}

package roster

import (
	"slices"
	"strings"
	"sync"

	"github.com/parleyim/parley/jid"
)

// Cache is the client's copy of a roster: its items, its version and the
// account it belongs to. Handle makes one and keeps it up to date (the
// fetch on each new stream, then every accepted push, in order); Fetch
// fills one directly.
//
// What it hands out is a copy: Items, Item and Group return items that
// share nothing with the cache. Watch reports each change to watchers
// without ever waiting for them. Save and Load keep it across restarts, so
// that the next fetch sends its version and the server sends only what
// changed (RFC 6121 §2.6).
//
// Items are normalised as they are stored: empty group names and repeated
// ones are dropped, the first of each kept in order.
//
// A Cache is safe for concurrent use. The zero value is not usable; call
// NewCache.
type Cache struct {
	mu      sync.RWMutex
	account jid.JID
	ver     string
	items   map[jid.JID]Item // never modified in place: replaced whole
	groups  map[string]map[jid.JID]struct{}

	watchers []*Watcher

	// Pushes applied while a fetch is in flight, re-applied over its
	// result so that the result (older than they are) cannot undo them.
	fetching int
	seq      uint64 // pushes applied so far
	log      []loggedPush
}

type loggedPush struct {
	seq  uint64
	item Item
	ver  string
}

// NewCache returns an empty cache with no version and no account.
func NewCache() *Cache {
	return &Cache{items: make(map[jid.JID]Item), groups: make(map[string]map[jid.JID]struct{})}
}

// Account returns the bare JID of the account whose roster the cache
// holds; the zero JID before the first fetch. A fetch for another
// account ignores the cache's version and replaces its items.
func (c *Cache) Account() jid.JID {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.account
}

// Ver returns the roster version (RFC 6121 §2.6) the items correspond
// to, "" for none.
func (c *Cache) Ver() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.ver
}

// Len returns the number of items.
func (c *Cache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.items)
}

// Item returns a copy of the item for j.
func (c *Cache) Item(j jid.JID) (Item, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	it, ok := c.items[j]
	return it.Clone(), ok
}

// Items returns a copy of every item, sorted by JID.
func (c *Cache) Items() []Item {
	c.mu.RLock()
	out := make([]Item, 0, len(c.items))
	for _, it := range c.items {
		out = append(out, it.Clone())
	}
	c.mu.RUnlock()
	sortItems(out)
	return out
}

// Groups returns the names of the groups that hold at least one item,
// sorted.
func (c *Cache) Groups() []string {
	c.mu.RLock()
	out := make([]string, 0, len(c.groups))
	for g := range c.groups {
		out = append(out, g)
	}
	c.mu.RUnlock()
	slices.Sort(out)
	return out
}

// Group returns a copy of the items in the group named name, sorted by
// JID; none for a group that holds no item.
func (c *Cache) Group(name string) []Item {
	c.mu.RLock()
	members := c.groups[name]
	out := make([]Item, 0, len(members))
	for j := range members {
		out = append(out, c.items[j].Clone())
	}
	c.mu.RUnlock()
	sortItems(out)
	return out
}

func sortItems(items []Item) {
	slices.SortFunc(items, func(a, b Item) int { return strings.Compare(a.JID.String(), b.JID.String()) })
}

// snapshot returns the account, version and items for Save; the items
// share their groups with the cache and must not be modified.
func (c *Cache) snapshot() (jid.JID, string, []Item) {
	c.mu.RLock()
	out := make([]Item, 0, len(c.items))
	for _, it := range c.items {
		out = append(out, it)
	}
	account, ver := c.account, c.ver
	c.mu.RUnlock()
	sortItems(out)
	return account, ver, out
}

// checkRoster checks the items of a whole roster (a fetch result, a saved
// cache) and returns them normalised, by JID. The cache is not touched.
func checkRoster(items []Item) (map[jid.JID]Item, error) {
	m := make(map[jid.JID]Item, len(items))
	for _, it := range items {
		if it.JID.IsZero() {
			return nil, malformed("item without jid")
		}
		if it.Subscription > SubscriptionBoth {
			return nil, malformed("item %s with subscription %s in a roster", it.JID, it.Subscription)
		}
		if _, dup := m[it.JID]; dup {
			return nil, malformed("item %s twice in a roster", it.JID)
		}
		m[it.JID] = normalize(it)
	}
	return m, nil
}

// checkPush checks the one item of a push.
func checkPush(it Item) error {
	if it.JID.IsZero() {
		return malformed("item without jid")
	}
	if it.Subscription > SubscriptionRemove {
		return malformed("item %s with subscription %d", it.JID, it.Subscription)
	}
	return nil
}

// normalize returns it with its own copy of its groups, empty and
// repeated names dropped.
func normalize(it Item) Item {
	groups := make([]string, 0, len(it.Groups))
	for _, g := range it.Groups {
		if g != "" && !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
	}
	if len(groups) == 0 {
		groups = nil
	}
	it.Groups = groups
	return it
}

// replace makes the cache hold account's roster items at version ver and
// tells the watchers what changed. On error the cache is left as it was.
func (c *Cache) replace(account jid.JID, ver string, items []Item) error {
	m, err := checkRoster(items)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.replaceLocked(account, ver, m)
	return nil
}

func (c *Cache) replaceLocked(account jid.JID, ver string, m map[jid.JID]Item) {
	if len(c.watchers) > 0 {
		for j, old := range c.items {
			if _, ok := m[j]; !ok {
				c.notifyLocked(Change{Op: Removed, Item: old})
			}
		}
		for j, it := range m {
			if old, ok := c.items[j]; !ok {
				c.notifyLocked(Change{Op: Added, Item: it})
			} else if !old.Equal(it) {
				c.notifyLocked(Change{Op: Updated, Item: it})
			}
		}
	}
	c.account, c.ver, c.items = account, ver, m
	c.groups = make(map[string]map[jid.JID]struct{})
	for j, it := range m {
		c.index(j, it.Groups)
	}
}

// push applies one pushed item (SubscriptionRemove removes it) and
// stores ver, the push's version ("" when it has none: the cache then
// has none either, since it no longer matches the one it had).
//
// It returns the item as stored (for a removal, as pushed).
func (c *Cache) push(it Item, ver string) (Item, error) {
	if err := checkPush(it); err != nil {
		return Item{}, err
	}
	it = normalize(it)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.applyLocked(it, ver)
	c.seq++
	if c.fetching > 0 {
		c.log = append(c.log, loggedPush{seq: c.seq, item: it, ver: ver})
	}
	return it, nil
}

func (c *Cache) applyLocked(it Item, ver string) {
	c.ver = ver
	old, had := c.items[it.JID]
	if it.Subscription == SubscriptionRemove {
		if had {
			delete(c.items, it.JID)
			c.unindex(it.JID, old.Groups)
			c.notifyLocked(Change{Op: Removed, Item: old})
		}
		return
	}
	c.items[it.JID] = it
	if had {
		c.unindex(it.JID, old.Groups)
	}
	c.index(it.JID, it.Groups)
	switch {
	case !had:
		c.notifyLocked(Change{Op: Added, Item: it})
	case !old.Equal(it):
		c.notifyLocked(Change{Op: Updated, Item: it})
	}
}

func (c *Cache) index(j jid.JID, groups []string) {
	for _, g := range groups {
		members := c.groups[g]
		if members == nil {
			members = make(map[jid.JID]struct{})
			c.groups[g] = members
		}
		members[j] = struct{}{}
	}
}

func (c *Cache) unindex(j jid.JID, groups []string) {
	for _, g := range groups {
		delete(c.groups[g], j)
		if len(c.groups[g]) == 0 {
			delete(c.groups, g)
		}
	}
}

// beginFetch registers a fetch in flight and returns the account and
// version the cache holds and a mark for endFetch.
func (c *Cache) beginFetch() (account jid.JID, ver string, mark uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fetching++
	return c.account, c.ver, c.seq
}

// fetched applies the result of the fetch begun at mark. With a roster
// (res not nil) it replaces the cache's items and version and re-applies
// the pushes applied since mark, which are newer than the result; for an
// unchanged roster (res nil) it only binds the cache to account. A result
// that fails the checks leaves the cache as it was.
func (c *Cache) fetched(mark uint64, account jid.JID, res *Query) error {
	if res == nil {
		c.mu.Lock()
		c.account = account
		c.mu.Unlock()
		return nil
	}
	m, err := checkRoster(res.Items)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.replaceLocked(account, res.Ver, m)
	for _, p := range c.log {
		if p.seq > mark {
			c.applyLocked(p.item, p.ver)
		}
	}
	return nil
}

// endFetch ends a fetch that beginFetch registered, applied or not.
func (c *Cache) endFetch() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fetching--
	if c.fetching == 0 {
		c.log = nil
	}
}

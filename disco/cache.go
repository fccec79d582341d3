package disco

import (
	"container/list"
	"context"
	"fmt"
	"sync"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
)

// DefaultCacheSize is the number of verification strings a Cache keeps
// when NewCache is given no size.
const DefaultCacheSize = 1024

// Cache maps XEP-0115 verification strings to the disco#info they stand
// for. It trusts a verification string only after checking it: Lookup asks
// the announcing entity for its disco#info at node#ver, recomputes the
// verification string and keeps the answer only if the two are equal, so a
// lying entity cannot poison what others with the same ver are believed to
// support (XEP-0115 §5.4).
//
// The cache is bounded: past its size the least recently used entry goes.
// Concurrent lookups of the same unknown ver share one query. A Cache is
// safe for concurrent use; like the Mux, it may outlive a session.
type Cache struct {
	max int

	mu       sync.Mutex
	entries  map[cacheKey]*list.Element
	lru      *list.List // of *cacheEntry, most recent first
	inflight map[cacheKey]chan struct{}
}

type cacheKey struct{ hash, ver string }

type cacheEntry struct {
	key  cacheKey
	info *Info
}

// NewCache returns an empty cache that keeps at most size entries;
// size <= 0 means DefaultCacheSize.
func NewCache(size int) *Cache {
	if size <= 0 {
		size = DefaultCacheSize
	}
	return &Cache{
		max:      size,
		entries:  make(map[cacheKey]*list.Element),
		lru:      list.New(),
		inflight: make(map[cacheKey]chan struct{}),
	}
}

// Len returns the number of verified entries.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// Get returns a copy of the verified disco#info for a hash and ver, if the
// cache has it.
func (c *Cache) Get(hash, ver string) (*Info, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	info, ok := c.getLocked(cacheKey{hash, ver})
	return info.Clone(), ok
}

func (c *Cache) getLocked(k cacheKey) (*Info, bool) {
	el, ok := c.entries[k]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(el)
	return el.Value.(*cacheEntry).info, true
}

// Lookup returns the disco#info that caps stands for, announced by from
// (the full JID whose presence carried caps). From the cache if the ver is
// known; otherwise it queries from at caps.NodeVer() over s, checks the
// answer against caps.Ver and caches it. The error wraps ErrVerMismatch
// when the answer does not match (nothing is cached then), ErrIllFormed when
// it breaks XEP-0115 §5.4, ErrUnsupportedHash for a hash this package does
// not compute (query the entity with GetInfo instead), or the query's own
// error.
//
// The Info returned is the caller's to modify; its Node is "".
func (c *Cache) Lookup(ctx context.Context, s session.Sender, from jid.JID, caps Caps) (*Info, error) {
	if _, ok := newHash(caps.Hash); !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedHash, caps.Hash)
	}
	k := cacheKey{caps.Hash, caps.Ver}
	for {
		c.mu.Lock()
		if info, ok := c.getLocked(k); ok {
			c.mu.Unlock()
			return info.Clone(), nil
		}
		wait, busy := c.inflight[k]
		if !busy {
			done := make(chan struct{})
			c.inflight[k] = done
			c.mu.Unlock()
			info, err := c.fetch(ctx, s, from, caps)
			c.mu.Lock()
			delete(c.inflight, k)
			if err == nil {
				c.addLocked(k, info)
			}
			c.mu.Unlock()
			close(done)
			if err != nil {
				return nil, err
			}
			return info.Clone(), nil
		}
		c.mu.Unlock()
		// Another lookup is asking its entity. If that one lied or
		// failed, this one asks its own: loop.
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, fmt.Errorf("disco: caps of %s: %w", from, ctx.Err())
		}
	}
}

// fetch asks from for the disco#info of caps and verifies it.
func (c *Cache) fetch(ctx context.Context, s session.Sender, from jid.JID, caps Caps) (*Info, error) {
	info, err := GetInfo(ctx, s, from, caps.NodeVer())
	if err != nil {
		return nil, err
	}
	if err := Verify(info, caps); err != nil {
		return nil, fmt.Errorf("disco: caps of %s: %w", from, err)
	}
	info.Node = ""
	return info, nil
}

// Verify checks that info hashes to caps.Ver with caps.Hash. The error
// wraps ErrVerMismatch, ErrIllFormed or ErrUnsupportedHash.
func Verify(info *Info, caps Caps) error {
	ver, err := Ver(info, caps.Hash)
	if err != nil {
		return err
	}
	if ver != caps.Ver {
		return fmt.Errorf("%w: announced %q, computed %q", ErrVerMismatch, caps.Ver, ver)
	}
	return nil
}

// Add stores info under a hash and ver after checking that it matches. It
// is for a cache filled from storage; Lookup adds what it verifies itself.
func (c *Cache) Add(info *Info, hash, ver string) error {
	if err := Verify(info, Caps{Hash: hash, Ver: ver}); err != nil {
		return err
	}
	cp := info.Clone()
	cp.Node = ""
	c.mu.Lock()
	c.addLocked(cacheKey{hash, ver}, cp)
	c.mu.Unlock()
	return nil
}

func (c *Cache) addLocked(k cacheKey, info *Info) {
	if el, ok := c.entries[k]; ok {
		el.Value.(*cacheEntry).info = info
		c.lru.MoveToFront(el)
		return
	}
	c.entries[k] = c.lru.PushFront(&cacheEntry{key: k, info: info})
	for c.lru.Len() > c.max {
		last := c.lru.Back()
		c.lru.Remove(last)
		delete(c.entries, last.Value.(*cacheEntry).key)
	}
}

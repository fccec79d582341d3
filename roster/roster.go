package roster

import (
	"context"
	"fmt"
	"sync"

	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// Roster is the roster of the account a Mux's sessions log in to: a Cache
// kept up to date by a fetch on each new stream and by the server's
// pushes, and the application's callbacks. Handle makes it.
//
// A Roster is safe for concurrent use; callbacks may be added while
// sessions run, and apply to later pushes and fetches.
type Roster struct {
	cache *Cache

	mu     sync.RWMutex
	pushFs []func(ctx context.Context, s *session.Session, it Item)
	fetchF []func(ctx context.Context, s *session.Session, err error)
	limit  int
}

// Handle registers the roster on mux and returns it, with an empty Cache
// (load a saved one into Cache before the first stream):
//
//   - a start hook fetches the roster into the cache on each new stream,
//     with the cache's version (see Fetch). It runs before the start
//     hooks registered after Handle, so register the roster before
//     anything that sends initial presence (RFC 6121 §2.2). On a resumed
//     stream (stream management) nothing is fetched: the server kept the
//     session's state, pushes included.
//   - an iq set handler for jabber:iq:roster takes the server's pushes
//     (RFC 6121 §2.1.6). A push is accepted only from the account itself
//     (no from, or the account's bare JID: session.TrustedPush); it must
//     hold exactly one valid item (bad-request otherwise). An accepted
//     push is applied to the cache, its version kept, handed to the
//     HandlePush callbacks and answered with a result. A push from anyone
//     else (another user, the server's domain, a resource of the account,
//     this session's own full JID) is answered service-unavailable and
//     neither applied nor delivered.
//
// Handle panics if a roster handler is already registered on mux (the
// Mux's rule for iq handlers), so that no second registration can take
// the pushes away from the first cache.
func Handle(mux *session.Mux) *Roster {
	r := &Roster{cache: NewCache(), limit: DefaultReplyLimit}
	mux.HandleIQ(stanza.IQSet, queryName, r)
	mux.HandleStart(r.start)
	return r
}

// Cache returns the roster's cache.
func (r *Roster) Cache() *Cache { return r.cache }

// HandlePush registers f to be called with the item of each accepted push
// (SubscriptionRemove for a removed item), after the cache has applied it
// and before the push is answered. f runs on the session's dispatcher,
// like a handler: it holds up the stanzas after the push, so it must not
// block for long (a Watcher never blocks anything).
func (r *Roster) HandlePush(f func(ctx context.Context, s *session.Session, it Item)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pushFs = append(r.pushFs, f)
}

// HandleFetch registers f to be called after the fetch of each new stream,
// with its error (nil when the cache is up to date): the start hook has
// nowhere else to report it. f runs in the start hook, before the hooks
// registered after Handle.
func (r *Roster) HandleFetch(f func(ctx context.Context, s *session.Session, err error)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fetchF = append(r.fetchF, f)
}

// SetReplyLimit sets the size, in bytes, up to which the roster's fetches
// accept a roster result (DefaultReplyLimit unless set; zero or less
// restores it). The allowance goes to the one reply to the fetch and only
// from the account's server, never to any other element.
func (r *Roster) SetReplyLimit(maxBytes int) {
	if maxBytes <= 0 {
		maxBytes = DefaultReplyLimit
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.limit = maxBytes
}

// Fetch fetches the roster into the roster's cache now, as the start hook
// does (see the package-level Fetch), with the roster's reply limit.
func (r *Roster) Fetch(ctx context.Context, s session.Sender) error {
	r.mu.RLock()
	limit := r.limit
	r.mu.RUnlock()
	return fetch(ctx, s, &stanza.IQ{}, r.cache, limit)
}

func (r *Roster) start(ctx context.Context, s *session.Session, resumed bool) {
	if resumed {
		return
	}
	err := r.Fetch(ctx, s)
	r.mu.RLock()
	fs := r.fetchF
	r.mu.RUnlock()
	for _, f := range fs {
		f(ctx, s, err)
	}
}

// HandleIQ takes a roster push. It implements session.IQHandler; Handle
// registers it.
func (r *Roster) HandleIQ(ctx context.Context, s *session.Session, iq *stanza.IQ) (stanza.Payload, error) {
	if !session.TrustedPush(s.Addr(), iq.From) {
		return nil, stanza.NewError(stanza.ServiceUnavailable, "")
	}
	raw, _ := iq.Raw()
	q, err := ParseQuery(raw)
	if err != nil {
		return nil, stanza.NewError(stanza.BadRequest, err.Error())
	}
	if len(q.Items) != 1 {
		return nil, stanza.NewError(stanza.BadRequest, fmt.Sprintf("roster push with %d items, want 1", len(q.Items)))
	}
	it, err := r.cache.push(q.Items[0], q.Ver)
	if err != nil {
		return nil, stanza.NewError(stanza.BadRequest, err.Error())
	}
	r.mu.RLock()
	fs := r.pushFs
	r.mu.RUnlock()
	for _, f := range fs {
		f(ctx, s, it.Clone())
	}
	return nil, nil
}

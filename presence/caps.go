package presence

import (
	"context"
	"sync"
	"time"

	"github.com/parleyim/parley/disco"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
)

// DefaultCapsLookups is how many caps lookups run at once on a stream when
// Options.CapsLookups is not set.
const DefaultCapsLookups = 4

// Bounds on caps resolution: lookups waiting on a stream (more are
// dropped: the next presence with those caps asks again), and the time
// one lookup may take.
const (
	maxQueuedLookups = 1024
	lookupTimeout    = 30 * time.Second
)

// stream is what the Manager keeps for one stream: the caps lookups it
// runs. Lookups run on goroutines of their own, at most Manager.lookups
// at a time, started when there is work and gone when there is none, so
// that a login with many contacts announcing unknown caps does not hold
// up the handlers behind disco round trips. The end hook stops them and
// waits for them: none outlives the stream.
type stream struct {
	s      *session.Session
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	queue   []lookup
	queued  map[disco.Caps]struct{}
	running int
	stopped bool
	wg      sync.WaitGroup // the lookup goroutines
}

type lookup struct {
	from jid.JID
	caps disco.Caps
}

func newStream(s *session.Session) *stream {
	ctx, cancel := context.WithCancel(context.Background())
	return &stream{s: s, ctx: ctx, cancel: cancel}
}

// resolve makes sure caps, announced by from, gets looked up unless the
// cache knows it already or a lookup of it is waiting.
func (st *stream) resolve(m *Manager, from jid.JID, caps disco.Caps) {
	if _, ok := m.caps.Get(caps.Hash, caps.Ver); ok {
		return
	}
	key := disco.Caps{Hash: caps.Hash, Ver: caps.Ver}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.stopped {
		return
	}
	if _, ok := st.queued[key]; ok {
		return
	}
	if len(st.queue) >= maxQueuedLookups {
		m.log.Info("presence: too many caps lookups waiting; dropped one", "from", from)
		return
	}
	if st.queued == nil {
		st.queued = make(map[disco.Caps]struct{})
	}
	st.queued[key] = struct{}{}
	st.queue = append(st.queue, lookup{from: from, caps: caps})
	if st.running < m.lookups {
		st.running++
		st.wg.Add(1)
		go st.work(m)
	}
}

// work runs lookups until none is waiting.
func (st *stream) work(m *Manager) {
	defer st.wg.Done()
	for {
		st.mu.Lock()
		if len(st.queue) == 0 || st.stopped {
			st.running--
			st.mu.Unlock()
			return
		}
		l := st.queue[0]
		st.queue[0] = lookup{}
		st.queue = st.queue[1:]
		delete(st.queued, disco.Caps{Hash: l.caps.Hash, Ver: l.caps.Ver})
		st.mu.Unlock()

		ctx, cancel := context.WithTimeout(st.ctx, lookupTimeout)
		_, err := m.caps.Lookup(ctx, st.s, l.from, l.caps)
		cancel()
		if err != nil && st.ctx.Err() == nil {
			m.log.Info("presence: caps not resolved", "from", l.from, "ver", l.caps.Ver, "err", err)
		}
	}
}

// stop ends the stream's lookups and waits for their goroutines.
func (st *stream) stop() {
	st.mu.Lock()
	st.stopped = true
	st.queue, st.queued = nil, nil
	st.mu.Unlock()
	st.cancel()
	st.wg.Wait()
}

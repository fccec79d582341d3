package presence

import (
	"context"
	"encoding/xml"
	"strings"
	"sync"
	"time"

	"github.com/parleyim/parley/disco"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
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

// Bounds on the caps elements a Manager remembers parsing: how many, and
// how long each may be (a real one is under 200 bytes).
const (
	maxParsedCaps    = 1024
	maxParsedCapsLen = 512
)

var capsElement = xml.Name{Space: disco.NSCaps, Local: "c"}

// parsedCaps remembers what caps elements, byte for byte, stand for, so
// that the presence handler does not run an XML decoder over the same few
// elements for every presence: contacts announce a handful of distinct
// ones, and parsing one costs most of what the handler does.
type parsedCaps struct {
	mu   sync.Mutex
	buf  []byte // the element being looked up
	seen map[string]capsResult
}

type capsResult struct {
	caps disco.Caps
	ok   bool
}

// find returns the caps element p announces, as disco.FindCaps does.
func (pc *parsedCaps) find(p *stanza.Presence) (disco.Caps, bool) {
	r, ok := p.Extension(capsElement)
	if !ok {
		return disco.FindCaps(p) // none, or a disco.Caps value (a presence built here)
	}
	pc.mu.Lock()
	pc.buf, _ = r.AppendXML(pc.buf[:0])
	res, ok := pc.seen[string(pc.buf)]
	pc.mu.Unlock()
	if ok {
		return res.caps, res.ok
	}
	c, err := disco.ParseCaps(r)
	// Kept: copies, not parts of the stanza's bytes.
	c = disco.Caps{Hash: strings.Clone(c.Hash), Node: strings.Clone(c.Node), Ver: strings.Clone(c.Ver)}
	res = capsResult{caps: c, ok: err == nil}
	key := r.String()
	if len(key) > maxParsedCapsLen {
		return res.caps, res.ok
	}
	pc.mu.Lock()
	if pc.seen == nil || len(pc.seen) >= maxParsedCaps {
		pc.seen = make(map[string]capsResult) // full: start over
	}
	pc.seen[strings.Clone(key)] = res
	pc.mu.Unlock()
	return res.caps, res.ok
}

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

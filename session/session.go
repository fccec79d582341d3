// Package session implements a client stream of RFC 6120: it connects,
// negotiates TLS, SASL and resource binding (RFC 6120 §3–7, and the RFC
// 3921 §3 session iq where a server still requires it), and then serves
// the established stream: one reader goroutine, handlers registered on a
// Mux run one at a time in arrival order, and requests matched to their
// replies. A session from Dial resumes a broken connection by itself
// when the server offers stream management (XEP-0198); Client goes
// further and dials a new session whenever a stream ends for a reason
// that can pass, so an application holds one Client for its whole life.
// DialPrelogin and NewPrelogin stop after TLS, before authentication, for
// in-band registration (package register).
package session

import (
	"context"
	"crypto/tls"
	"encoding/xml"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyim/parley/internal/wire"
	"github.com/parleyim/parley/jid"
)

// Session is one negotiated client stream. Its methods are safe to call
// from several goroutines, and from handlers.
//
// After Dial returns, one goroutine at a time reads the stream. An idle
// session holds no read buffer and no XML parser, and its reader waits
// on the smallest goroutine stack the runtime gives. Replies to SendIQ
// are matched by the reader itself and never wait behind handlers.
// Everything else is queued and handed to the Mux's handlers one at a time
// in arrival order by a dispatcher goroutine that runs while there is
// work. The queue is bounded in bytes (Config.QueueBytes): when it is full
// the reader stops reading, so the server sees TCP back-pressure — except
// while a SendIQ awaits its reply, when it goes on reading up to
// Config.MaxQueueBytes (four times the bound by default) so that a handler
// may call SendIQ; past that the session ends with ErrHandlerBlocked.
type Session struct {
	addr    jid.JID
	stream  *featuresElement // the established stream's features, and how it was negotiated
	cfg     *Config
	mux     *Mux
	log     *slog.Logger
	cur     atomic.Pointer[current]    // the connection: replaced when a resumed stream takes over (resume.go)
	gen     atomic.Uint64              // the number of the current connection, for drop
	rd      *wire.Reader               // the reader goroutine's alone (read.go, idle.go)
	allowFn func(xml.StartElement) int // allowLarge, made once; the reader goroutine's
	// lang is the stream's default xml:lang (the server's header), which
	// stanzas without their own inherit (RFC 6120 §4.7.4).
	lang string
	// early are the stanzas negotiation read after binding (early.go),
	// handed on before the reader starts.
	early []earlyStanza

	ctx    context.Context // handlers' context; cancelled when the stream ends
	cancel context.CancelFunc

	received atomic.Uint64 // stanzas the reader has handled (read.go)
	write    writeSlot     // who may write, and whether our stream is closed (send.go)
	pending  pendingTable  // SendIQ calls awaiting replies (pending.go)
	queue    dispatchQueue // stanzas on their way to the handlers (queue.go)
	alive    keepalive     // silence on either side (keepalive.go)
	sm       streamMgmt    // stream management (sm.go)

	// The reader's, for the handlers it runs itself (readInline): the
	// inlineBudget watch and the handler lists.
	inline   inlineWatch
	inlineHs handlerScratch

	// Resumption (resume.go): how to dial again (nil for a session made
	// with New), whether the connection started with TLS, and how many
	// times the stream was resumed.
	redial    *dialer
	directTLS bool
	resumed   atomic.Int32

	// The end (close.go). mu guards ended, err, alive.timer, bg.Add, and
	// the connection's loss: lost (why, as drop saw it) and downCh (open
	// while the session is between connections).
	mu         sync.Mutex
	bg         sync.WaitGroup // background goroutines: dispatcher, keepalive checks, replies
	err        error
	lost       error
	downCh     chan struct{}
	done       chan struct{}
	readerDone chan struct{}
	ended      bool
	closing    atomic.Bool
	closeSent  atomic.Bool // our close tag is out
	available  atomic.Bool // broadcast available presence was sent: Close sends unavailable
}

func newSession(n *negotiator, addr jid.JID, stream *featuresElement) *Session {
	s := &Session{
		addr:       addr,
		stream:     stream,
		cfg:        n.cfg,
		mux:        n.cfg.Mux,
		log:        n.cfg.logger().With("jid", addr.String()),
		rd:         n.rd,
		early:      n.early,
		lang:       n.streamLang,
		write:      writeSlot{sem: make(chan struct{}, 1)},
		pending:    pendingTable{m: make(map[string]*pendingIQ)},
		done:       make(chan struct{}),
		readerDone: make(chan struct{}),
	}
	s.cur.Store(&current{tr: n.tr})
	if s.mux == nil {
		s.mux = emptyMux
	}
	s.queue.cond.L = &s.queue.mu
	s.ctx, s.cancel = context.WithCancel(context.WithValue(context.Background(), dispatchKey{}, s))
	now := time.Now().UnixNano()
	s.alive.lastReceived.Store(now)
	s.alive.lastSent.Store(now)
	return s
}

// start launches the reader (and the keepalive timer) once negotiation is
// over.
func (s *Session) start() {
	s.deliverEarly()
	s.startKeepalive()
	go s.readLoop(false)
}

// Addr returns the full JID the server bound for this session.
func (s *Session) Addr() jid.JID { return s.addr }

// Features returns what the server offered for the established stream
// (roster versioning, pre-approval, stream management …). The returned
// value must not be modified.
func (s *Session) Features() *Features { return &s.stream.Features }

// Negotiation returns how the stream was negotiated: what the server
// offered before authentication and the SASL mechanism used. Its slices
// must not be modified.
func (s *Session) Negotiation() Negotiation { return s.stream.Negotiation }

// TLS returns the TLS connection state, or nil if the stream is not
// encrypted.
func (s *Session) TLS() *tls.ConnectionState { return s.conn().TLS() }

// Done returns a channel that is closed when the stream has ended.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err returns nil while the stream is up, ErrClosed after Close, and
// otherwise why the stream ended (a *stanza.StreamError from or to the
// server, a network error, ErrKeepaliveTimeout, ErrHandlerBlocked …).
func (s *Session) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// Stats are counters of a session.
type Stats struct {
	// Received counts the stanzas the reader has handled, invalid ones
	// that were answered or dropped included: it is counted in one place,
	// the reader, and is what stream management (XEP-0198) acknowledges
	// with its h value.
	Received uint64
	// The rest count only under stream management: Sent the stanzas
	// sent and Acked those the server acknowledged (both mod 2^32, as
	// XEP-0198 counts), Unacked (and UnackedBytes) those it has not yet,
	// and Resumed the times a broken connection was resumed.
	Sent, Acked  uint32
	Unacked      int
	UnackedBytes int
	Resumed      int
}

// Stats returns the session's counters.
func (s *Session) Stats() Stats {
	st := Stats{Received: s.received.Load(), Resumed: int(s.resumed.Load())}
	if s.sm.on {
		s.sm.mu.Lock()
		st.Sent, st.Acked, st.Unacked, st.UnackedBytes = s.sm.sent, s.sm.acked, len(s.sm.unacked), s.sm.bytes
		s.sm.mu.Unlock()
	}
	return st
}

// goBackground runs f on a goroutine that Close waits for, unless the
// session has ended.
func (s *Session) goBackground(f func()) bool {
	if !s.addBackground() {
		return false
	}
	go func() {
		defer s.bg.Done()
		f()
	}()
	return true
}

// addBackground counts a background goroutine about to start in bg,
// unless the session has ended; the goroutine calls bg.Done.
func (s *Session) addBackground() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return false
	}
	s.bg.Add(1)
	return true
}

// dispatchKey marks the context handlers get, so that Close called from
// a handler does not wait for the dispatcher that runs it.
type dispatchKey struct{}

// emptyMux serves sessions configured without a Mux: nothing can be
// registered on it from outside, so one is shared.
var emptyMux = NewMux()

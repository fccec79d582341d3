// Package session implements a client stream of RFC 6120: it connects,
// negotiates TLS, SASL and resource binding (RFC 6120 §3–7, and the RFC
// 3921 §3 session iq where a server still requires it), and then serves
// the established stream: one reader goroutine, handlers registered on a
// Mux run one at a time in arrival order, and requests matched to their
// replies.
package session

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyim/parley/internal/wire"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

// ErrClosed is what every Send and SendIQ returns (wrapped, together with
// the cause) once the stream has ended, and what Err returns after Close.
var ErrClosed = errors.New("session: closed")

// Session is one negotiated client stream. Its methods are safe to call
// from several goroutines, and from handlers.
//
// After Dial returns, one goroutine at a time reads the stream; an idle
// session's reader holds no buffer and no parser, and waits on the
// smallest goroutine stack (see readLoop). Replies to SendIQ are matched
// by the reader itself and never wait behind handlers.
// Everything else is queued and handed to the Mux's handlers one at a time
// in arrival order by a dispatcher goroutine that runs while there is
// work. The queue is bounded in bytes (Config.QueueBytes): when it is full
// the reader stops reading, so the server sees TCP back-pressure — except
// while a SendIQ awaits its reply, when it goes on reading up to
// Config.MaxQueueBytes (four times the bound by default) so that a handler
// may call SendIQ; past that the session ends with ErrHandlerBlocked.
type Session struct {
	addr     jid.JID
	features *Features
	cfg      *Config
	mux      *Mux
	log      *slog.Logger
	tr       transport
	rd       *wire.Reader
	// lang is the stream's default xml:lang (the server's header), which
	// stanzas without their own inherit (RFC 6120 §4.7.4).
	lang string

	ctx    context.Context // handlers' context; cancelled when the stream ends
	cancel context.CancelFunc

	// Writing: wsem is a one-slot semaphore held while a stanza is written.
	wsem      chan struct{}
	wclosed   bool        // our </stream:stream> is out; guarded by wsem
	available atomic.Bool // broadcast available presence was sent
	dlmu      sync.Mutex  // guards wtoken against a late deadline callback
	wtoken    uint64

	// Requests awaiting replies.
	pmu      sync.Mutex
	pending  map[string]*pendingIQ
	npending atomic.Int32

	// Queue of stanzas for the dispatcher.
	qmu         sync.Mutex
	qcond       *sync.Cond
	queue       []queued
	qbytes      int
	dispatching bool

	// Background goroutines (dispatcher, keepalive) and the end.
	bgmu       sync.Mutex
	bg         sync.WaitGroup
	ended      bool
	done       chan struct{}
	err        error
	readerDone chan struct{}
	closing    atomic.Bool

	received     atomic.Uint64
	lastActivity atomic.Int64 // when something was last received
	lastSent     atomic.Int64 // when something was last written, if the server announced idle-seconds
	keepalive    *time.Timer
}

type queued struct {
	st   stanza.Stanza
	size int
}

type pendingIQ struct {
	to jid.JID
	ch chan *stanza.IQ
}

func newSession(n *negotiator, addr jid.JID, feats *Features) *Session {
	s := &Session{
		addr:       addr,
		features:   feats,
		cfg:        n.cfg,
		mux:        n.cfg.Mux,
		log:        n.cfg.logger().With("jid", addr.String()),
		tr:         n.tr,
		rd:         n.rd,
		lang:       n.streamLang,
		wsem:       make(chan struct{}, 1),
		pending:    make(map[string]*pendingIQ),
		done:       make(chan struct{}),
		readerDone: make(chan struct{}),
	}
	if s.mux == nil {
		s.mux = emptyMux
	}
	s.qcond = sync.NewCond(&s.qmu)
	s.ctx, s.cancel = context.WithCancel(context.WithValue(context.Background(), dispatchKey{}, s))
	s.touch()
	s.lastSent.Store(time.Now().UnixNano())
	return s
}

// start launches the reader (and the keepalive timer) once negotiation is
// over.
func (s *Session) start() {
	if iv := s.cfg.keepAliveInterval(); iv > 0 {
		if out := s.sendInterval(); out > 0 {
			iv = min(iv, out)
		}
		// Under bgmu: the timer's own goroutine reads the field.
		s.bgmu.Lock()
		s.keepalive = time.AfterFunc(iv, s.runKeepalive)
		s.bgmu.Unlock()
	}
	go s.readLoop(false)
}

// Addr returns the full JID the server bound for this session.
func (s *Session) Addr() jid.JID { return s.addr }

// Features returns what the server offered for the established stream
// (roster versioning, pre-approval, stream management …). The returned
// value must not be modified.
func (s *Session) Features() *Features { return s.features }

// TLS returns the TLS connection state, or nil if the stream is not
// encrypted.
func (s *Session) TLS() *tls.ConnectionState { return s.tr.TLS() }

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
	// Received counts the stanzas the reader has handled.
	Received uint64
}

// Stats returns the session's counters.
func (s *Session) Stats() Stats { return Stats{Received: s.received.Load()} }

// end records why the stream ended, once, and wakes everything that
// waits. It does not close the connection.
func (s *Session) end(err error) {
	s.bgmu.Lock()
	if s.ended {
		s.bgmu.Unlock()
		return
	}
	s.ended = true
	s.err = err
	if s.keepalive != nil {
		s.keepalive.Stop()
	}
	s.bgmu.Unlock()
	s.cancel()
	close(s.done)
	s.qmu.Lock()
	s.qcond.Broadcast()
	s.qmu.Unlock()
	if err != ErrClosed {
		s.log.Info("stream ended", "err", err)
	}
}

// closedErr is what calls return after the end.
func (s *Session) closedErr() error {
	select {
	case <-s.done:
	default:
		return ErrClosed // closing, not yet ended
	}
	if s.err == ErrClosed || s.err == nil {
		return ErrClosed
	}
	return errors.Join(ErrClosed, s.err)
}

// goBackground runs f on a goroutine that Close waits for, unless the
// session has ended.
func (s *Session) goBackground(f func()) bool {
	s.bgmu.Lock()
	defer s.bgmu.Unlock()
	if s.ended {
		return false
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		f()
	}()
	return true
}

func (s *Session) touch() { s.lastActivity.Store(time.Now().UnixNano()) }

type dispatchKey struct{}

// emptyMux serves sessions configured without a Mux: nothing can be
// registered on it from outside, so one is shared.
var emptyMux = NewMux()

package session

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/stanza"
)

// ErrKeepaliveTimeout means the server did not answer the keepalive ping
// in time (RFC 6120 §4.6: a silent peer).
var ErrKeepaliveTimeout = errors.New("session: server did not answer the keepalive ping")

// keepalive watches the silence on both sides of the stream with one
// timer, not a goroutine:
//
//   - after Config.KeepAlive without anything received, it checks the
//     server: an XEP-0199 ping (or a space, Config.WhitespaceKeepAlive),
//     and a ping with no answer within Config.KeepAliveTimeout ends the
//     session with ErrKeepaliveTimeout (a session that can resume drops
//     the connection instead, and resumes: resume.go); under stream
//     management the ping is a stanza followed by an <r/> within
//     AckDelay, so the ack timeout (acktimeout.go) may notice the
//     silence first; and while an <r/> awaits its answer there is no
//     ping: the ack timeout watches the server then;
//   - when the server announced how long it lets the client stay silent
//     (XEP-0478 idle-seconds), it sends a space after half that time
//     without anything sent.
type keepalive struct {
	timer        *time.Timer  // guarded by Session.mu; nil when off
	lastReceived atomic.Int64 // when something was last received (unix ns)
	lastSent     atomic.Int64 // when something was last written, if the server announced idle-seconds
}

// startKeepalive starts the timer, unless keepalive is off.
func (s *Session) startKeepalive() {
	iv := s.cfg.keepAliveInterval()
	if iv <= 0 {
		return
	}
	if out := s.sendInterval(); out > 0 {
		iv = min(iv, out)
	}
	// Under mu: the timer's own goroutine reads the field.
	s.mu.Lock()
	s.alive.timer = time.AfterFunc(iv, s.runKeepalive)
	s.mu.Unlock()
}

// touch notes that something was received, and returns when: the reader
// times its inline handlers from it too (inlineWatch), so that a stanza
// costs one clock read.
func (s *Session) touch() time.Time {
	now := time.Now()
	s.alive.lastReceived.Store(now.UnixNano())
	return now
}

// runKeepalive runs on the keepalive timer: when nothing was received for
// the whole interval it checks the server; when the client has been
// silent for half the idle time the server announced, it sends a space;
// else it waits for whichever comes first.
func (s *Session) runKeepalive() {
	iv, out := s.cfg.keepAliveInterval(), s.sendInterval()
	next := iv // after a check
	if out > 0 {
		next = min(iv, out)
	}
	if s.isDown() {
		return // resumption restarts the timer
	}
	now := time.Now()
	idle := now.Sub(time.Unix(0, s.alive.lastReceived.Load()))
	quiet := now.Sub(time.Unix(0, s.alive.lastSent.Load()))
	switch {
	case idle >= iv && s.ackPending():
		// An ack request awaits its answer: the ack timeout watches the
		// server, with an allowance for what it must read first, which
		// a ping queued behind the same stanzas would not have.
		s.resetKeepalive(iv)
	case idle >= iv:
		s.goBackground(func() { s.checkServer(next) })
	case out > 0 && quiet >= out:
		// The server announced how long it lets the client stay silent
		// (XEP-0478): a space keeps the stream alive and asks for no
		// answer.
		s.goBackground(func() {
			if s.sendSpace() == nil {
				s.resetKeepalive(min(iv-time.Since(time.Unix(0, s.alive.lastReceived.Load())), out))
			}
		})
	default:
		wait := iv - idle
		if out > 0 {
			wait = min(wait, out-quiet)
		}
		s.resetKeepalive(wait)
	}
}

// checkServer sends the keepalive check after a silence of the keepalive
// interval: a ping whose answer shows the server is there, or a space.
func (s *Session) checkServer(next time.Duration) {
	if s.cfg.WhitespaceKeepAlive {
		if s.sendSpace() == nil {
			s.resetKeepalive(next)
		}
		return
	}
	gen := s.linkGen()
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.keepAliveTimeout())
	defer cancel()
	_, err := s.SendIQ(ctx, &stanza.IQ{Header: stanza.Header{To: s.addr.Domain()}, Type: stanza.IQGet, Payload: emptyElement{ns.Ping, "ping"}})
	var se *stanza.Error
	switch {
	case err == nil, errors.As(err, &se):
		// Any answer, even an error, shows the server is there.
		s.resetKeepalive(next)
	case errors.Is(err, context.DeadlineExceeded) && s.canResume():
		// A dead connection under stream management is resumed.
		s.drop(gen, ErrKeepaliveTimeout)
	case errors.Is(err, context.DeadlineExceeded) && !s.isEnded():
		s.fail(&stanza.StreamError{Condition: stanza.StreamConnectionTimeout, Text: "no answer to ping"}, ErrKeepaliveTimeout)
		s.hangUp()
	}
}

// sendSpace writes a whitespace keepalive (RFC 6120 §4.6.1).
func (s *Session) sendSpace() error {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.keepAliveTimeout())
	defer cancel()
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.release()
	if s.write.closed {
		return s.closedErr()
	}
	return s.writeCtx(ctx, []byte{' '})
}

// sendInterval is how long the client lets itself stay silent: half the
// idle time the server announced (XEP-0478), or zero.
func (s *Session) sendInterval() time.Duration {
	if n := s.stream.Limits.IdleSeconds; n > 0 {
		return time.Duration(n) * time.Second / 2
	}
	return 0
}

func (s *Session) resetKeepalive(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended && s.alive.timer != nil {
		s.alive.timer.Reset(d)
	}
}

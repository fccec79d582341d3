package session

import (
	"errors"
	"fmt"
	"time"

	"github.com/parleyim/parley/stanza"
)

// The ack timeout: how stream management (sm.go) notices a connection
// that silently stopped carrying bytes, which neither end sees fail (a
// dead radio link, a NAT that forgot the connection). Its rules, written
// once here:
//
//   - Every <r/> the session writes expects an <a/>. When the first of
//     them goes out, one timer (not a goroutine) is armed for
//     Config.AckTimeout plus one second for every ackTimeoutRate bytes
//     of stanzas then unacknowledged (what the server must read before
//     it reaches the <r/>). Further requests leave it as it is; an <a/>
//     that leaves requests unanswered arms it again from its arrival,
//     with the same rule; an <a/> that answers them all stops it.
//   - When it fires with a request still unanswered, the connection is
//     taken for dead: a session that can resume drops it (resume.go) and
//     the reader resumes the stream; any other session ends with
//     ErrAckTimeout (and a connection-timeout stream error, sent in case
//     the server still reads).
//   - Time during which the reader does not read, because handlers are
//     behind and the incoming queue is full, is not the server's fault:
//     the timer then waits another AckTimeout.
//   - A new connection (a resumption) starts with no request unanswered.
//
// Worst case, a connection that dies while stanzas are sent is declared
// dead at most
//
//	AckDelay + AckTimeout + B/ackTimeoutRate
//
// after the death, B being the bytes unacknowledged when the <r/> went
// out (at most MaxUnackedBytes, one stanza more when it alone is over
// it): the stanza sent after the death is followed by an <r/> within
// AckDelay (at once when it is the AckEvery-th). While nothing is sent,
// the keepalive (keepalive.go) checks the server after KeepAlive of
// silence with a ping, itself a stanza under stream management, so the
// idle bound is
//
//	KeepAlive + min(KeepAliveTimeout, AckDelay + AckTimeout + B/ackTimeoutRate)
//
// counted from the last byte received. With the defaults: 6 s while
// sending a few small stanzas, 126 s while idle.

// ErrAckTimeout means the server did not acknowledge in time: an <r/>
// got no <a/> within Config.AckTimeout (scaled by what was outstanding).
// A session that can resume takes the connection for dead and resumes
// the stream; any other session ends with an error wrapping it.
var ErrAckTimeout = errors.New("session: server did not answer an ack request in time")

// Defaults and scale of the ack timeout.
const (
	defaultAckTimeout = 5 * time.Second
	// ackTimeoutRate is the slowest link the ack timeout allows for, in
	// bytes per second: each ackTimeoutRate bytes the server must read
	// before the <r/> add one second.
	ackTimeoutRate = 16 << 10
)

func (c *Config) ackTimeout() time.Duration {
	switch {
	case c.AckTimeout < 0:
		return 0
	case c.AckTimeout == 0:
		return defaultAckTimeout
	}
	return c.AckTimeout
}

// ackWait is how long an <r/> written with b bytes unacknowledged may
// wait for its <a/>.
func (s *Session) ackWait(b int) time.Duration {
	return s.cfg.ackTimeout() + time.Duration(b)*time.Second/ackTimeoutRate
}

// ackDeadline is the state of the ack timeout, part of streamMgmt and
// guarded by its mu.
type ackDeadline struct {
	requests int         // <r/> written on the current connection and not answered
	timer    *time.Timer // nil until first armed
	on       bool
	at       time.Time // when it expires; a timer that fires early re-arms
	gen      uint64    // the connection the requests went out on
}

// requested notes that an <r/> is about to be written on the current
// connection; the write slot is held. It arms the timer unless it runs.
func (s *Session) requested() {
	if s.cfg.ackTimeout() <= 0 {
		return
	}
	m := &s.sm
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sealed {
		return
	}
	m.dl.requests++
	if !m.dl.on {
		s.armAckDeadline(s.ackWait(m.bytes))
	}
}

// ackPending reports whether an <r/> awaits its answer.
func (s *Session) ackPending() bool {
	m := &s.sm
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dl.on
}

// answered notes an <a/> from the server. m.mu is held.
func (s *Session) answered() {
	m := &s.sm
	if m.dl.requests == 0 {
		return // unasked for
	}
	m.dl.requests--
	if m.dl.requests == 0 {
		m.dl.stop()
		return
	}
	s.armAckDeadline(s.ackWait(m.bytes))
}

// armAckDeadline (re)starts the timer for d. m.mu is held.
func (s *Session) armAckDeadline(d time.Duration) {
	m := &s.sm
	m.dl.on, m.dl.at, m.dl.gen = true, time.Now().Add(d), s.linkGen()
	if m.dl.timer == nil {
		m.dl.timer = time.AfterFunc(d, s.ackTimedOut)
	} else {
		m.dl.timer.Reset(d)
	}
}

// stop stops the timer and forgets the requests: the connection is gone
// or everything was answered. streamMgmt.mu is held.
func (d *ackDeadline) stop() {
	d.requests = 0
	if d.on {
		d.on = false
		d.timer.Stop()
	}
}

// ackTimedOut runs on the timer: a request went unanswered too long.
func (s *Session) ackTimedOut() {
	held := s.queue.readerHeld()
	m := &s.sm
	m.mu.Lock()
	if !m.dl.on || m.sealed {
		m.mu.Unlock()
		return
	}
	if wait := time.Until(m.dl.at); wait > 0 {
		m.dl.timer.Reset(wait) // fired before a re-arm took effect
		m.mu.Unlock()
		return
	}
	if held {
		// The reader is not reading: the <a/> may be waiting unread.
		s.armAckDeadline(s.cfg.ackTimeout())
		m.mu.Unlock()
		return
	}
	gen, n, b := m.dl.gen, m.dl.requests, m.bytes
	m.dl.stop()
	m.mu.Unlock()
	if s.linkGen() != gen || s.isDown() {
		return // that connection is already gone
	}
	cause := fmt.Errorf("%w (%d unanswered, %d bytes unacknowledged)", ErrAckTimeout, n, b)
	if s.canResume() {
		s.drop(gen, cause)
		return
	}
	s.goBackground(func() {
		s.fail(&stanza.StreamError{Condition: stanza.StreamConnectionTimeout, Text: "no answer to ack request"}, cause)
		s.hangUp()
	})
}

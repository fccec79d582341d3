package session

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"time"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/wire"
	"github.com/parleyim/parley/internal/xmlenc"
	"github.com/parleyim/parley/sasl"
	"github.com/parleyim/parley/stanza"
)

// Resumption (XEP-0198 §5): how a session with stream management
// survives a broken connection. The flow, all on the reader goroutine:
//
//  1. Whoever sees the connection die — the reader (a read error), a
//     writer (a write error), the keepalive (no answer) — drops it
//     (drop): it closes the transport of the connection it saw, and only
//     that one (links are numbered), so the reader's read fails.
//  2. The reader (readLoop) does not end the session: it marks the
//     connection down under the write slot, so Send from then on only
//     queues, and dials again (resume): to the server's location if it
//     gave one, else as Dial did (SRV, redirects), with the same TLS
//     and certificate rules; it authenticates and sends <resume/> with
//     the count of stanzas it handled. Attempts are retried with
//     exponential backoff and jitter until the server's max resumption
//     time (or Config.ResumeTimeout) has passed since the break.
//  3. On <resumed/>, whose previd must be the session's id and whose h
//     must not exceed what was sent, the acknowledged stanzas leave the
//     queue, the new connection takes over, and a goroutine holding the
//     write slot writes the rest of the queue again, in order, once,
//     with an <r/> after every AckEvery stanzas and after the last,
//     before any new Send; the reader reads on over the new connection
//     (the server sends what our h did not cover). Start hooks run again
//     with resumed=true, as the dispatcher's next work.
//  4. When resumption is impossible (the server answers <failed/>, the
//     time is up, a login or certificate failure, a wrong previd or h),
//     the session ends with an *UnackedError holding the stanzas never
//     acknowledged. Close during a resumption waits for it within its
//     ctx.

// ErrResumeRefused means the server would not resume the session
// (XEP-0198 <failed/>): it has discarded it, for example because the
// resumption time had passed. The session ends with an error wrapping
// it: an *UnackedError when stanzas were still unacknowledged.
var ErrResumeRefused = errors.New("session: server refused to resume the stream")

// errResumeFinal marks a resumption failure that further attempts would
// repeat.
type errResumeFinal struct{ err error }

func (e errResumeFinal) Error() string { return e.err.Error() }
func (e errResumeFinal) Unwrap() error { return e.err }

// defaultResumeTime bounds resumption when the server gave no max.
const defaultResumeTime = 5 * time.Minute

// resumeTime is how long after a break the session tries to resume.
func (s *Session) resumeTime() time.Duration {
	switch {
	case s.cfg.ResumeTimeout > 0 && (s.sm.max == 0 || s.cfg.ResumeTimeout < s.sm.max):
		return s.cfg.ResumeTimeout
	case s.sm.max > 0:
		return s.sm.max
	}
	return defaultResumeTime
}

// canResume reports whether a broken connection is to be resumed.
func (s *Session) canResume() bool {
	return s.sm.id != "" && s.redial != nil && !s.closing.Load() && !s.isEnded()
}

// current is the connection a session uses.
type current struct{ tr transport }

// conn returns the session's connection.
func (s *Session) conn() transport { return s.cur.Load().tr }

// linkGen returns the number of the current connection.
func (s *Session) linkGen() uint64 { return s.gen.Load() }

// drop hangs up connection number gen, if it is still the current one,
// so that the reader resumes (or, if it cannot, ends the session).
func (s *Session) drop(gen uint64, cause error) {
	if s.gen.Load() != gen {
		return
	}
	s.mu.Lock()
	if s.lost == nil {
		s.lost = cause
	}
	s.mu.Unlock()
	s.conn().Close()
}

// isDown reports whether the session is between connections.
func (s *Session) isDown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.downCh != nil
}

// resume is the reader's answer to a broken connection on a resumable
// session (step 2 above). It returns true when a new connection has
// taken over, false when the session has ended.
func (s *Session) resume(readErr error) bool {
	s.mu.Lock()
	cause := s.lost
	s.lost = nil
	if cause == nil {
		cause = fmt.Errorf("session: reading: %w", readErr)
	}
	up := make(chan struct{})
	s.downCh = up
	if s.alive.timer != nil {
		s.alive.timer.Stop()
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.downCh = nil
		s.mu.Unlock()
		close(up)
	}()

	// Writers stop writing to the dead connection: from now on they
	// queue. A writer stuck on it is cut off.
	s.acquireForEnd(0)
	s.write.down = true
	s.release()
	s.sm.mu.Lock()
	s.sm.dl.stop() // the dead connection's requests are not answered
	s.sm.mu.Unlock()
	s.conn().Close()
	s.log.Info("connection lost; resuming the stream", "err", cause)
	if f := s.redial.link; f != nil {
		f(s, false, cause)
	}

	limit := s.resumeTime()
	ctx, cancel := context.WithTimeout(s.ctx, limit)
	defer cancel()
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(backoff(attempt))
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
		if ctx.Err() != nil {
			if s.closing.Load() || s.isEnded() {
				s.end(ErrClosed)
			} else {
				s.end(fmt.Errorf("session: stream not resumed within %v: %w", limit, cause))
			}
			return false
		}
		// One attempt may take Config.Timeout, as a Dial does.
		actx, acancel := context.WithTimeout(ctx, s.cfg.timeout())
		l, err := s.redial.resumeStream(actx, s)
		acancel()
		if err == nil {
			if s.takeOver(l) {
				s.log.Info("stream resumed", "attempts", attempt+1)
				if f := s.redial.link; f != nil {
					f(s, true, nil)
				}
				return true
			}
			return false
		}
		var final errResumeFinal
		if errors.As(err, &final) || !retryable(err) {
			s.end(fmt.Errorf("session: stream lost (%w) and not resumed: %w", cause, err))
			return false
		}
		s.log.Info("resumption attempt failed", "attempt", attempt+1, "err", err)
	}
}

// backoff is the wait before resumption attempt n (n ≥ 1): about 0.5 s
// doubling up to about 30 s, each drawn at random between half and all of
// it, so that clients cut off together do not come back together.
func backoff(n int) time.Duration {
	d := 30 * time.Second
	if n < 7 {
		d = 500 * time.Millisecond << (n - 1)
	}
	return d/2 + rand.N(d/2+1)
}

// retryable reports whether a failed attempt is worth repeating: a network
// failure or a server in trouble, not a refused login or certificate.
func retryable(err error) bool {
	var f *sasl.Failure
	if errors.As(err, &f) {
		return f.Condition == "temporary-auth-failure"
	}
	var ce *tls.CertificateVerificationError
	var ue x509.UnknownAuthorityError
	var he x509.HostnameError
	if errors.As(err, &ce) || errors.As(err, &ue) || errors.As(err, &he) {
		return false
	}
	var se *stanza.StreamError
	if errors.As(err, &se) {
		switch se.Condition {
		case stanza.StreamHostUnknown, stanza.StreamNotAuthorized, stanza.StreamPolicyViolation,
			stanza.StreamUnsupportedVersion, stanza.StreamHostGone:
			return false
		}
	}
	return !errors.Is(err, ErrNoTLS) && !errors.Is(err, ErrTLSRefused)
}

// newLink is a negotiated connection that resumed the session.
type newLink struct {
	tr   transport
	rd   *wire.Reader
	lang string
	h    uint32 // the server's count of handled stanzas
}

// resumeStream dials again and negotiates a stream that resumes s: to the
// location the server gave first, then as Dial does.
func (d *dialer) resumeStream(ctx context.Context, s *Session) (*newLink, error) {
	var l *newLink
	try := func(ctx context.Context, conn net.Conn) (bool, error) {
		n, err := d.runNegotiator(ctx, conn, func(n *negotiator) (err error) {
			l, err = n.resume(ctx, s)
			return err
		})
		if err != nil {
			return n.authStarted, err
		}
		return true, nil
	}
	if loc := s.sm.location; loc != "" {
		addr, err := redirectAddr(loc)
		if err == nil {
			if _, err = d.dial(ctx, target{addr: addr, directTLS: s.directTLS}, try); err == nil {
				return l, nil
			}
		}
		if !retryable(err) {
			return nil, err
		}
		d.cfg.logger().Info("resuming at the server's location failed", "location", loc, "err", err)
	}
	if err := d.eachTarget(ctx, try); err != nil {
		return nil, err
	}
	return l, nil
}

// resume negotiates a stream that resumes s (XEP-0198 §5): TLS and SASL
// as for a new stream, then <resume/> in place of resource binding.
func (n *negotiator) resume(ctx context.Context, s *Session) (*newLink, error) {
	feats, err := n.login(ctx)
	if err != nil {
		return nil, err
	}
	if !feats.StreamManagement {
		return nil, errResumeFinal{errors.New("session: server no longer offers stream management")}
	}
	b := append(n.buf[:0], "<resume xmlns='"+ns.SM+"' h='"...)
	b = strconv.AppendUint(b, uint64(uint32(s.received.Load())), 10)
	b = append(b, "' previd='"...)
	b = xmlenc.AppendEscaped(b, s.sm.id)
	if err := n.write(append(b, "'/>"...)); err != nil {
		return nil, err
	}
	start, err := n.next()
	if err != nil {
		return nil, err
	}
	switch start.Name {
	case smElement("resumed"):
	case smElement("failed"):
		if err := skipElement(n.rd); err != nil {
			return nil, n.readError(err)
		}
		// XEP-0198 §5: a server that still knows the session may say
		// what it handled; those stanzas are not handed back.
		if h, ok := attrH(start); ok {
			if err := s.ack(h); err != nil {
				s.log.Warn("ignored the h of <failed/>", "err", err)
			}
		}
		return nil, errResumeFinal{ErrResumeRefused}
	default:
		return nil, n.fail(&stanza.StreamError{Condition: stanza.StreamUnsupportedStanzaType, Text: "expected resumed or failed"},
			fmt.Errorf("session: expected <resumed/>, got <%s xmlns='%s'>", start.Name.Local, start.Name.Space))
	}
	h, hOK := attrH(start)
	var previd string
	for _, a := range start.Attr {
		if a.Name.Space == "" && a.Name.Local == "previd" {
			previd = a.Value
		}
	}
	if err := skipElement(n.rd); err != nil {
		return nil, n.readError(err)
	}
	if previd != s.sm.id {
		return nil, errResumeFinal{n.fail(&stanza.StreamError{Condition: stanza.StreamUndefinedCondition, Text: "resumed another stream"},
			fmt.Errorf("session: server resumed stream %q, not %q", previd, s.sm.id))}
	}
	if !hOK {
		return nil, errResumeFinal{n.fail(&stanza.StreamError{Condition: stanza.StreamInvalidXML, Text: "<resumed/> needs an h"},
			errors.New("session: <resumed/> without a valid h"))}
	}
	return &newLink{tr: n.tr, rd: n.rd, lang: n.streamLang, h: h}, nil
}

// attrH returns the h attribute of a stream management element, and
// whether it has a valid one.
func attrH(start xml.StartElement) (uint32, bool) {
	for _, a := range start.Attr {
		if a.Name.Space == "" && a.Name.Local == "h" {
			v, err := strconv.ParseUint(a.Value, 10, 32)
			return uint32(v), err == nil
		}
	}
	return 0, false
}

// takeOver makes l the session's connection (step 3 above). It returns
// false, having ended the session, when the server's h is above what was
// sent.
func (s *Session) takeOver(l *newLink) bool {
	if err := s.ack(l.h); err != nil {
		var hc *handledCountError
		if errors.As(err, &hc) {
			b := appendStreamEnd(nil, &stanza.StreamError{Condition: stanza.StreamUndefinedCondition,
				App: handledCountTooHigh{h: hc.h, sent: hc.sent}}, l.tr.CloseTag())
			_ = l.tr.SetWriteDeadline(time.Now().Add(endWriteTime))
			_, _ = l.tr.Write(b)
		}
		l.tr.Close()
		s.end(fmt.Errorf("session: resuming: %w", err))
		return false
	}
	// Counted before anything is written on the new connection or a
	// start hook is queued, so that whoever sees the resumption's effects
	// sees the count.
	s.resumed.Add(1)
	s.write.sem <- struct{}{} // the slot, held until the queue is written again
	s.cur.Store(&current{tr: l.tr})
	gen := s.gen.Add(1)
	s.rd, s.lang = l.rd, l.lang
	s.sm.mu.Lock()
	again := make([][]byte, len(s.sm.unacked))
	for i, u := range s.sm.unacked {
		again[i] = u.b
	}
	s.sm.asked = 0
	s.sm.dl.stop() // a new connection owes no answers
	s.sm.mu.Unlock()
	s.touch()
	go func() {
		defer s.release()
		ctx, cancel := context.WithTimeout(s.ctx, s.cfg.keepAliveTimeout())
		defer cancel()
		// An <r/> after every AckEvery stanzas, as Send does, and after
		// the last: a server slow to work through a long queue answers
		// as it goes, so the ack timeout sees it is alive.
		var err error
		every := s.cfg.ackEvery()
		for i, b := range again {
			if (i+1)%every == 0 || i == len(again)-1 {
				s.requested()
				b = append(b[:len(b):len(b)], requestTag...)
			}
			if err = s.writeBounded(ctx, b); err != nil {
				break
			}
		}
		s.write.down = false
		if err != nil {
			s.drop(gen, fmt.Errorf("session: writing after resumption: %w", err))
		}
	}()
	s.resetKeepalive(s.cfg.keepAliveInterval())
	if len(s.mux.startHooks()) > 0 {
		s.queueResumed()
	}
	return true
}

package session

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"time"

	"mellium.im/xmlstream"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/wire"
	"github.com/parleyim/parley/stanza"
)

// Stream management (XEP-0198), the session's side. Its rules, written
// once here:
//
//   - It is enabled during negotiation, after resource binding, whenever
//     the server offers it (Config.NoStreamManagement turns it off), with
//     resumption when the session can dial again (Dial, not New).
//   - Inbound, the reader counts handled stanzas in its one place
//     (Session.received) and answers the server's <r/> with that count;
//     the answer is written by a background goroutine, never by the
//     reader, which must not block on a write while the server may be
//     blocked writing to it.
//   - Outbound, every stanza Send writes is first appended, encoded, to
//     the unacknowledged queue (unacked), under the write slot, so the
//     queue's order is the order on the wire. The server's <a h/> drops
//     what it covers; an h above what was sent ends the stream
//     (handled-count-too-high). Acks are requested after
//     Config.AckEvery stanzas, or Config.AckDelay after the first one
//     not yet covered by a request. The queue is bounded in bytes
//     (Config.MaxUnackedBytes): a Send that does not fit requests an ack
//     and waits for room within its ctx, failing with ErrQueueFull when
//     the ctx ends first.
//   - A broken connection (resume.go) does not end a resumable session:
//     Send goes on into the queue, the reader dials again and resumes,
//     and the queue is written again from the server's h. When the
//     session ends without resuming, the stanzas still unacknowledged
//     are handed back in an *UnackedError, never dropped silently.
//   - An <r/> that gets no <a/> in time (Config.AckTimeout) takes the
//     connection for dead even though nothing failed (acktimeout.go).

// ErrQueueFull is what Send returns (wrapped, with the ctx's cause) when
// stream management's queue of unacknowledged stanzas had no room for the
// stanza before ctx ended: the server has not acknowledged what was sent
// (Config.MaxUnackedBytes). The stanza was not sent; the stream goes on.
var ErrQueueFull = errors.New("session: queue of unacknowledged stanzas full")

// UnackedError is how a session with stream management ends, when it
// cannot resume (or Close's ctx ended first) with stanzas the server has
// not acknowledged: Err says why it ended, and Stanzas are the stanzas the
// server never acknowledged, in the order they were sent, decoded from
// what was written. They may or may not have reached their recipients;
// the application chooses whether to send them again. Err, errors.Is and
// errors.As see through it to the cause.
type UnackedError struct {
	Err     error
	Stanzas []stanza.Stanza
}

func (e *UnackedError) Error() string {
	return fmt.Sprintf("%v (%d stanzas sent were not acknowledged)", e.Err, len(e.Stanzas))
}

// Unwrap returns the cause.
func (e *UnackedError) Unwrap() error { return e.Err }

// smEnabled is what enabling stream management settled: fixed once the
// session starts.
type smEnabled struct {
	on       bool          // enabled on this session
	id       string        // the resumption id; "" when the session cannot resume
	max      time.Duration // the longest the server keeps the session after a break; 0: not said
	location string        // where the server asked to be resumed ("" for anywhere)
}

// streamMgmt is a session's stream management state.
type streamMgmt struct {
	smEnabled

	mu      sync.Mutex
	unacked []sentStanza // oldest first
	bytes   int
	sent    uint32        // stanzas sent, mod 2^32: the h of the newest in unacked
	acked   uint32        // the server's last h
	ackCh   chan struct{} // closed (and replaced) when an ack arrives or the session ends
	asked   int           // stanzas sent since the last <r/>
	timer   *time.Timer   // requests an ack AckDelay after a stanza not yet asked for; nil when off
	timerOn bool

	dl ackDeadline // the ack timeout (acktimeout.go)

	owed   bool // an <a/> is owed to the server; guarded by mu
	sealed bool // the session ended: the queue was handed back, nothing joins it; guarded by mu
}

// sentStanza is one stanza in the unacknowledged queue, as written.
type sentStanza struct {
	b   []byte
	seq uint32 // its count: the h that acknowledges it
}

// Defaults of the stream management settings.
const (
	defaultAckEvery        = 8
	defaultAckDelay        = time.Second
	defaultMaxUnackedBytes = 1 << 20
)

func (c *Config) ackEvery() int {
	if c.AckEvery > 0 {
		return c.AckEvery
	}
	return defaultAckEvery
}

func (c *Config) ackDelay() time.Duration {
	if c.AckDelay > 0 {
		return c.AckDelay
	}
	return defaultAckDelay
}

func (c *Config) maxUnackedBytes() int {
	if c.MaxUnackedBytes > 0 {
		return c.MaxUnackedBytes
	}
	return defaultMaxUnackedBytes
}

// smElement is the name of a stream management element.
func smElement(local string) xml.Name { return xml.Name{Space: ns.SM, Local: local} }

// enableSM enables stream management on a bound stream (XEP-0198 §3),
// asking for resumption when resume is set. A <failed/> answer leaves it
// off: the stream goes on without it.
func (n *negotiator) enableSM(resume bool) (smEnabled, error) {
	b := append(n.buf[:0], "<enable xmlns='"+ns.SM+"'"...)
	if resume {
		b = append(b, " resume='true'"...)
	}
	if err := n.write(append(b, "/>"...)); err != nil {
		return smEnabled{}, err
	}
	n.smAsked = true
	var start xml.StartElement
	for {
		var err error
		if start, err = n.next(); err != nil {
			return smEnabled{}, err
		}
		// A stanza routed to the bound resource before the answer.
		if err := n.keepEarly(start); err != errNotStanza {
			if err != nil {
				return smEnabled{}, err
			}
			continue
		}
		break
	}
	switch start.Name {
	case smElement("enabled"):
	case smElement("failed"):
		if err := skipElement(n.rd); err != nil {
			return smEnabled{}, n.readError(err)
		}
		n.cfg.logger().Info("server refused to enable stream management")
		return smEnabled{}, nil
	default:
		return smEnabled{}, n.fail(&stanza.StreamError{Condition: stanza.StreamUnsupportedStanzaType, Text: "expected enabled or failed"},
			fmt.Errorf("session: expected <enabled/>, got <%s xmlns='%s'>", start.Name.Local, start.Name.Space))
	}
	sm := smEnabled{on: true}
	var resumable bool
	for _, a := range start.Attr {
		if a.Name.Space != "" {
			continue
		}
		switch a.Name.Local {
		case "id":
			sm.id = a.Value
		case "resume":
			resumable = a.Value == "true" || a.Value == "1"
		case "max":
			if v, err := strconv.ParseUint(a.Value, 10, 32); err == nil {
				sm.max = time.Duration(v) * time.Second
			}
		case "location":
			sm.location = a.Value
		}
	}
	if err := skipElement(n.rd); err != nil {
		return smEnabled{}, n.readError(err)
	}
	if !resume || !resumable || sm.id == "" {
		sm.id, sm.location = "", ""
	}
	return sm, nil
}

// skipElement reads the rest of the current top-level element.
func skipElement(rd *wire.Reader) error {
	for {
		_, err := rd.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// readSM handles a stream management element the reader met at the top
// level. It returns false when the stream has ended.
func (s *Session) readSM(start xml.StartElement) bool {
	if !s.sm.on || (start.Name.Local != "r" && start.Name.Local != "a") {
		se := &stanza.StreamError{Condition: stanza.StreamUnsupportedStanzaType,
			Text: fmt.Sprintf("unexpected <%s xmlns='%s'>", start.Name.Local, start.Name.Space)}
		s.fail(se, errBadXML(se))
		s.linger()
		return false
	}
	h, hasH, bad := uint32(0), false, false
	for _, a := range start.Attr {
		if a.Name.Space == "" && a.Name.Local == "h" {
			v, err := strconv.ParseUint(a.Value, 10, 32)
			h, hasH, bad = uint32(v), true, err != nil
		}
	}
	if err := skipElement(s.rd); err != nil {
		s.readError(err)
		return false
	}
	if start.Name.Local == "r" {
		s.oweAck()
		return true
	}
	if !hasH || bad {
		se := &stanza.StreamError{Condition: stanza.StreamInvalidXML, Text: "<a/> needs an h between 0 and 4294967295"}
		s.fail(se, errBadXML(se))
		s.linger()
		return false
	}
	if err := s.ackAnswer(h); err != nil {
		s.failAck(err)
		return false
	}
	return true
}

// ackAnswer applies the h of an <a/> and notes it as the answer to a
// request (acktimeout.go), in one step.
func (s *Session) ackAnswer(h uint32) error {
	m := &s.sm
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.ack(h); err != nil {
		return err
	}
	s.answered()
	return nil
}

// handledCountError is an acknowledgement of more stanzas than were
// sent.
type handledCountError struct{ h, sent uint32 }

func (e *handledCountError) Error() string {
	return fmt.Sprintf("session: server acknowledged %d stanzas, but %d were sent", e.h, e.sent)
}

// failAck ends the stream after the server acknowledged more than was
// sent (XEP-0198 §4: handled-count-too-high).
func (s *Session) failAck(err error) {
	var hc *handledCountError
	if !errors.As(err, &hc) {
		s.fail(&stanza.StreamError{Condition: stanza.StreamUndefinedCondition}, err)
		s.linger()
		return
	}
	se := &stanza.StreamError{Condition: stanza.StreamUndefinedCondition, Text: "h is above the count of stanzas sent",
		App: handledCountTooHigh{h: hc.h, sent: hc.sent}}
	s.fail(se, err)
	s.linger()
}

// handledCountTooHigh is XEP-0198's application condition for an h above
// what was sent.
type handledCountTooHigh struct{ h, sent uint32 }

func (e handledCountTooHigh) WriteXML(w xmlstream.TokenWriter) (int, error) {
	start := xml.StartElement{Name: smElement("handled-count-too-high"), Attr: []xml.Attr{
		{Name: xml.Name{Local: "h"}, Value: strconv.FormatUint(uint64(e.h), 10)},
		{Name: xml.Name{Local: "send-count"}, Value: strconv.FormatUint(uint64(e.sent), 10)},
	}}
	if err := w.EncodeToken(start); err != nil {
		return 0, err
	}
	if err := w.EncodeToken(start.End()); err != nil {
		return 1, err
	}
	return 2, nil
}

// ack applies the server's h: the stanzas it covers leave the queue and
// whoever waits for room or for an acknowledgement is woken.
func (s *Session) ack(h uint32) error {
	m := &s.sm
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ack(h)
}

// ack is Session.ack with m.mu held. An h that acknowledges more than
// was sent changes nothing and is a *handledCountError.
func (m *streamMgmt) ack(h uint32) error {
	n := h - m.acked // wraps as h does
	if n > uint32(len(m.unacked)) {
		return &handledCountError{h: h, sent: m.sent}
	}
	if n == 0 {
		return nil
	}
	for i := range m.unacked[:n] {
		m.bytes -= len(m.unacked[i].b)
		m.unacked[i] = sentStanza{}
	}
	m.unacked = m.unacked[n:]
	if len(m.unacked) == 0 {
		m.unacked = nil // give the memory back
		m.stopTimer()
	}
	m.acked = h
	m.wake()
	return nil
}

// ackAll counts everything sent as acknowledged: the server closed its
// stream in answer to ours, after reading all of it.
func (m *streamMgmt) ackAll() {
	if !m.on {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_ = m.ack(m.sent)
}

// wake wakes whoever waits for an ack. m.mu is held.
func (m *streamMgmt) wake() {
	if m.ackCh != nil {
		close(m.ackCh)
		m.ackCh = nil
	}
}

// waitCh returns a channel closed at the next ack. m.mu is held.
func (m *streamMgmt) waitCh() chan struct{} {
	if m.ackCh == nil {
		m.ackCh = make(chan struct{})
	}
	return m.ackCh
}

func (m *streamMgmt) stopTimer() {
	if m.timerOn {
		m.timer.Stop()
		m.timerOn = false
	}
}

// covered reports whether the stanza counted seq has been acknowledged.
func (m *streamMgmt) covered(seq uint32) bool {
	// Within 2^31 of each other, as counts of one stream are.
	return int32(m.acked-seq) >= 0
}

// oweAck arranges for the server's <r/> to be answered, ackAnswerDelay
// later, on a timer's goroutine (the reader does not write for the
// protocol: it must not block on a write while the server may be blocked
// writing to it); requests that come meanwhile are answered by the same
// <a/>.
func (s *Session) oweAck() {
	m := &s.sm
	m.mu.Lock()
	owed := m.owed
	m.owed = true
	m.mu.Unlock()
	if owed || !s.addBackground() {
		return
	}
	// The timer's goroutine writes the answer, counted in bg from now,
	// so that Close waits for it (at most ackAnswerDelay).
	time.AfterFunc(ackAnswerDelay, func() {
		defer s.bg.Done()
		s.answerAck()
	})
}

// ackAnswerDelay is how long the answer to an <r/> waits. Prosody asks
// again as soon as an answer comes while any stanza it sent is
// unacknowledged, so while messages stream in, answers written at once
// bring a new request every few messages: the two ends trade an <r/> and
// an <a/>, a wake-up and a write on each side, all the time, which cost a
// receiving client more than its messages did (bench/). Waiting bounds
// that to one exchange per ackAnswerDelay. XEP-0198 sets no time for the
// answer; servers wait for it for tens of seconds.
const ackAnswerDelay = 10 * time.Millisecond

// answerAck writes the <a/> oweAck arranged.
func (s *Session) answerAck() {
	m := &s.sm
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.keepAliveTimeout())
	defer cancel()
	err := s.acquire(ctx)
	// Requests that came until now are answered by the h written below
	// (or, when the slot could not be had, by the next answer).
	m.mu.Lock()
	m.owed = false
	m.mu.Unlock()
	if err != nil {
		return
	}
	defer s.release()
	if s.write.closed || s.write.down {
		return // the answer after resumption is the <resume/>'s h
	}
	_ = s.writeManaged(ctx, s.appendAck(nil))
}

// appendAck appends <a h/> with the count of handled stanzas.
func (s *Session) appendAck(b []byte) []byte {
	b = append(b, "<a xmlns='"+ns.SM+"' h='"...)
	b = strconv.AppendUint(b, uint64(uint32(s.received.Load())), 10)
	return append(b, "'/>"...)
}

// requestTag asks the server for an acknowledgement.
const requestTag = "<r xmlns='" + ns.SM + "'/>"

// sendManaged is Send on a stream with stream management: b (an encoded
// stanza) joins the unacknowledged queue and is written unless the
// connection is down, in which case resumption writes it. It returns the
// stanza's count.
func (s *Session) sendManaged(ctx context.Context, b []byte) (uint32, error) {
	m := &s.sm
	for {
		if err := s.acquire(ctx); err != nil {
			return 0, err
		}
		if s.write.closed {
			s.release()
			return 0, s.closedErr()
		}
		if limit := s.stream.Limits.MaxBytes; limit > 0 && len(b) > limit {
			s.release()
			return 0, fmt.Errorf("%w: %d bytes, the server announced %d", ErrStanzaTooLarge, len(b), limit)
		}
		m.mu.Lock()
		if m.sealed {
			// The session ended and handed its queue back: a stanza
			// queued now would be in nobody's hands.
			m.mu.Unlock()
			s.release()
			return 0, s.closedErr()
		}
		if len(m.unacked) == 0 || m.bytes+len(b) <= s.cfg.maxUnackedBytes() {
			break // holding the slot and m.mu
		}
		ch := m.waitCh()
		m.mu.Unlock()
		// No room: ask for an ack (while the connection is up) and wait
		// for it outside the slot.
		if !s.write.down {
			s.requested()
			_ = s.writeManaged(ctx, []byte(requestTag))
			m.mu.Lock()
			m.asked = 0
			m.mu.Unlock()
		}
		s.release()
		s.readOn() // the ack must be read
		select {
		case <-ch:
		case <-ctx.Done():
			return 0, fmt.Errorf("%w: %w", ErrQueueFull, context.Cause(ctx))
		case <-s.done:
			return 0, s.closedErr()
		}
	}
	defer s.release()
	seq := m.push(b)
	ask := m.asked >= s.cfg.ackEvery()
	if ask {
		m.asked = 0
		m.stopTimer()
	} else if !m.timerOn {
		m.timerOn = true
		if m.timer == nil {
			m.timer = time.AfterFunc(s.cfg.ackDelay(), s.ackTimer)
		} else {
			m.timer.Reset(s.cfg.ackDelay())
		}
	}
	m.mu.Unlock()
	if s.write.down {
		return seq, nil
	}
	if ask {
		s.requested()
		b = append(b, requestTag...)
	}
	_ = s.writeManaged(ctx, b)
	return seq, nil
}

// push appends a copy of b to the queue and counts it. m.mu is held.
func (m *streamMgmt) push(b []byte) uint32 {
	m.sent++
	m.unacked = append(m.unacked, sentStanza{b: bytes.Clone(b), seq: m.sent})
	m.bytes += len(b)
	m.asked++
	return m.sent
}

// ackTimer runs AckDelay after a stanza that no request covers was sent.
func (s *Session) ackTimer() {
	m := &s.sm
	m.mu.Lock()
	m.timerOn = false
	pending := m.asked > 0
	m.mu.Unlock()
	if !pending {
		return
	}
	s.goBackground(func() { _ = s.requestAck(s.ctx) })
}

// requestAck writes <r/> unless the connection is down.
func (s *Session) requestAck(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.keepAliveTimeout())
	defer cancel()
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.release()
	if s.write.closed || s.write.down {
		return nil
	}
	s.sm.mu.Lock()
	s.sm.asked = 0
	s.sm.stopTimer()
	s.sm.mu.Unlock()
	s.requested()
	return s.writeManaged(ctx, []byte(requestTag))
}

// writeManaged writes b while holding the write slot, on a stream with
// stream management. A failed write does not end a session that can
// resume: the connection is dropped, the reader sees it and resumes
// (resume.go), and what was queued is written again. It returns the
// write's error.
func (s *Session) writeManaged(ctx context.Context, b []byte) error {
	if s.sm.id == "" {
		return s.writeCtx(ctx, b)
	}
	err := s.writeBounded(ctx, b)
	if err != nil {
		s.drop(s.linkGen(), fmt.Errorf("session: writing: %w", err))
	}
	return err
}

// SendAcked sends st and returns once the server has acknowledged it: with
// stream management, by the <a/> that covers it (an ack is requested at
// once); without it, by the answer to a ping to the server sent after st,
// which the server handles only after st. It fails when ctx ends first or
// the session ends with st unacknowledged (then st is among the
// UnackedError's stanzas).
func (s *Session) SendAcked(ctx context.Context, st stanza.Stanza) error {
	if !s.sm.on {
		if err := s.Send(ctx, st); err != nil {
			return err
		}
		_, err := s.SendIQ(ctx, &stanza.IQ{Header: stanza.Header{To: s.addr.Domain()}, Type: stanza.IQGet, Payload: emptyElement{ns.Ping, "ping"}})
		var se *stanza.Error
		if errors.As(err, &se) {
			err = nil // an error reply is an answer too
		}
		return err
	}
	seq, err := s.send(ctx, st)
	if err != nil {
		return err
	}
	m := &s.sm
	for asked := false; ; {
		m.mu.Lock()
		if m.covered(seq) {
			m.mu.Unlock()
			return nil
		}
		ch := m.waitCh()
		m.mu.Unlock()
		if !asked {
			asked = true
			_ = s.requestAck(ctx)
			s.readOn() // the ack must be read
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("session: waiting for the server to acknowledge a stanza: %w", context.Cause(ctx))
		case <-s.done:
			m.mu.Lock()
			ok := m.covered(seq)
			m.mu.Unlock()
			if ok {
				return nil
			}
			return s.closedErr()
		}
	}
}

// unackedStanzas seals the queue, so that no Send joins it any more,
// and decodes what is in it, for UnackedError. end calls it.
func (s *Session) unackedStanzas() []stanza.Stanza {
	m := &s.sm
	m.mu.Lock()
	m.sealed = true
	queue := slices.Clone(m.unacked) // a late ack may still clear entries
	m.mu.Unlock()
	if len(queue) == 0 {
		return nil
	}
	out := make([]stanza.Stanza, 0, len(queue))
	for _, u := range queue {
		st, err := decodeSent(u.b)
		if err != nil {
			// What Parley wrote always decodes; say so loudly if not.
			s.log.Error("could not decode an unacknowledged stanza", "err", err)
			continue
		}
		out = append(out, st)
	}
	return out
}

// decodeSent decodes a stanza as Send encoded it.
func decodeSent(b []byte) (stanza.Stanza, error) {
	src := io.MultiReader(bytes.NewReader(sentHeader), bytes.NewReader(b))
	rd := wire.NewReader(src, wire.Limits{MaxStanzaBytes: len(b) + 1})
	if _, err := rd.ReadHeader(); err != nil {
		return nil, err
	}
	start, err := rd.NextElement()
	if err != nil {
		return nil, err
	}
	return stanza.Decoder{}.Decode(rd, start)
}

// sentHeader opens the stream decodeSent reads a sent stanza in.
var sentHeader = wire.AppendHeader(nil, wire.Header{Version: "1.0"})

package xmpptest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"time"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/wire"
	"github.com/parleyim/parley/internal/xmlenc"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

// Stream management (XEP-0198, urn:xmpp:sm:3), the server's side. What
// Prosody 0.12 (mod_smacks) and ejabberd 23.01 (mod_stream_mgmt) do was
// run case by case (smcases_test.go holds the cases and both servers'
// answers); where they differ:
//   - <enable/> before bind: <failed/> with unexpected-request, as
//     XEP-0198 §3 and Prosody (ejabberd: not-authorized);
//   - a resumption while the old connection is still open ends that
//     connection with a <conflict/> stream error, as ejabberd (Prosody
//     closes it without one);
//   - an h above what was sent, in <a/> or <resume/>, ends the stream
//     with undefined-condition and XEP-0198 v1.6's
//     <handled-count-too-high/> (both servers send undefined-condition
//     without it on <a/>; on <resume/> ejabberd does the same, Prosody
//     closes the connection);
//   - unacked stanzas of a session that ends (its hibernation expired,
//     or the client closed its stream, or its queue overflowed) are
//     handled as XEP-0198 §5 and RFC 6121 §8.5.3.2 say for a stanza to
//     a resource that is gone: a chat or normal message is routed again
//     to the account (another resource, else offline storage, as
//     Prosody; ejabberd drops them because its configuration assumes
//     the client fetches them from its archive), an iq get or set is
//     answered service-unavailable (as ejabberd; Prosody:
//     recipient-unavailable), anything else is dropped;
//   - a message resent on resumption, or stored offline from the
//     queue, carries one delay stamped when it was first queued
//     (Prosody adds a second one on storage).
// Both servers agree that a hibernating resource stays available (its
// contacts see no change, a message to its bare JID is routed to it and
// kept in its queue), that it goes unavailable when the hibernation
// expires, that a resumption for another account's id fails with
// item-not-found and leaves the session resumable, and that the
// <failed/> of an expired id carries the h the server had reached.

// maxUnacked bounds a session's queue of unacknowledged stanzas. A
// client that lets it fill loses its stream with policy-violation and
// its session cannot be resumed, as ejabberd bounds its queue
// (mod_stream_mgmt's max_ack_queue; a client that never acked lost its
// connection there after 2449 of 5100 messages). Prosody's
// smacks_max_queue_size (500) is a ring instead: the oldest stanzas are
// dropped, the connection stays, and a resumption is refused.
const maxUnacked = 5000

// maxExpiredIDs bounds how many ended sessions' ids the server remembers
// (to give their h in <failed/>).
const maxExpiredIDs = 1000

// smState is a resource's stream management state, guarded by the
// connection's wmu.
type smState struct {
	enabled   bool
	resumable bool
	id        string
	in        uint32 // stanzas handled from the client
	out       uint32 // stanzas sent to the client
	acked     uint32 // the client's last h
	queue     []unacked
	requested bool // an <r/> is outstanding
	// hib: the connection broke and the resource waits for a
	// resumption; timer ends the wait. replaced: a resumption took the
	// resource over while this connection was still open. gone: the
	// session ended, nothing more is queued.
	hib      bool
	timer    *time.Timer
	replaced bool
	gone     bool
}

// unacked is a stanza sent and not acknowledged, and when it was first
// queued.
type unacked struct {
	st stanza.Stanza
	at time.Time
	// raw holds what InjectRaw wrote, resent as it is; the other
	// stanzas of the same injection have neither st nor raw.
	raw []byte
}

// expiredSM is what the server remembers of an ended session.
type expiredSM struct {
	user string
	h    uint32
}

func newSMID() string {
	var b [18]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// smFailed is <failed/> with a stanza error condition, and h when not nil.
func smFailed(cond string, h *uint32) []byte {
	b := []byte("<failed xmlns='" + ns.SM + "'")
	if h != nil {
		b = append(b, " h='"...)
		b = strconv.AppendUint(b, uint64(*h), 10)
		b = append(b, '\'')
	}
	b = append(b, "><"...)
	b = append(b, cond...)
	return append(b, " xmlns='"+ns.StanzaErrors+"'/></failed>"...)
}

// parseH reads an h attribute: a uint32 in decimal.
func parseH(attr string) (uint32, error) {
	h, err := strconv.ParseUint(attr, 10, 32)
	if err != nil {
		return 0, &stanza.StreamError{Condition: stanza.StreamBadFormat, Text: "h must be an unsigned 32-bit integer (XEP-0198 §4)"}
	}
	return uint32(h), nil
}

// tooHigh is the stream error for a client's h that acknowledges more
// than was sent (or less than it acknowledged before).
func tooHigh(h, acked, out uint32) error {
	if int32(h-acked) < 0 {
		return &stanza.StreamError{Condition: stanza.StreamUndefinedCondition, Text: "h is below what the client acknowledged before"}
	}
	var b []byte
	b = append(b, "<handled-count-too-high xmlns='"+ns.SM+"' h='"...)
	b = strconv.AppendUint(b, uint64(h), 10)
	b = append(b, "' send-count='"...)
	b = strconv.AppendUint(b, uint64(out), 10)
	b = append(b, "'/>"...)
	raw, _ := stanza.ParseRaw(b)
	return &stanza.StreamError{Condition: stanza.StreamUndefinedCondition, Text: "h is above the number of stanzas sent", App: raw}
}

// smElement handles an element of urn:xmpp:sm:3 on an established
// stream.
func (c *conn) smElement(raw *stanza.Raw) error {
	switch raw.Name().Local {
	case "enable":
		return c.smEnable(raw)
	case "r":
		c.wmu.Lock()
		defer c.wmu.Unlock()
		if !c.sm.enabled {
			return &stanza.StreamError{Condition: stanza.StreamUnsupportedStanzaType, Text: "<r/> before stream management is enabled"}
		}
		b := append([]byte("<a xmlns='"+ns.SM+"' h='"), strconv.AppendUint(nil, uint64(c.sm.in), 10)...)
		return c.writeLocked(append(b, "'/>"...))
	case "a":
		h, err := parseH(raw.Attr("h"))
		if err != nil {
			return err
		}
		c.wmu.Lock()
		defer c.wmu.Unlock()
		if !c.sm.enabled {
			return &stanza.StreamError{Condition: stanza.StreamUnsupportedStanzaType, Text: "<a/> before stream management is enabled"}
		}
		return c.ackLocked(h)
	case "resume":
		return c.write(smFailed("unexpected-request", nil))
	}
	return &stanza.StreamError{Condition: stanza.StreamUnsupportedStanzaType, Text: "unexpected <" + raw.Name().Local + "/>"}
}

// ackLocked applies the client's h. c.wmu is held.
func (c *conn) ackLocked(h uint32) error {
	n := h - c.sm.acked
	if int64(n) > int64(len(c.sm.queue)) {
		return tooHigh(h, c.sm.acked, c.sm.out)
	}
	k := copy(c.sm.queue, c.sm.queue[n:])
	clear(c.sm.queue[k:])
	c.sm.queue = c.sm.queue[:k]
	c.sm.acked = h
	c.sm.requested = false
	return nil
}

func (c *conn) smEnable(raw *stanza.Raw) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.sm.enabled || c.srv.cfg.NoStreamManagement {
		return c.writeLocked(smFailed("unexpected-request", nil))
	}
	resume := raw.Attr("resume") == "true" || raw.Attr("resume") == "1"
	b := []byte("<enabled xmlns='" + ns.SM + "'")
	if resume {
		id := newSMID()
		c.srv.mu.Lock()
		if c.srv.smSessions == nil {
			c.srv.smSessions = map[string]*conn{}
		}
		c.srv.smSessions[id] = c
		c.srv.mu.Unlock()
		c.sm.id, c.sm.resumable = id, true
		b = append(b, " id='"...)
		b = xmlenc.AppendEscaped(b, id)
		b = append(b, "' resume='true' max='"...)
		b = strconv.AppendInt(b, int64((c.srv.cfg.ResumeTimeout+time.Second-1)/time.Second), 10)
		b = append(b, '\'')
	}
	c.sm.enabled = true
	return c.writeLocked(append(b, "/>"...))
}

// writeStanzaLocked writes the encoding b of st, keeping st until the
// client acknowledges it when stream management is on (also while the
// resource hibernates: then it is only kept). c.wmu is held.
func (c *conn) writeStanzaLocked(st stanza.Stanza, b []byte) error {
	kept := false
	if c.sm.enabled && !c.sm.gone {
		if len(c.sm.queue) >= maxUnacked {
			c.overflowLocked()
			return errConnClosed
		}
		c.sm.queue = append(c.sm.queue, unacked{st: st, at: time.Now()})
		c.sm.out++
		kept = true
	}
	if c.dead {
		if kept {
			return nil
		}
		return errConnClosed
	}
	if c.cutWriteLocked(b) {
		if kept {
			return nil
		}
		return errConnClosed
	}
	if kept && !c.sm.requested {
		c.sm.requested = true
		b = append(b, "<r xmlns='"+ns.SM+"'/>"...)
	}
	return c.writeLocked(b)
}

// writeInjected writes what InjectRaw was given. Under stream management
// each top-level stanza in raw is counted and kept as the client counts
// it, so that its h stays in step; resumption writes raw again whole,
// and expiry drops it. Write cuts do not count it.
func (c *conn) writeInjected(raw []byte) error {
	k := countStanzas(raw)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if k > 0 && c.sm.enabled && !c.sm.gone {
		if len(c.sm.queue)+k > maxUnacked {
			c.overflowLocked()
			return errConnClosed
		}
		now := time.Now()
		for i := range k {
			u := unacked{at: now}
			if i == 0 {
				u.raw = bytes.Clone(raw)
			}
			c.sm.queue = append(c.sm.queue, u)
		}
		c.sm.out += uint32(k)
		if c.dead || c.closing.Load() {
			return nil // kept for the resumption
		}
	} else if c.closing.Load() {
		return errConnClosed
	}
	return c.writeLocked(raw)
}

// countStanzas counts the top-level message, presence and iq elements of
// raw that a client reads as stanzas, up to the first XML fault.
func countStanzas(raw []byte) int {
	rd := wire.NewReader(io.MultiReader(bytes.NewReader(injectHeader), bytes.NewReader(raw)), wire.Limits{MaxStanzaBytes: len(raw) + 1})
	if _, err := rd.ReadHeader(); err != nil {
		return 0
	}
	n := 0
	for {
		start, err := rd.NextElement()
		if err != nil {
			return n
		}
		if start.Name.Space == ns.Client {
			switch start.Name.Local {
			case "message", "presence", "iq":
				n++
			}
		}
		for {
			if _, err := rd.Token(); err != nil {
				if err != io.EOF {
					return n
				}
				break
			}
		}
	}
}

// injectHeader opens the stream countStanzas reads injected bytes in.
var injectHeader = wire.AppendHeader(nil, wire.Header{Version: "1.0"})

// cutWriteLocked counts a stanza about to be written against an armed
// write cut and, when it is the one, writes what the cut lets through
// and cuts; it reports whether it cut. c.wmu is held.
func (c *conn) cutWriteLocked(b []byte) bool {
	if c.wcut == nil {
		return false
	}
	if c.wcut.n--; c.wcut.n > 0 {
		return false
	}
	at := c.wcut.at
	c.wcut = nil
	switch at {
	case CutAfterWrite:
		_ = c.writeLocked(b)
	case CutMidWrite:
		_ = c.writeLocked(b[:len(b)/2])
	}
	c.dropLocked()
	return true
}

// dropLocked closes the connection as a network failure would. c.wmu is
// held.
func (c *conn) dropLocked() {
	c.dead = true
	c.closing.Store(true)
	_ = c.raw.Close()
}

// overflowLocked ends a stream whose client let too many stanzas go
// unacknowledged. c.wmu is held.
func (c *conn) overflowLocked() {
	c.ended.Store(true)
	c.sm.resumable = false
	if c.sm.hib {
		if c.sm.timer.Stop() {
			go c.expire()
		}
		return
	}
	if !c.dead {
		se := &stanza.StreamError{Condition: stanza.StreamPolicyViolation, Text: "too many unacknowledged stanzas (XEP-0198)"}
		if b, err := se.AppendXML(nil); err == nil {
			_ = c.writeLocked(append(b, "</stream:stream>"...))
		}
	}
	c.dropLocked()
}

// smDetach decides, as the connection's goroutine ends with err, whether
// the resource outlives its connection: it hibernates when its session
// is resumable and the connection broke (not a stream the client or
// the server closed), and it has already moved when a resumption took
// it over.
func (c *conn) smDetach(err error) bool {
	s := c.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	defer close(c.readerDone)
	if c.sm.replaced {
		c.sm.replaced = false
		return true
	}
	var se *stanza.StreamError
	if !c.sm.resumable || c.sm.gone || !c.bound || c.ended.Load() || s.closed || s.down || errors.Is(err, errPeerClosed) || errors.As(err, &se) {
		c.sm.gone = true
		return false
	}
	c.sm.hib = true
	c.dead = true
	c.closing.Store(true)
	_ = c.raw.Close()
	s.wg.Add(1)
	c.sm.timer = time.AfterFunc(s.cfg.ResumeTimeout, c.expire)
	return true
}

// expire ends a hibernating resource whose wait ran out (or whose end
// another event decided: the wait's goroutine count is its).
func (c *conn) expire() {
	defer c.srv.wg.Done()
	c.wmu.Lock()
	c.sm.hib = false
	c.sm.gone = true
	c.wmu.Unlock()
	c.endResource()
}

// stopHibernation ends a hibernation without ending the resource, for
// Close.
func (c *conn) stopHibernation() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.sm.hib && c.sm.timer.Stop() {
		c.sm.hib = false
		c.sm.gone = true
		c.srv.wg.Done()
	}
}

// endHibernation ends a hibernating resource now, for a server that
// ends its stream (shutdown).
func (c *conn) endHibernation() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.sm.hib && c.sm.timer.Stop() {
		go c.expire()
	}
}

// smRelease forgets the session of an ended resource and routes what the
// client never acknowledged (XEP-0198 §5): chat and normal messages as
// if to the account's bare JID (another resource, else offline storage,
// else an error to the sender), iq gets and sets answered
// service-unavailable; the rest is dropped.
func (c *conn) smRelease() {
	s := c.srv
	c.wmu.Lock()
	c.sm.gone = true
	queue := c.sm.queue
	c.sm.queue = nil
	if c.sm.enabled {
		// What was routed here but not yet written (the rules' queue,
		// filled while the resource was bound) is released with the
		// rest: unbound now, the resource gets nothing more, and
		// written after this it would be lost.
		c.qmu.Lock()
		now := time.Now()
		for _, st := range c.queue {
			queue = append(queue, unacked{st: st, at: now})
		}
		c.queue, c.queueHeld = nil, false
		c.qmu.Unlock()
	}
	id, h := c.sm.id, c.sm.in
	c.wmu.Unlock()
	o := &outbox{s: s}
	s.mu.Lock()
	if id != "" && s.smSessions[id] == c {
		delete(s.smSessions, id)
		if s.smExpired == nil {
			s.smExpired = map[string]expiredSM{}
		}
		if len(s.smExpiredOrder) >= maxExpiredIDs {
			delete(s.smExpired, s.smExpiredOrder[0])
			s.smExpiredOrder = s.smExpiredOrder[1:]
		}
		s.smExpired[id] = expiredSM{user: c.addr.Localpart(), h: h}
		s.smExpiredOrder = append(s.smExpiredOrder, id)
	}
	a := s.accounts[c.addr.Localpart()]
	for _, q := range queue {
		switch v := q.st.(type) {
		case *stanza.Message:
			if v.Type != "" && v.Type != stanza.MessageNormal && v.Type != stanza.MessageChat {
				continue
			}
			if a != nil {
				if targets := highestPriority(a); len(targets) > 0 {
					for _, rc := range targets {
						o.send(rc, v)
					}
					continue
				}
				if s.storable(v) && s.storeAt(a, v, q.at) {
					continue
				}
			}
			s.bounceTo(o, v, stanza.ServiceUnavailable)
		case *stanza.IQ:
			if v.Type == stanza.IQGet || v.Type == stanza.IQSet {
				s.bounceTo(o, v, stanza.ServiceUnavailable)
			}
		}
	}
	s.mu.Unlock()
	o.flush()
}

// bounceTo sends the sender of st, when it is a resource bound here, an
// error from st's recipient. s.mu is held.
func (s *Server) bounceTo(o *outbox, st stanza.Stanza, cond stanza.Condition) {
	h := st.StanzaHeader()
	a := s.accounts[h.From.Localpart()]
	if a == nil || !s.isLocal(h.From) {
		return
	}
	rc := a.resources[h.From.Resourcepart()]
	if rc == nil {
		return
	}
	rh := stanza.Header{ID: h.ID, From: h.To, To: h.From, Lang: h.Lang}
	switch st.(type) {
	case *stanza.Message:
		o.send(rc, &stanza.Message{Header: rh, Type: stanza.MessageError, Error: stanza.NewError(cond, "")})
	case *stanza.IQ:
		o.send(rc, &stanza.IQ{Header: rh, Type: stanza.IQError, Error: stanza.NewError(cond, "")})
	}
}

// resume handles <resume/> on an authenticated stream (XEP-0198 §5). It
// returns the resource taken over, or nil when the resumption failed (the
// client has been told and may bind instead).
func (c *conn) resume(raw *stanza.Raw) (*conn, error) {
	s := c.srv
	if s.cfg.NoStreamManagement {
		return nil, c.write(smFailed("feature-not-implemented", nil))
	}
	h, err := parseH(raw.Attr("h"))
	if err != nil {
		return nil, err
	}
	previd := raw.Attr("previd")
	s.mu.Lock()
	o := s.smSessions[previd]
	if o != nil && o.addr.Localpart() != c.user {
		o = nil // another account's session: never taken over
	}
	var failed []byte
	if o == nil {
		if e, ok := s.smExpired[previd]; ok && e.user == c.user {
			failed = smFailed("item-not-found", &e.h)
		} else {
			failed = smFailed("item-not-found", nil)
		}
	}
	s.mu.Unlock()
	if o == nil {
		return nil, c.write(failed)
	}

	o.wmu.Lock()
	switch {
	case o.sm.gone:
		in := o.sm.in
		o.wmu.Unlock()
		return nil, c.write(smFailed("item-not-found", &in))
	case o.sm.hib:
		if !o.sm.timer.Stop() {
			in := o.sm.in
			o.wmu.Unlock()
			return nil, c.write(smFailed("item-not-found", &in))
		}
		o.sm.hib = false
		s.wg.Done() // the hibernation's count: this goroutine serves o now
		o.wmu.Unlock()
	default:
		// The old connection is still open: it ends, as for a resource
		// bound anew, and its goroutine lets the resource go.
		o.sm.replaced = true
		if !o.dead {
			se := &stanza.StreamError{Condition: stanza.StreamConflict, Text: "the session was resumed on another connection"}
			if b, err := se.AppendXML(nil); err == nil {
				_ = o.raw.SetWriteDeadline(time.Now().Add(time.Second))
				_ = o.writeLocked(append(b, "</stream:stream>"...))
			}
		}
		o.dropLocked()
		done := o.readerDone
		o.wmu.Unlock()
		<-done
	}

	// o is this goroutine's now: move the connection over.
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.wmu.Lock()
	nc := c.nc
	c.wmu.Unlock()
	o.wmu.Lock()
	defer o.wmu.Unlock()
	if o.ended.Load() {
		// The server shut down (Shutdown, Restart, Close) while this
		// resumption was under way: the resource ends, and the new
		// connection with it.
		c.shutdown(&stanza.StreamError{Condition: stanza.StreamSystemShutdown, Text: "server shutting down"}, shutdownGrace)
		o.readerDone = make(chan struct{}) // closed again as the goroutine lets o go
		return o, errConnClosed
	}
	o.raw, o.nc, o.rd, o.tlsState, o.lang = c.raw, nc, c.rd, c.tlsState, c.lang
	if c.tr != nil {
		o.tr = c.tr
	}
	o.headerSent, o.dead = true, false
	o.closing.Store(false)
	o.readerDone = make(chan struct{})
	if err := o.ackLocked(h); err != nil {
		o.sm.resumable = false
		return o, err
	}
	b := []byte("<resumed xmlns='" + ns.SM + "' h='")
	b = strconv.AppendUint(b, uint64(o.sm.in), 10)
	b = append(b, "' previd='"...)
	b = xmlenc.AppendEscaped(b, previd)
	b = append(b, "'/>"...)
	if err := o.writeLocked(b); err != nil {
		return o, err
	}
	// What the client's h does not cover, in order, once, without being
	// queued again; a message with a delay of when it was first sent.
	o.sm.requested = false
	for _, q := range o.sm.queue {
		if q.st == nil {
			if q.raw != nil {
				if err := o.writeLocked(q.raw); err != nil {
					return o, err
				}
			}
			continue
		}
		st := q.st
		if m, ok := st.(*stanza.Message); ok && !hasDelay(m) {
			d := *m
			d.Extensions = append(d.Extensions[:len(d.Extensions):len(d.Extensions)], delay{from: s.domain, at: q.at})
			st = &d
		}
		b, err := st.AppendXML(nil)
		if err != nil {
			continue
		}
		if o.cutWriteLocked(b) {
			return o, nil // the reader finds the connection gone
		}
		if !o.sm.requested {
			o.sm.requested = true
			b = append(b, "<r xmlns='"+ns.SM+"'/>"...)
		}
		if err := o.writeLocked(b); err != nil {
			return o, err
		}
	}
	return o, nil
}

func hasDelay(m *stanza.Message) bool {
	for _, e := range m.Extensions {
		switch v := e.(type) {
		case delay:
			return true
		case *stanza.Raw:
			if v.Name() == (xml.Name{Space: ns.Delay, Local: "delay"}) {
				return true
			}
		}
	}
	return false
}

// CutPoint says where CutAt cuts a connection.
type CutPoint int

const (
	// CutBeforeWrite cuts the connection instead of writing the n-th
	// stanza: with stream management it is queued, unacknowledged, and
	// resent on resumption; without, it is lost.
	CutBeforeWrite CutPoint = iota
	// CutAfterWrite writes the n-th stanza whole, then cuts.
	CutAfterWrite
	// CutMidWrite writes the first half of the n-th stanza's bytes, then
	// cuts: the client reads a truncated element.
	CutMidWrite
	// CutBeforeHandle cuts when the n-th stanza from the client has been
	// read, before the server handles it: it is lost (not routed, not
	// counted in the server's h) unless the client sends it again.
	CutBeforeHandle
	// CutAfterHandle cuts once the n-th stanza from the client has been
	// handled (routed, answered and counted).
	CutAfterHandle
)

// cutPlan is an armed cut: n stanzas to go.
type cutPlan struct {
	n  int
	at CutPoint
}

// ErrBadCut means CutAt was given an n below 1 or an unknown CutPoint.
var ErrBadCut = errors.New("xmpptest: CutAt needs n ≥ 1 and a known CutPoint")

// CutAt arms a cut of the connection of the resource bound to addr (a
// full JID): the connection breaks, without a stream error or close, as a
// network failure would, at the n-th stanza (message, presence or iq; n
// counts from 1) that the server writes to the resource (CutBeforeWrite,
// CutAfterWrite, CutMidWrite) or reads from it (CutBeforeHandle,
// CutAfterHandle) after CutAt returns. <r/>, <a/> and other elements
// that are not stanzas do not count; stanzas queued before CutAt and
// written after it do, and so do those a resumption resends. A resource
// that enabled resumption hibernates then, as after any broken
// connection.
//
// A cut stays armed until it fires, also across a resumption (it may be
// armed while the resource hibernates, to cut while the resumption
// resends); it is gone when the resource is. A new CutAt of the same
// direction (write or read) replaces it; a write cut and a read cut may
// be armed at once. CutAt returns ErrNotConnected when no resource is
// bound to addr, ErrBadCut for a bad n or at.
//
// To cut a connection at once, use Drop.
func (s *Server) CutAt(addr jid.JID, n int, at CutPoint) error {
	if n < 1 || at < CutBeforeWrite || at > CutAfterHandle {
		return ErrBadCut
	}
	if addr.Resourcepart() == "" {
		return ErrNotConnected
	}
	conns := s.connsFor(addr)
	if len(conns) == 0 {
		return ErrNotConnected
	}
	c := conns[0]
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.dead && (!c.sm.resumable || c.sm.gone) {
		return ErrNotConnected // it is going, and will not come back
	}
	p := &cutPlan{n: n, at: at}
	if at >= CutBeforeHandle {
		c.rcut = p
		c.hasRCut.Store(true)
	} else {
		c.wcut = p
	}
	return nil
}

// readCut counts one stanza read from the client against an armed read
// cut and returns where to cut, or -1.
func (c *conn) readCut() CutPoint {
	if !c.hasRCut.Load() {
		return -1
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.rcut == nil {
		return -1
	}
	if c.rcut.n--; c.rcut.n > 0 {
		return -1
	}
	at := c.rcut.at
	c.rcut = nil
	c.hasRCut.Store(false)
	return at
}

// errCut is how a read cut ends the connection's reading.
var errCut = errors.New("xmpptest: connection cut (CutAt)")

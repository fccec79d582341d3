package session

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/wire"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

// Errors that end a session.
var (
	// ErrKeepaliveTimeout means the server did not answer the keepalive
	// ping in time (RFC 6120 §4.6: a silent peer).
	ErrKeepaliveTimeout = errors.New("session: server did not answer the keepalive ping")
	// ErrHandlerBlocked means handlers fell so far behind while a request
	// was waiting for its reply that the hard queue cap was reached.
	ErrHandlerBlocked = errors.New("session: a handler blocked too long: incoming queue over its hard cap")
)

// ErrStanzaTooLarge is what Send returns (wrapped, with the sizes) for a
// stanza larger than the server announced it accepts (XEP-0478). The
// stanza is not sent and the stream goes on.
var ErrStanzaTooLarge = errors.New("session: stanza larger than the server accepts")

// readLoop is the session's reader. There is one reader goroutine at a
// time, but not always the same one: where the transport can be polled,
// a reader that has read all the input there is starts a new goroutine
// that waits for more (wait) and exits. The new goroutine waits with a
// shallow stack that has never held a parser's frames, so an idle
// session's goroutine keeps the smallest stack (the runtime halves a
// stack only when less than a quarter of it is in use, so a reader
// waiting in place would keep what parsing grew); the wire reader has
// let go of its buffer and parser (wire.Reader.Idle). Once the socket is
// readable it reads what is there (Fill) and goes on as before. A busy stream reads on in the same
// goroutine, since it is never idle between two elements.
func (s *Session) readLoop(wait bool) {
	if wait {
		// An error here is the next Read's to report.
		_ = s.tr.Wait()
		s.rd.Fill()
	}
	if s.readElements() {
		go s.readLoop(true)
		return
	}
	close(s.readerDone)
}

// readElements reads and handles top-level elements. Where the transport
// can be polled, it returns true when no input is waiting between two
// elements; it returns false when the stream has ended.
func (s *Session) readElements() bool {
	for {
		if s.tr.Pollable() && s.rd.Idle(s.tr.TryRead) {
			return true
		}
		start, err := s.rd.NextElement()
		if err != nil {
			s.readFailed(err)
			return false
		}
		s.touch()
		switch start.Name {
		case xml.Name{Space: ns.Client, Local: "iq"},
			xml.Name{Space: ns.Client, Local: "message"},
			xml.Name{Space: ns.Client, Local: "presence"}:
		case xml.Name{Space: ns.Stream, Local: "error"}:
			se, err := stanza.DecodeStreamError(s.rd, start)
			if err != nil {
				s.readFailed(err)
				return false
			}
			s.writeCloseTag()
			s.end(fmt.Errorf("session: server ended the stream: %w", se))
			return false
		default:
			cond := stanza.StreamUnsupportedStanzaType
			if start.Name.Space != ns.Client {
				cond = stanza.StreamInvalidNamespace
			}
			s.failStream(&stanza.StreamError{Condition: cond,
				Text: fmt.Sprintf("unexpected top-level element <%s xmlns='%s'>", start.Name.Local, start.Name.Space)})
			return false
		}
		st, err := stanza.Decoder{Lang: s.lang}.Decode(s.rd, start)
		if err != nil {
			var inv *stanza.InvalidError
			if errors.As(err, &inv) {
				s.received.Add(1)
				s.answerInvalid(inv)
				continue
			}
			s.readFailed(err)
			return false
		}
		// The one place where incoming stanzas are counted.
		s.received.Add(1)
		if iq, ok := st.(*stanza.IQ); ok && (iq.Type == stanza.IQResult || iq.Type == stanza.IQError) {
			s.deliverReply(iq)
			continue
		}
		if !s.enqueue(st, s.rd.LastSize()) {
			return false
		}
	}
}

// readFailed ends the session after a read error: bad XML from the server
// is answered with the stream error first.
func (s *Session) readFailed(err error) {
	var se *stanza.StreamError
	switch {
	case errors.As(err, &se):
		s.failStream(se)
	case errors.Is(err, wire.ErrStreamClosed):
		s.writeCloseTag()
		if s.closing.Load() {
			s.end(ErrClosed)
		} else {
			s.end(errors.New("session: server closed the stream"))
		}
		s.tr.Close()
	default:
		if s.closing.Load() {
			s.end(ErrClosed)
		} else {
			s.end(fmt.Errorf("session: reading: %w", err))
		}
		s.tr.Close()
	}
}

// failStream sends a stream error because of bad XML from the server,
// closes the stream and ends the session.
func (s *Session) failStream(se *stanza.StreamError) {
	s.failWith(se, fmt.Errorf("session: server sent bad XML: %w", se))
}

// failWith sends a stream error, closes the stream and ends the session
// with cause.
func (s *Session) failWith(se *stanza.StreamError, cause error) {
	s.end(cause) // first, so that a writer cut off below does not name another cause
	s.acquireForEnd(0)
	if !s.wclosed {
		if b, err := se.AppendXML(nil); err == nil {
			_ = s.tr.SetWriteDeadline(time.Now().Add(5 * time.Second))
			_ = s.writeRaw(append(b, s.tr.CloseTag()...))
		}
		s.wclosed = true
	}
	<-s.wsem
	s.tr.Close()
}

// answerInvalid answers a stanza the decoder refused (RFC 6120 §8.3) where
// it can be answered, and drops it otherwise; the stream goes on.
func (s *Session) answerInvalid(inv *stanza.InvalidError) {
	if !inv.Answerable() {
		s.log.Warn("dropped an invalid stanza", "err", inv)
		return
	}
	h := stanza.Header{ID: inv.ID, To: inv.From}
	var reply stanza.Stanza
	switch inv.Kind {
	case "iq":
		reply = &stanza.IQ{Header: h, Type: stanza.IQError, Error: inv.Reply}
	case "message":
		reply = &stanza.Message{Header: h, Type: stanza.MessageError, Error: inv.Reply}
	default:
		reply = &stanza.Presence{Header: h, Type: stanza.PresenceError, Error: inv.Reply}
	}
	s.log.Info("answered an invalid stanza", "err", inv)
	s.goBackground(func() {
		ctx, cancel := context.WithTimeout(s.ctx, s.cfg.keepAliveTimeout())
		defer cancel()
		_ = s.Send(ctx, reply)
	})
}

// enqueue hands a stanza to the dispatcher, applying back-pressure. It
// returns false when the session ended meanwhile.
func (s *Session) enqueue(st stanza.Stanza, size int) bool {
	bound := s.cfg.queueBytes()
	s.qmu.Lock()
	for s.qbytes+size > bound && len(s.queue) > 0 {
		if s.isEnded() {
			s.qmu.Unlock()
			return false
		}
		if s.closing.Load() {
			// Read on to the server's close; what comes before it is
			// still delivered.
			break
		}
		if s.npending.Load() > 0 {
			if s.qbytes+size > s.cfg.maxQueueBytes() {
				s.qmu.Unlock()
				s.failWith(&stanza.StreamError{Condition: stanza.StreamResourceConstraint, Text: "client cannot keep up"}, ErrHandlerBlocked)
				return false
			}
			break
		}
		s.qcond.Wait()
	}
	s.queue = append(s.queue, queued{st, size})
	s.qbytes += size
	start := !s.dispatching
	s.dispatching = true
	s.qmu.Unlock()
	if start && !s.goBackground(s.dispatch) {
		return false
	}
	return true
}

func (s *Session) isEnded() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// dispatch runs handlers for queued stanzas, one at a time, until the
// queue is empty; then the goroutine exits (it costs nothing while idle).
func (s *Session) dispatch() {
	var msgHs []MessageHandler
	var presHs []PresenceHandler
	for {
		s.qmu.Lock()
		if len(s.queue) == 0 {
			s.queue, s.dispatching = nil, false
			s.qmu.Unlock()
			return
		}
		it := s.queue[0]
		s.queue[0] = queued{}
		s.queue = s.queue[1:]
		s.qbytes -= it.size
		s.qcond.Broadcast()
		s.qmu.Unlock()

		switch st := it.st.(type) {
		case *stanza.IQ:
			s.handleIQ(st)
		case *stanza.Message:
			msgHs = s.mux.messageHandlers(msgHs[:0], st)
			for _, h := range msgHs {
				s.safely(func() { h.HandleMessage(s.ctx, s, st) })
			}
		case *stanza.Presence:
			presHs = s.mux.presenceHandlers(presHs[:0], st)
			for _, h := range presHs {
				s.safely(func() { h.HandlePresence(s.ctx, s, st) })
			}
		}
	}
}

// safely runs a handler, logging a panic instead of crashing the program
// (as net/http does), and reports whether it returned normally.
func (s *Session) safely(f func()) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("handler panicked", "panic", r, "stack", string(debug.Stack()))
			ok = false
		}
	}()
	f()
	return true
}

// handleIQ answers an iq get or set through exactly one handler.
func (s *Session) handleIQ(iq *stanza.IQ) {
	var name xml.Name
	if raw, ok := iq.Payload.(*stanza.Raw); ok {
		name = raw.Name()
	}
	var reply *stanza.IQ
	if h := s.mux.iqHandler(iq.Type, name); h == nil {
		reply = iq.ErrorReply(stanza.NewError(stanza.ServiceUnavailable, ""))
	} else {
		var p stanza.Payload
		var err error
		if !s.safely(func() { p, err = h.HandleIQ(s.ctx, s, iq) }) {
			err = stanza.InternalServerError
		}
		if err != nil {
			reply = iq.ErrorReply(s.toStanzaError(err))
		} else {
			reply = iq.Result(p)
		}
	}
	err := s.Send(s.ctx, reply)
	if errors.Is(err, ErrStanzaTooLarge) && reply.Type == stanza.IQResult {
		// The iq must still be answered (RFC 6120 §8.2.3).
		s.log.Warn("iq result too large for the server", "id", iq.ID, "err", err)
		err = s.Send(s.ctx, iq.ErrorReply(stanza.NewError(stanza.InternalServerError, "result too large for the server")))
	}
	if err != nil && !errors.Is(err, ErrClosed) {
		s.log.Warn("could not answer iq", "id", iq.ID, "err", err)
	}
}

// toStanzaError turns a handler's error into what is sent.
func (s *Session) toStanzaError(err error) *stanza.Error {
	var se *stanza.Error
	if errors.As(err, &se) {
		return se
	}
	var c stanza.Condition
	if errors.As(err, &c) {
		return stanza.NewError(c, "")
	}
	s.log.Warn("iq handler failed", "err", err)
	return stanza.NewError(stanza.InternalServerError, "")
}

// deliverReply hands an iq result or error to the SendIQ waiting for it,
// if it comes from the address the request went to (ARCHITECTURE.md:
// replies are matched on id and sender). Anything else is dropped.
func (s *Session) deliverReply(iq *stanza.IQ) {
	s.pmu.Lock()
	p, ok := s.pending[iq.ID]
	if ok && s.isReplySender(p.to, iq.From) {
		delete(s.pending, iq.ID)
		s.npending.Add(-1)
		s.pmu.Unlock()
		p.ch <- iq
		return
	}
	s.pmu.Unlock()
	s.log.Debug("dropped an iq reply that matches no request", "id", iq.ID, "from", iq.From.String())
}

// isReplySender reports whether a reply from 'from' may answer a request
// sent to 'to': the same address, or, for a request to the account itself
// (no 'to', or the bare JID), no 'from', the bare JID or this session's
// full JID (RFC 6120 §8.1.2.1: the server answers on the account's
// behalf).
func (s *Session) isReplySender(to, from jid.JID) bool {
	if from == to {
		return true
	}
	bare := s.addr.Bare()
	if to.IsZero() || to == bare {
		return from.IsZero() || from == bare || from == s.addr
	}
	return false
}

// Send writes a stanza to the stream. It returns once the stanza is
// written, or when ctx ends; if ctx ends in the middle of a write the
// stream cannot go on and the session ends. After the stream has ended it
// fails at once with an error wrapping ErrClosed and the cause. A stanza
// larger than the server announced it accepts is not sent: Send returns
// an error wrapping ErrStanzaTooLarge, and the stream goes on.
func (s *Session) Send(ctx context.Context, st stanza.Stanza) error {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	b, err := st.AppendXML((*bp)[:0])
	if err != nil {
		return fmt.Errorf("session: encoding stanza: %w", err)
	}
	if cap(b) <= 64<<10 {
		*bp = b[:0]
	}
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer func() { <-s.wsem }()
	if s.wclosed {
		return s.closedErr()
	}
	if limit := s.features.Limits.MaxBytes; limit > 0 && len(b) > limit {
		return fmt.Errorf("%w: %d bytes, the server announced %d", ErrStanzaTooLarge, len(b), limit)
	}
	if err := s.writeCtx(ctx, b); err != nil {
		return err
	}
	if p, ok := st.(*stanza.Presence); ok && p.To.IsZero() {
		switch p.Type {
		case stanza.PresenceAvailable:
			s.available.Store(true)
		case stanza.PresenceUnavailable:
			s.available.Store(false)
		}
	}
	return nil
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// acquire takes the write semaphore, or gives up when ctx or the session
// ends.
func (s *Session) acquire(ctx context.Context) error {
	select {
	case <-s.done:
		return s.closedErr()
	default:
	}
	select {
	case s.wsem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("session: send: %w", context.Cause(ctx))
	case <-s.done:
		return s.closedErr()
	}
}

// acquireForEnd takes the write semaphore to end the stream. A writer that
// holds it gets grace to finish; after that its write is cut off with a
// past deadline, so that a peer that stopped reading (and a Send without
// a deadline) cannot keep the session from ending.
func (s *Session) acquireForEnd(grace time.Duration) {
	select {
	case s.wsem <- struct{}{}:
		return
	default:
	}
	if grace > 0 {
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case s.wsem <- struct{}{}:
			return
		case <-t.C:
		}
	}
	_ = s.tr.SetWriteDeadline(time.Unix(1, 0))
	s.wsem <- struct{}{}
}

// writeCtx writes b while holding the semaphore, bounded by ctx.
func (s *Session) writeCtx(ctx context.Context, b []byte) error {
	var stop func() bool
	if ctx.Done() != nil {
		s.dlmu.Lock()
		s.wtoken++
		tok := s.wtoken
		s.dlmu.Unlock()
		if dl, ok := ctx.Deadline(); ok {
			_ = s.tr.SetWriteDeadline(dl)
		}
		stop = context.AfterFunc(ctx, func() {
			s.dlmu.Lock()
			defer s.dlmu.Unlock()
			if s.wtoken == tok {
				_ = s.tr.SetWriteDeadline(time.Unix(1, 0))
			}
		})
		defer func() {
			stop()
			s.dlmu.Lock()
			s.wtoken++
			_ = s.tr.SetWriteDeadline(time.Time{})
			s.dlmu.Unlock()
		}()
	}
	if err := s.writeRaw(b); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", context.Cause(ctx), err)
		}
		s.wclosed = true
		s.end(fmt.Errorf("session: writing: %w", err))
		s.tr.Close()
		return errors.Join(ErrClosed, err)
	}
	return nil
}

func (s *Session) writeRaw(b []byte) error {
	_, err := s.tr.Write(b)
	if err == nil && s.features.Limits.IdleSeconds > 0 {
		// Only runKeepalive's XEP-0478 check reads it.
		s.lastSent.Store(time.Now().UnixNano())
	}
	return err
}

// writeCloseTag sends </stream:stream> once.
func (s *Session) writeCloseTag() {
	s.acquireForEnd(5 * time.Second)
	defer func() { <-s.wsem }()
	if s.wclosed {
		return
	}
	s.wclosed = true
	_ = s.tr.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_ = s.writeRaw([]byte(s.tr.CloseTag()))
}

// SendIQ sends an iq get or set and waits for its reply. It returns the
// result, or for an iq error the reply together with its *stanza.Error
// (so errors.Is(err, stanza.ItemNotFound) works). An empty ID is replaced
// by an unguessable one (the caller's iq is not modified). Only a reply
// from the address the request went to is accepted (see Session). SendIQ
// may be called from a handler. When ctx ends the request is forgotten
// and a late reply is dropped.
func (s *Session) SendIQ(ctx context.Context, iq *stanza.IQ) (*stanza.IQ, error) {
	if iq.Type != stanza.IQGet && iq.Type != stanza.IQSet {
		return nil, fmt.Errorf("session: SendIQ with type %q, want get or set", iq.Type)
	}
	req := *iq
	if req.ID == "" {
		req.ID = newID()
	}
	p := &pendingIQ{to: req.To, ch: make(chan *stanza.IQ, 1)}
	s.pmu.Lock()
	if _, dup := s.pending[req.ID]; dup {
		s.pmu.Unlock()
		return nil, fmt.Errorf("session: an iq with id %q is already awaiting its reply", req.ID)
	}
	if len(s.pending) >= s.cfg.maxPending() {
		s.pmu.Unlock()
		return nil, fmt.Errorf("session: %d requests already await replies", len(s.pending))
	}
	s.pending[req.ID] = p
	s.npending.Add(1)
	s.pmu.Unlock()
	// A reader held back by a full queue must read on to find the reply.
	s.qmu.Lock()
	s.qcond.Broadcast()
	s.qmu.Unlock()
	defer s.forget(req.ID, p)

	if err := s.Send(ctx, &req); err != nil {
		return nil, err
	}
	select {
	case reply := <-p.ch:
		if reply.Type == stanza.IQError {
			if reply.Error == nil {
				reply.Error = stanza.NewError(stanza.UndefinedCondition, "")
			}
			return reply, reply.Error
		}
		return reply, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("session: waiting for the reply to iq %s: %w", req.ID, context.Cause(ctx))
	case <-s.done:
		return nil, s.closedErr()
	}
}

func (s *Session) forget(id string, p *pendingIQ) {
	s.pmu.Lock()
	if s.pending[id] == p {
		delete(s.pending, id)
		s.npending.Add(-1)
	}
	s.pmu.Unlock()
}

// Close ends the session politely: it sends unavailable presence if
// available presence was sent, closes the stream, waits (within ctx) for
// the server to close its side, closes the connection and waits for the
// session's goroutines. Called from a handler with the handler's context,
// it does not wait for the dispatcher that runs that handler. Close
// returns nil if the session was already closed; after it, Err returns
// ErrClosed unless the stream had ended for another reason before.
func (s *Session) Close(ctx context.Context) error {
	if s.closing.Swap(true) {
		return s.wait(ctx)
	}
	s.qmu.Lock()
	s.qcond.Broadcast() // a reader held back by a full queue reads on
	s.qmu.Unlock()
	if !s.isEnded() {
		if s.available.Load() {
			_ = s.Send(ctx, &stanza.Presence{Type: stanza.PresenceUnavailable})
		}
		s.writeCloseTag()
		select {
		case <-s.readerDone:
		case <-ctx.Done():
		}
	}
	s.end(ErrClosed)
	s.tr.Close()
	return s.wait(ctx)
}

// wait waits for the reader and the background goroutines.
func (s *Session) wait(ctx context.Context) error {
	<-s.readerDone
	if v, _ := ctx.Value(dispatchKey{}).(*Session); v == s {
		return nil
	}
	ch := make(chan struct{})
	go func() { s.bg.Wait(); close(ch) }()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
	}
	// ctx may have ended before Close began: give the goroutines, which
	// stop by themselves once the session has ended, a moment.
	select {
	case <-ch:
		return nil
	case <-time.After(100 * time.Millisecond):
		return fmt.Errorf("session: close: handlers still running: %w", context.Cause(ctx))
	}
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
	now := time.Now()
	idle := now.Sub(time.Unix(0, s.lastActivity.Load()))
	quiet := now.Sub(time.Unix(0, s.lastSent.Load()))
	switch {
	case idle >= iv:
		s.goBackground(func() { s.checkServer(next) })
	case out > 0 && quiet >= out:
		// The server announced how long it lets the client stay silent
		// (XEP-0478): a space keeps the stream alive and asks for no
		// answer.
		s.goBackground(func() {
			if s.sendSpace() == nil {
				s.resetKeepalive(min(iv-time.Since(time.Unix(0, s.lastActivity.Load())), out))
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
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.keepAliveTimeout())
	defer cancel()
	_, err := s.SendIQ(ctx, &stanza.IQ{Header: stanza.Header{To: s.addr.Domain()}, Type: stanza.IQGet, Payload: emptyElement{ns.Ping, "ping"}})
	var se *stanza.Error
	switch {
	case err == nil, errors.As(err, &se):
		// Any answer, even an error, shows the server is there.
		s.resetKeepalive(next)
	case errors.Is(err, context.DeadlineExceeded) && !s.isEnded():
		s.failWith(&stanza.StreamError{Condition: stanza.StreamConnectionTimeout, Text: "no answer to ping"}, ErrKeepaliveTimeout)
	}
}

// sendSpace writes a whitespace keepalive (RFC 6120 §4.6.1).
func (s *Session) sendSpace() error {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.keepAliveTimeout())
	defer cancel()
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer func() { <-s.wsem }()
	if s.wclosed {
		return s.closedErr()
	}
	return s.writeCtx(ctx, []byte{' '})
}

// sendInterval is how long the client lets itself stay silent: half the
// idle time the server announced (XEP-0478), or zero.
func (s *Session) sendInterval() time.Duration {
	if n := s.features.Limits.IdleSeconds; n > 0 {
		return time.Duration(n) * time.Second / 2
	}
	return 0
}

func (s *Session) resetKeepalive(d time.Duration) {
	s.bgmu.Lock()
	defer s.bgmu.Unlock()
	if !s.ended && s.keepalive != nil {
		s.keepalive.Reset(d)
	}
}

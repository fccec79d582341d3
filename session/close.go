package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parleyim/parley/stanza"
)

// How a stream ends: the words used here and in negotiate.go, one
// meaning each.
//
//   - end(cause): the session is over; record cause (the first one wins)
//     and wake everything that waits (Done, Send, SendIQ, the queue).
//     No I/O. The negotiator has no end: it returns the cause.
//   - closeStream(): send our </stream:stream> (once); nothing is
//     written after it.
//   - fail(se, cause): end the stream for a fault: send the stream error
//     se followed by the close tag (the close tag goes out even when se
//     cannot be encoded: appendStreamEnd), and end with cause (the
//     negotiator returns it). It does not touch the connection.
//   - readError(err): what the reader does when it fails with err: bad
//     XML from the server (a *stanza.StreamError) is answered with fail;
//     the server's </stream:stream> with closeStream; anything else
//     (the connection failed) just ends the stream.
//   - hangUp(): close the connection at once; a reader waiting on it
//     wakes with an error.
//   - linger(): hang up after the reader failed the stream while the
//     server may still be writing (see Session.linger).
//   - closedErr(): what Send and SendIQ return after the end.
//
// Whoever ends the stream hangs up (during negotiation, Dial or New
// does).

// ErrClosed is what every Send and SendIQ returns (wrapped, together with
// the cause) once the stream has ended, and what Err returns after Close.
var ErrClosed = errors.New("session: closed")

// endWriteTime bounds writing the stream's end (the close tag, a stream
// error) to a peer that may have stopped reading.
const endWriteTime = 5 * time.Second

// Close ends the session politely: it runs the Mux's close hooks (see
// Mux.HandleClose), sends unavailable presence if available presence was
// sent, closes the stream, waits (within ctx) for
// the server to close its side, closes the connection and waits for the
// session's goroutines. Called from a handler with the handler's context,
// it does not wait for the dispatcher that runs that handler. Close
// returns nil if the session was already closed; after it, Err returns
// ErrClosed unless the stream had ended for another reason before.
//
// With stream management, Close first waits (within ctx) for a broken
// connection to be resumed, and sends the count of stanzas it handled
// with its close tag. A server that answers the close has read, and so
// handled, everything sent before it; when ctx ends before the server's
// close comes, Close and Err return an *UnackedError wrapping ErrClosed
// with the stanzas never acknowledged.
func (s *Session) Close(ctx context.Context) error {
	if s.closing.Swap(true) {
		return s.wait(ctx)
	}
	s.queue.startReadingOn()
	s.readOn() // the server's close must be read
	s.awaitResumption(ctx)
	if !s.isEnded() {
		for _, h := range s.mux.closeHooks() {
			s.safely(func() { h(ctx, s) })
		}
		if s.available.Load() {
			_ = s.Send(ctx, &stanza.Presence{Type: stanza.PresenceUnavailable})
		}
		s.closeStream()
		select {
		case <-s.readerDone:
		case <-ctx.Done():
		}
	}
	s.end(ErrClosed)
	s.hangUp()
	if err := s.wait(ctx); err != nil {
		return err
	}
	var ue *UnackedError
	if errors.As(s.Err(), &ue) && ue.Err == ErrClosed {
		return ue
	}
	return nil
}

// awaitResumption waits, within ctx, while the session is between
// connections (resume.go), so that Close ends a resumed stream politely.
func (s *Session) awaitResumption(ctx context.Context) {
	s.mu.Lock()
	ch := s.downCh
	s.mu.Unlock()
	if ch == nil {
		return
	}
	select {
	case <-ch:
	case <-ctx.Done():
	case <-s.done:
	}
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

// end records why the stream ended, once, and wakes everything that
// waits. It does not close the connection.
func (s *Session) end(cause error) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	if s.sm.on {
		// The stanzas the server never acknowledged go back to the
		// application (sm.go).
		if st := s.unackedStanzas(); len(st) > 0 {
			cause = &UnackedError{Err: cause, Stanzas: st}
		}
	}
	s.ended = true
	s.err = cause
	if s.alive.timer != nil {
		s.alive.timer.Stop()
	}
	s.mu.Unlock()
	if s.sm.on {
		s.sm.mu.Lock()
		s.sm.stopTimer()
		s.sm.dl.stop()
		s.sm.wake()
		s.sm.mu.Unlock()
	}
	s.cancel()
	close(s.done)
	s.queue.stop()
	if cause != ErrClosed {
		s.log.Info("stream ended", "err", cause)
	}
}

// endedBy returns cause, or ErrClosed when Close ended the stream (the
// server's close, or the connection's end, answering ours).
func (s *Session) endedBy(cause error) error {
	if s.closing.Load() {
		return ErrClosed
	}
	return cause
}

func (s *Session) isEnded() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
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

// closeStream sends </stream:stream> once, giving a writer that holds the
// write slot time to finish first.
func (s *Session) closeStream() {
	s.acquireForEnd(endWriteTime)
	defer s.release()
	if s.write.closed {
		return
	}
	s.write.closed = true
	if s.write.down {
		return
	}
	var b []byte
	if s.sm.on {
		// Tell the server what was handled, so that it does not bounce
		// or store again what this session received (XEP-0198 §4).
		b = s.appendAck(b)
	}
	_ = s.conn().SetWriteDeadline(time.Now().Add(endWriteTime))
	// Set before the write, which the server may answer before it returns.
	s.closeSent.Store(true)
	if s.writeRaw(append(b, s.conn().CloseTag()...)) != nil {
		s.closeSent.Store(false)
	}
}

// fail ends the stream because of a fault: it records cause (first, so
// that a writer cut off below does not name another), then sends se and
// the close tag, unless the close tag is already out. The caller hangs up.
func (s *Session) fail(se *stanza.StreamError, cause error) {
	s.end(cause)
	s.acquireForEnd(0)
	defer s.release()
	if s.write.closed {
		return
	}
	s.write.closed = true
	if s.write.down {
		return
	}
	_ = s.conn().SetWriteDeadline(time.Now().Add(endWriteTime))
	_ = s.writeRaw(appendStreamEnd(nil, se, s.conn().CloseTag()))
}

// hangUp closes the connection.
func (s *Session) hangUp() { s.conn().Close() }

// Bounds of linger.
const (
	lingerBytes = 16 << 20
	lingerTime  = 2 * time.Second
)

// linger hangs up after the reader failed the stream (fail) while the
// server may still be writing: an element over the size limit leaves
// megabytes unread, and a socket closed with input unread makes the
// kernel reset the connection, which throws away what the server has
// not read yet — the stream error among it — and fails the server's
// writes, after which a server reads no more. So the connection stops
// writing (the server reads our end of input after the close tag),
// reads and discards input until the server hangs up, up to lingerBytes
// (a few milliseconds of work) or lingerTime, and only then closes.
// Only the reader goroutine lingers, and Close cuts it short.
func (s *Session) linger() { s.conn().Linger(lingerBytes, lingerTime) }

// appendStreamEnd appends se and the close tag that must follow it (RFC
// 6120 §4.9.1.1). A stream error that cannot be encoded (its text or its
// application condition holds what XML cannot carry) is sent with its
// condition alone, or as undefined-condition, so that the close tag
// always goes out.
func appendStreamEnd(b []byte, se *stanza.StreamError, closeTag string) []byte {
	out, err := se.AppendXML(b)
	if err != nil {
		cond := se.Condition
		if !cond.Known() {
			cond = stanza.StreamUndefinedCondition
		}
		out, _ = (&stanza.StreamError{Condition: cond}).AppendXML(b)
	}
	return append(out, closeTag...)
}

// errBadXML is the cause of a stream ended because the server sent bad
// XML.
func errBadXML(se *stanza.StreamError) error {
	return fmt.Errorf("session: server sent bad XML: %w", se)
}

package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/parleyim/parley/stanza"
)

// ErrStanzaTooLarge is what Send returns (wrapped, with the sizes) for a
// stanza larger than the server announced it accepts (XEP-0478). The
// stanza is not sent and the stream goes on.
var ErrStanzaTooLarge = errors.New("session: stanza larger than the server accepts")

// writeSlot lets one writer at a time at the connection. Its rules:
//
//   - sem is a one-slot semaphore held while a stanza (or the stream's
//     end) is written; a channel, so that Send waits for it within ctx;
//   - a ctx that ends in the middle of a write ends the session: a
//     partial stanza cannot be taken back;
//   - ending the stream (close.go) gives a writer that holds the slot
//     grace to finish, then cuts its write off with a past deadline, so
//     that a peer that stopped reading cannot keep the session from
//     ending;
//   - once closed is set (our </stream:stream> is out) nothing more is
//     written.
type writeSlot struct {
	sem    chan struct{}
	closed bool // guarded by sem
	// down (guarded by sem) is set while a resumable session is between
	// connections (resume.go): writers then only queue.
	down bool
	// dlmu guards token: each write bounded by a ctx takes a new token,
	// so that the ctx's late callback cannot cut off a later write.
	dlmu  sync.Mutex
	token uint64
}

// Send writes a stanza to the stream. It returns once the stanza is
// written, or when ctx ends; if ctx ends in the middle of a write the
// stream cannot go on and the session ends. After the stream has ended it
// fails at once with an error wrapping ErrClosed and the cause. A stanza
// larger than the server announced it accepts is not sent: Send returns
// an error wrapping ErrStanzaTooLarge, and the stream goes on.
//
// With stream management (Features().StreamManagement, on by default
// when offered) the stanza is also kept until the server acknowledges
// it: Send returns once it is written, or queued to be written when a
// broken connection has been resumed. When the queue of unacknowledged
// stanzas is full (Config.MaxUnackedBytes), Send asks the server for an
// acknowledgement and waits for room within ctx, failing with an error
// wrapping ErrQueueFull if ctx ends first. A write that fails or is cut
// off by ctx drops the connection, to be resumed, instead of ending a
// session that can resume; then Send returns nil, since the stanza will
// be written again. SendAcked waits for the acknowledgement itself.
func (s *Session) Send(ctx context.Context, st stanza.Stanza) error {
	_, err := s.send(ctx, st)
	return err
}

// send is Send, returning the stanza's count under stream management.
func (s *Session) send(ctx context.Context, st stanza.Stanza) (uint32, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	b, err := st.AppendXML((*bp)[:0])
	if err != nil {
		return 0, fmt.Errorf("session: encoding stanza: %w", err)
	}
	if cap(b) <= 64<<10 {
		*bp = b[:0]
	}
	var seq uint32
	if s.sm.on {
		if seq, err = s.sendManaged(ctx, b); err != nil {
			return 0, err
		}
	} else if err := s.sendPlain(ctx, b); err != nil {
		return 0, err
	}
	if p, ok := st.(*stanza.Presence); ok && p.To.IsZero() {
		switch p.Type {
		case stanza.PresenceAvailable:
			s.available.Store(true)
		case stanza.PresenceUnavailable:
			s.available.Store(false)
		}
	}
	return seq, nil
}

// sendPlain writes an encoded stanza on a stream without stream
// management.
func (s *Session) sendPlain(ctx context.Context, b []byte) error {
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.release()
	if s.write.closed {
		return s.closedErr()
	}
	if limit := s.stream.Limits.MaxBytes; limit > 0 && len(b) > limit {
		return fmt.Errorf("%w: %d bytes, the server announced %d", ErrStanzaTooLarge, len(b), limit)
	}
	return s.writeCtx(ctx, b)
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// acquire takes the write slot, or gives up when ctx or the session ends.
func (s *Session) acquire(ctx context.Context) error {
	select {
	case <-s.done:
		return s.closedErr()
	default:
	}
	select {
	case s.write.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("session: send: %w", context.Cause(ctx))
	case <-s.done:
		return s.closedErr()
	}
}

// acquireForEnd takes the write slot to end the stream: a writer that
// holds it gets grace to finish, then its write is cut off.
func (s *Session) acquireForEnd(grace time.Duration) {
	select {
	case s.write.sem <- struct{}{}:
		return
	default:
	}
	if grace > 0 {
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case s.write.sem <- struct{}{}:
			return
		case <-t.C:
		}
	}
	_ = s.conn().SetWriteDeadline(longAgo)
	s.write.sem <- struct{}{}
}

func (s *Session) release() { <-s.write.sem }

// writeCtx writes b while holding the write slot, bounded by ctx. A
// failed write ends the session.
func (s *Session) writeCtx(ctx context.Context, b []byte) error {
	if err := s.writeBounded(ctx, b); err != nil {
		s.write.closed = true
		s.end(fmt.Errorf("session: writing: %w", err))
		s.hangUp()
		return errors.Join(ErrClosed, err)
	}
	return nil
}

// writeBounded writes b while holding the write slot, bounded by ctx, and
// returns the write's error (naming ctx's cause when ctx cut it off).
func (s *Session) writeBounded(ctx context.Context, b []byte) error {
	if ctx.Done() != nil {
		w := &s.write
		w.dlmu.Lock()
		w.token++
		tok := w.token
		w.dlmu.Unlock()
		tr := s.conn()
		if dl, ok := ctx.Deadline(); ok {
			_ = tr.SetWriteDeadline(dl)
		}
		stop := context.AfterFunc(ctx, func() {
			w.dlmu.Lock()
			defer w.dlmu.Unlock()
			if w.token == tok {
				_ = tr.SetWriteDeadline(longAgo)
			}
		})
		defer func() {
			stop()
			w.dlmu.Lock()
			w.token++
			_ = tr.SetWriteDeadline(time.Time{})
			w.dlmu.Unlock()
		}()
	}
	if err := s.writeRaw(b); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", context.Cause(ctx), err)
		}
		return err
	}
	return nil
}

// writeRaw writes b while holding the write slot.
func (s *Session) writeRaw(b []byte) error {
	_, err := s.conn().Write(b)
	if err == nil && s.stream.Limits.IdleSeconds > 0 {
		// Only the keepalive's XEP-0478 check reads it.
		s.alive.lastSent.Store(time.Now().UnixNano())
	}
	return err
}

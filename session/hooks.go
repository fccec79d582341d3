package session

import (
	"context"
	"fmt"
)

// Lifecycle hooks, registered on a Mux, let a feature package act when a
// stream becomes ready and when it has ended, without reaching into the
// session.
//
// Where they run:
//   - Start hooks run on the dispatcher goroutine as the first work of the
//     new stream (becomeReady starts that dispatcher before the reader), so
//     every stanza of the stream waits in the queue until they have
//     returned. The reader runs meanwhile and matches replies, so a hook may
//     block on SendIQ. Dial and New wait for them (see becomeReady).
//   - End hooks run after the reader has stopped and the stream has ended,
//     as the dispatcher's last work: the reader queues an item without a
//     stanza as it exits (queueEnd), after which nothing else is queued, so
//     the hooks run after the last handler has returned and never beside
//     one. Close waits for them like any handler.
//   - Close hooks run in Close, on the goroutine that called it, while the
//     stream is still open: after Close has begun (the reader then keeps
//     reading, so a hook may call SendIQ) and before Close sends its
//     unavailable presence and the close tag. They may run beside a
//     handler. Nothing runs them when the stream ends some other way:
//     then nothing can be sent any more.
//
// With no hooks registered nothing is allocated or started for them.

// HandleStart registers f to run when a stream with this Mux becomes ready
// (bound, and before any of its stanzas is handed to a handler). Start
// hooks run one at a time, in registration order, on the goroutine that
// then runs the handlers; each may block, and may call SendIQ on s (the
// reply is matched by the reader, so this cannot deadlock). So a roster
// hook can finish its fetch before a presence hook, registered after it,
// sends initial presence (RFC 6121 §2.2 and §4.2).
//
// Dial and New return once every start hook has returned; if ctx or the
// stream ends first, they close the session and return why. ctx is Dial's
// (bounded, like the negotiation, by Config.Timeout when it has no
// deadline); it also ends when the stream ends, and like a handler's it may
// be passed to Close from the hook. A hook must return once ctx has ended;
// the hooks after it still run, with ctx done, so that every start hook
// runs once on every stream.
//
// resumed reports a stream that resumed an earlier one (stream management):
// on it the server kept the session's state, so a package keeps its own and
// sends nothing. After a resumption the start hooks run again, with resumed
// set, as the dispatcher's next work (before any stanza of the new
// connection), with the session's context; Dial is long gone and nothing
// waits for them. A panic in f is recovered and logged, as in a handler.
func (m *Mux) HandleStart(f func(ctx context.Context, s *Session, resumed bool)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.start = append(m.start, f)
}

// HandleEnd registers f to run once when a stream with this Mux has ended,
// with the cause: the error Err returns (ErrClosed after Close, a
// *stanza.StreamError from the server wrapped …). End hooks run one at a
// time, in registration order, after the last handler of that stream has
// returned, and never beside a handler or a start hook. Close waits for
// them, so f must not call Close: the stream has ended already. Sending on
// s fails. A panic in f is recovered and logged, as in a handler.
func (m *Mux) HandleEnd(f func(s *Session, err error)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.end = append(m.end, f)
}

// HandleClose registers f to run when Close begins on a stream with this
// Mux that has not ended: the last moment anything can be sent on it. Close
// hooks run once per stream, one at a time, in registration order, on the
// goroutine that called Close and with its ctx, before Close sends
// unavailable presence and the close tag; Close waits for them. So the
// presence package can send unavailable presence to the entities it sent
// directed presence to (RFC 6121 §4.6). A hook may Send and SendIQ on s,
// must not call Close, and may run beside a handler. When the stream ends
// otherwise (the server closed it, the connection broke) close hooks do
// not run; end hooks run in every case. A panic in f is recovered and
// logged, as in a handler.
func (m *Mux) HandleClose(f func(ctx context.Context, s *Session)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closing = append(m.closing, f)
}

// startHooks returns the registered start hooks. The slice is shared:
// registration only appends, so its first len elements never change.
func (m *Mux) startHooks() []func(context.Context, *Session, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.start
}

// endHooks is startHooks for the end hooks.
func (m *Mux) endHooks() []func(*Session, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.end
}

// closeHooks is startHooks for the close hooks.
func (m *Mux) closeHooks() []func(context.Context, *Session) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.closing
}

// becomeReady starts a negotiated session: the start hooks, as the first
// work of a dispatcher started before the reader, then the reader. It
// returns once the hooks have run. If ctx ends first, or the stream ends
// meanwhile, it closes the session and returns why.
func (s *Session) becomeReady(ctx context.Context, resumed bool) error {
	hooks := s.mux.startHooks()
	if len(hooks) == 0 {
		s.start()
		return nil
	}
	// The hooks' context: ctx, also ended by the end of the stream, and
	// marked as a handler's, so that Close from a hook does not wait for
	// the dispatcher that runs it.
	hctx, cancel := context.WithCancel(context.WithValue(ctx, dispatchKey{}, s))
	stop := context.AfterFunc(s.ctx, cancel)
	ran := make(chan struct{})
	s.queue.hold() // what the reader queues waits for the hooks
	s.goBackground(func() {
		for _, h := range hooks {
			s.safely(func() { h(hctx, s, resumed) })
		}
		stop()
		cancel()
		close(ran)
		s.dispatch()
	})
	s.start()
	select {
	case <-ran:
		if s.ctx.Err() != nil {
			// The stream ended (the hooks' ctx ended with it, a moment
			// before Done is closed).
			<-s.done
			err := fmt.Errorf("session: stream ended before the start hooks returned: %w", s.Err())
			_ = s.Close(ctx)
			return err
		}
		if ctx.Err() == nil {
			return nil
		}
		// The hooks returned because ctx ended: their work is undone.
	case <-ctx.Done():
	}
	err := fmt.Errorf("session: waiting for the start hooks: %w", context.Cause(ctx))
	s.end(err) // first, so that Close does not name another cause
	_ = s.Close(ctx)
	return err
}

// queueEnd makes the end hooks the dispatcher's last work. The reader
// calls it as it exits: the stream has ended and nothing is queued after
// it. It runs before the reader closes readerDone, so the goroutine it may
// add to bg is counted before Close waits for bg (Close waits for the
// reader first).
func (s *Session) queueEnd() {
	if len(s.mux.endHooks()) == 0 {
		return
	}
	if s.queue.pushLast() {
		// Not goBackground, which starts nothing once the stream has ended.
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			s.dispatch()
		}()
	}
}

// runEndHooks runs the end hooks, for the dispatcher.
func (s *Session) runEndHooks() {
	// The reader exits only after end has begun; wait until it is over
	// (another goroutine may still be in it) and the cause is recorded.
	<-s.done
	err := s.Err()
	for _, h := range s.mux.endHooks() {
		s.safely(func() { h(s, err) })
	}
}

// queueResumed makes the start hooks, with resumed set, the dispatcher's
// next work after what is queued. The reader calls it when a resumed
// stream has taken over, before it reads from it, so they run before
// any stanza of the new connection reaches a handler.
func (s *Session) queueResumed() {
	if s.queue.pushMark(queued{resumed: true}) && !s.goBackground(s.dispatch) {
		s.queue.drop()
	}
}

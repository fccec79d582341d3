package session

import (
	"fmt"
	"sync"
	"time"
)

// EventKind says what happened to a Client's connection.
type EventKind int

const (
	// Connected: a session is up (Event.Session). With Resumed set, the
	// session's broken connection was resumed (stream management) and
	// nothing was lost; otherwise it is a new session, whose start hooks
	// have run.
	Connected EventKind = iota + 1
	// Disconnected: a stream ended, or an attempt to dial one failed, with
	// Err saying why. With Resuming set only the connection broke and the
	// session is resuming it (Send goes on queueing meanwhile).
	Disconnected
	// Reconnecting: the Client will dial again after Delay (Attempt is
	// the number of the attempt since the last session).
	Reconnecting
	// GaveUp: Run is stopping for a reason that cannot pass, Err.
	GaveUp
)

func (k EventKind) String() string {
	switch k {
	case Connected:
		return "connected"
	case Disconnected:
		return "disconnected"
	case Reconnecting:
		return "reconnecting"
	case GaveUp:
		return "gave up"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one change of a Client's connection (ClientConfig.Events).
type Event struct {
	Kind EventKind
	// Session is the session concerned (Connected; Disconnected and
	// GaveUp when a session ended); nil for a failed attempt.
	Session *Session
	// Err is why (Disconnected, GaveUp).
	Err error
	// Attempt counts the attempts since the last session (Reconnecting;
	// Disconnected and GaveUp after a failed attempt).
	Attempt int
	// Delay is the wait before the next attempt (Reconnecting).
	Delay time.Duration
	// Resumed (Connected) and Resuming (Disconnected) mark a connection
	// that stream management resumed, or is resuming, in the same
	// session.
	Resumed, Resuming bool
}

func (e Event) String() string {
	switch {
	case e.Kind == Connected && e.Resumed:
		return "connected (resumed)"
	case e.Kind == Connected && e.Session != nil:
		return "connected as " + e.Session.Addr().String()
	case e.Kind == Disconnected && e.Resuming:
		return fmt.Sprintf("disconnected (resuming): %v", e.Err)
	case e.Kind == Reconnecting:
		return fmt.Sprintf("reconnecting in %v (attempt %d)", e.Delay.Round(time.Millisecond), e.Attempt)
	case e.Err != nil:
		return fmt.Sprintf("%v: %v", e.Kind, e.Err)
	}
	return e.Kind.String()
}

// eventQueue hands events to the application's callback, in order, on a
// goroutine of its own: emit never blocks (sessions' readers call it),
// and events are rare, so the queue is a slice.
type eventQueue struct {
	f       func(Event)
	mu      sync.Mutex
	q       []Event
	wake    chan struct{}
	stopped chan struct{}
	closed  bool
}

// start starts the delivery goroutine.
func (e *eventQueue) start() {
	if e.f == nil {
		return
	}
	e.wake = make(chan struct{}, 1)
	e.stopped = make(chan struct{})
	go e.deliver()
}

// emit queues ev.
func (e *eventQueue) emit(ev Event) {
	if e.f == nil {
		return
	}
	e.mu.Lock()
	if e.closed || e.wake == nil {
		e.mu.Unlock()
		return
	}
	e.q = append(e.q, ev)
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// finish delivers what is queued, stops the goroutine and waits for it.
// Later events are dropped: they belong to sessions already closed.
func (e *eventQueue) finish() {
	if e.f == nil {
		return
	}
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
	<-e.stopped
}

func (e *eventQueue) deliver() {
	defer close(e.stopped)
	for range e.wake {
		for {
			e.mu.Lock()
			if len(e.q) == 0 {
				closed := e.closed
				e.mu.Unlock()
				if closed {
					return
				}
				break
			}
			ev := e.q[0]
			e.q[0] = Event{}
			e.q = e.q[1:]
			e.mu.Unlock()
			e.f(ev)
		}
	}
}

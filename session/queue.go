package session

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyim/parley/stanza"
)

// ErrHandlerBlocked means handlers fell so far behind while a request
// was waiting for its reply that the hard queue cap was reached.
var ErrHandlerBlocked = errors.New("session: a handler blocked too long: incoming queue over its hard cap")

// dispatchQueue carries every stanza except replies from the reader to
// the dispatcher (dispatch.go), which runs the handlers one at a time in
// arrival order. Its rules:
//
//   - it is bounded in bytes of input (Config.QueueBytes); when the next
//     stanza would go over the bound, the reader waits in push, so it
//     stops reading and the server sees TCP back-pressure;
//   - except while a request awaits its reply (pendingTable.waiting):
//     then the reader queues on, so that a handler that called SendIQ
//     gets its reply, up to a hard cap (Config.MaxQueueBytes), past
//     which the session ends with ErrHandlerBlocked;
//   - and except once Close was called (readOn): the reader reads on to
//     the server's close, and what comes before it is still delivered;
//   - the dispatcher goroutine exists only while there is work: push
//     says when to start one, and pop tells it to exit when the queue is
//     empty, so an idle session has none;
//   - and when the queue is empty and no dispatcher runs, the reader runs
//     the handlers of the stanza it read itself (claimInline), saving the
//     wake-up of another goroutine for every message that arrives alone.
//     While it does, nothing reads the stream; whatever needs input read
//     (a request waiting for its reply or for an ack, Close, a handler
//     that runs longer than inlineBudget) hands the reading to a new
//     reader goroutine (readOn), and the old one, once its handler
//     returns, is the dispatcher of what the new one queues.
type dispatchQueue struct {
	mu      sync.Mutex
	cond    sync.Cond // on mu: space was freed, or a rule changed
	items   []queued
	bytes   int
	running bool // a dispatcher goroutine exists
	readOn  bool // Close was called: no back-pressure
	stopped bool // the session ended: push gives up
	held    bool // the reader waits in push for room (back-pressure)
	inline  bool // the reader runs handlers (claimInline): nothing reads
	handed  bool // while inline, the reading went to a new goroutine
}

type queued struct {
	st      stanza.Stanza
	size    int
	resumed bool // no stanza: run the start hooks of a resumed stream
}

// errQueueStopped is what push returns once the session has ended.
var errQueueStopped = errors.New("session: queue stopped")

// push queues a stanza that took size bytes of input, waiting while the
// queue is full (see dispatchQueue for the rules). It reports whether the
// caller must start a dispatcher. It fails with ErrHandlerBlocked past the
// hard cap, and with errQueueStopped once the session has ended.
func (q *dispatchQueue) push(st stanza.Stanza, size, bound, hardCap int, pending *pendingTable) (start bool, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.bytes+size > bound && len(q.items) > 0 && !q.readOn {
		if q.stopped {
			return false, errQueueStopped
		}
		if pending.waiting() {
			if q.bytes+size > hardCap {
				return false, ErrHandlerBlocked
			}
			break
		}
		q.held = true
		q.cond.Wait()
		q.held = false
	}
	q.items = append(q.items, queued{st: st, size: size})
	q.bytes += size
	start = !q.running
	q.running = true
	return start, nil
}

// readerHeld reports whether the reader waits for room in the queue, so
// that it reads nothing (the ack timeout, acktimeout.go, does not count
// that time against the server).
func (q *dispatchQueue) readerHeld() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.held || q.inline && !q.handed
}

// claimInline reports whether the reader may run the handlers of the
// stanza it read itself: nothing is queued and no dispatcher runs. If so,
// the reader is the dispatcher until endInline.
func (q *dispatchQueue) claimInline() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.running || len(q.items) > 0 || q.stopped {
		return false
	}
	q.running, q.inline = true, true
	return true
}

// endInline is the reader's, once the handlers it ran returned. It
// reports whether the caller still reads the stream (false: the reading
// was handed over meanwhile, and the caller is the dispatcher of what
// was queued since), and, if it does, whether a dispatcher must be
// started for items queued meanwhile.
func (q *dispatchQueue) endInline() (reading, start bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.inline = false
	if q.handed {
		q.handed = false
		return false, false
	}
	if len(q.items) > 0 {
		// Not reached today: only the reader queues while nothing else
		// reads (queueResumed, queueEnd), and it was running handlers.
		// Kept so that such items would still reach a dispatcher.
		return true, true // running stays set for the new dispatcher
	}
	q.running = false
	return true, false
}

// hold marks the queue as served before anything is pushed: the
// goroutine that runs the start hooks becomes its dispatcher afterwards
// (hooks.go), so what the reader pushes meanwhile waits for the hooks.
func (q *dispatchQueue) hold() {
	q.mu.Lock()
	q.running = true
	q.mu.Unlock()
}

// pushLast queues the item without a stanza that makes the dispatcher
// run the end hooks (hooks.go). The reader pushes it as it exits, so
// nothing comes after it; bounds do not apply. It reports whether the
// caller must start a dispatcher.
func (q *dispatchQueue) pushLast() (start bool) { return q.pushMark(queued{}) }

// pushMark queues an item without a stanza, without back-pressure, and
// reports whether the caller must start a dispatcher.
func (q *dispatchQueue) pushMark(it queued) (start bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.items = append(q.items, it)
	start = !q.running
	q.running = true
	return start
}

// drop empties the queue when no dispatcher could be started for it
// (the session ended meanwhile), so that pushLast starts one for the end
// hooks.
func (q *dispatchQueue) drop() {
	q.mu.Lock()
	q.items, q.bytes, q.running = nil, 0, false
	q.mu.Unlock()
}

// pop takes the oldest stanza for the dispatcher. When the queue is empty
// it returns false, and the dispatcher must exit: the next push starts
// another.
func (q *dispatchQueue) pop() (queued, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		q.items, q.running = nil, false
		return queued{}, false
	}
	it := q.items[0]
	q.items[0] = queued{}
	q.items = q.items[1:]
	q.bytes -= it.size
	q.cond.Broadcast()
	return it, true
}

// wake makes a reader that waits in push look at the rules again (a
// request started waiting for its reply).
func (q *dispatchQueue) wake() {
	q.mu.Lock()
	q.cond.Broadcast()
	q.mu.Unlock()
}

// inlineBudget is how long the reader runs a stanza's handlers (see
// claimInline) before the reading goes to a new goroutine regardless.
// Handlers that answer at once (most: they update state, or send) take
// microseconds; one that waits longer for anything outside the session
// (a database, a channel) must not stop the stream from being read: the
// server's ack requests and pings, the replies other goroutines wait for
// (a goroutine that waits for a reply hands the reading over itself, at
// once: readOn). While stanzas stream in, the budget's timer fires about
// once per inlineBudget (inlineWatch), and each firing costs a goroutine
// and a wake-up: 100 ms keeps that to 10 a second. Nothing the session
// reads waits on a deadline anywhere near that short: servers wait tens
// of seconds for an ack, the keepalive seconds for an answer.
const inlineBudget = 100 * time.Millisecond

// readOn makes sure the stream is read: when the reader runs handlers
// (claimInline), a new reader goroutine takes the reading over. Whatever
// is about to wait for input calls it: a request waiting for its reply
// or for an ack, Close; and the inlineBudget timer.
func (s *Session) readOn() {
	q := &s.queue
	q.mu.Lock()
	if !q.inline || q.handed {
		q.mu.Unlock()
		return
	}
	q.handed = true
	// The old reader becomes a dispatcher when its handlers return
	// (readInline), and then leaves bg: counted before it can see
	// handed, and before the new reader can end and Close wait for bg
	// (as in queueEnd).
	s.bg.Add(1)
	q.mu.Unlock()
	go s.readLoop(false)
}

// readInline runs the handlers of st on the reader goroutine (the queue
// said so: claimInline), within inlineBudget. It reports whether this
// goroutine still reads the stream; when it does not, it ran the
// dispatcher for what the new reader queued meanwhile, and must exit.
func (s *Session) readInline(st stanza.Stanza, at time.Time) (reading bool) {
	if s.inline.begin(at) {
		s.inline.set(s.inlineCheck)
	}
	s.handle(st, &s.inlineHs)
	s.inline.end()
	reading, start := s.queue.endInline()
	if !reading {
		defer s.bg.Done() // readOn's Add
		s.dispatch()
		return false
	}
	if start && !s.goBackground(s.dispatch) {
		s.queue.drop()
	}
	return true
}

// inlineWatch holds the handlers the reader runs (readInline) to
// inlineBudget without a timer operation per stanza. Setting a timer for
// each stanza and stopping it after its handlers cost more than the
// handlers of a chat message: a timer set earlier than the one the
// runtime's network poller sleeps until wakes the poller's thread (an
// eventfd write and read, and a pass through the scheduler), which while
// messages arrive one at a time happened for about every other message
// (BenchmarkReceive). Instead the reader notes when its handlers began
// (since) and sets the timer only when it is not set already; when the
// timer fires it looks at since, hands the reading over if the handlers
// have run for inlineBudget, sets itself for what is left if they run
// still, and otherwise stays off until the next stanza sets it. So while
// stanzas stream in it fires about once per inlineBudget, and an idle
// session has no timer set.
//
// armed says the timer is set or its function runs. Both sides store
// their own fact first and then try to set the timer with a
// compare-and-swap on armed (the reader: since, then armed; the timer:
// armed cleared, then since read), so whichever comes second sees the
// other's store: a handler that begins while the timer's function runs
// is always watched, and the timer is never set twice.
type inlineWatch struct {
	since atomic.Int64 // when the running handlers began (monotonic, +1); 0: none run
	armed atomic.Bool
	mu    sync.Mutex  // orders making the timer before its use in check
	timer *time.Timer // made when the reader first runs handlers
}

// monoEpoch is what inlineWatch's times count from: time.Since of it
// reads the monotonic clock.
var monoEpoch = time.Now()

// begin is the reader's, before it runs handlers, with the time the
// stanza came (a reading of the monotonic clock): it reports whether the
// timer is off, in which case the reader sets it (set).
func (w *inlineWatch) begin(at time.Time) bool {
	w.since.Store(int64(at.Sub(monoEpoch)) + 1)
	return w.armed.CompareAndSwap(false, true)
}

// set sets the timer for a full inlineBudget, making it on first use;
// check is what it runs (Session.inlineCheck). Apart from begin so that
// the method value is made only here, not for every stanza.
func (w *inlineWatch) set(check func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer == nil {
		w.timer = time.AfterFunc(inlineBudget, check)
		return
	}
	w.timer.Reset(inlineBudget)
}

// end is the reader's, once the handlers returned.
func (w *inlineWatch) end() { w.since.Store(0) }

// inlineCheck runs on the inlineWatch timer: it hands the reading over
// when the reader's handlers have run for inlineBudget (readOn), and
// otherwise sets the timer again while handlers run.
func (s *Session) inlineCheck() {
	w := &s.inline
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armed.Store(false)
	since := w.since.Load()
	if since == 0 {
		return // the next stanza's handlers set the timer again
	}
	left := inlineBudget - (time.Since(monoEpoch) - time.Duration(since-1))
	if left <= 0 {
		s.readOn()
		return
	}
	if w.armed.CompareAndSwap(false, true) {
		w.timer.Reset(left)
	}
}

// startReadingOn lifts back-pressure for good (Close was called).
func (q *dispatchQueue) startReadingOn() {
	q.mu.Lock()
	q.readOn = true
	q.cond.Broadcast()
	q.mu.Unlock()
}

// stop makes push give up (the session ended).
func (q *dispatchQueue) stop() {
	q.mu.Lock()
	q.stopped = true
	q.cond.Broadcast()
	q.mu.Unlock()
}

// size returns the bytes queued.
func (q *dispatchQueue) size() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.bytes
}

// enqueue hands a stanza the reader read to the dispatcher, applying
// back-pressure. It returns false when the stream has ended (and, past
// the hard cap, ends it).
func (s *Session) enqueue(st stanza.Stanza, size int) bool {
	start, err := s.queue.push(st, size, s.cfg.queueBytes(), s.cfg.maxQueueBytes(), &s.pending)
	switch {
	case errors.Is(err, ErrHandlerBlocked):
		s.fail(&stanza.StreamError{Condition: stanza.StreamResourceConstraint, Text: "client cannot keep up"}, ErrHandlerBlocked)
		s.linger()
		return false
	case err != nil:
		return false
	}
	if start && !s.goBackground(s.dispatch) {
		s.queue.drop()
		return false
	}
	return true
}

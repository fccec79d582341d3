package session

import (
	"errors"
	"net"
	"os"
	"time"

	"github.com/parleyim/parley/internal/wire"
)

// idleInput is the transport's side of the idle hand-over: it reads input
// that arrives within a short wait, and otherwise tells the reader that
// the stream is idle; then it waits for input without reading it. This
// comment is the one place that says why and how; the pieces elsewhere
// point here.
//
// Why. Most sessions are idle most of the time, so an idle session must
// cost little memory. The expensive parts are the read buffer, the XML
// parser and the reader goroutine's stack: the runtime halves a stack
// only when less than a quarter of it is in use, so a reader that parsed
// a stanza and then waited for the next one in place would keep 4 KiB or
// more, while a goroutine that never parsed anything waits on the
// smallest stack (2 KiB). But a busy session must not pay for that: a
// hand-over costs a new goroutine, a new parser and system calls, which
// while messages arrive one at a time would be paid for every one.
//
// How. Between two top-level elements the reader (readLoop):
//
//  1. reads in place, with its buffer and parser, waiting for input up to
//     a read deadline (readSoon): the deadline is moved only when less
//     than idleWait of it is left, to 2×idleWait from now, so while
//     input comes more often than once per idleWait it is moved at most
//     once per idleWait, not once per element, and no timer is started
//     per element;
//  2. when the deadline passes with nothing read — the stream was silent
//     for at least idleWait — wire.Reader.Idle lets go of the read buffer
//     and the XML parser, and the reader starts a new goroutine and
//     exits;
//  3. the new goroutine clears the deadline and waits for the socket to
//     become readable through the runtime's network poller, without
//     reading, a few frames deep (wait: a MSG_PEEK in
//     syscall.RawConn.Read, poll_unix.go);
//  4. then it reads what is there (wire.Reader.Fill) and parses on; the
//     next element gets a new parser, which first reads the stream
//     header's namespace declarations again (wire.Reader's resume).
//
// A stream with input at least once per idleWait never hands over; order
// is kept because the old goroutine has finished with the stream before
// the new one starts. Where the socket cannot be polled (net.Pipe, a
// custom Config.DialContext conn, Windows: poll is nil) the reader waits
// in Read instead, one byte at a time between elements, with its buffer
// back in the pool (wire's waitInput).
//
// What it relies on. A read deadline may pass while crypto/tls is in the
// middle of a record, or holds decrypted input. Two behaviours of Go make
// that safe, and TestRuntimeReadDeadlineBeforeSyscall,
// TestRuntimeTLSTimeoutNotSticky and TestRuntimeTLSTimeoutMidRecord
// (idle_test.go) check them against real loopback TCP and TLS
// connections, so that a Go release that changed them fails the tests:
//
//   - a Read returns input already buffered before it looks at the
//     deadline, and a Read whose deadline has passed fails with
//     os.ErrDeadlineExceeded before the system call, taking nothing from
//     the socket;
//   - crypto/tls's timeout is not sticky: once the deadline is cleared,
//     the next Read works, and a record half read when the deadline
//     passed is completed by it.
//
// Read deadlines are not used otherwise once the stream is up. A Read
// made inside an element (wire's fill) must not time out: it clears the
// deadline and reads again when it finds it passed (read), rather than
// clearing it before each Read.
type idleInput struct {
	poll *poller  // the socket's readiness; nil where it cannot be polled
	conn net.Conn // what is read: the TLS conn once TLS is on
	raw  net.Conn // the connection underneath, which holds the deadline
	// until is the read deadline readSoon set, zero when none is set;
	// the reader goroutine's alone.
	until time.Time
}

// longAgo is a deadline that has passed.
var longAgo = time.Unix(1, 0)

// idleWait is how long the stream must be silent before the reader hands
// over: between idleWait and twice that (see idleInput). Long enough that
// a stream that comes in bursts does not hand over between them: from
// Prosody, 4,000 messages sent as fast as the sender could came with 45
// silences over 1 ms and about 20 over 10 ms, and each hand-over costs a
// timer that wakes a thread and a new goroutine that wakes another. An
// idle session still reaches its small state 10–20 ms after its last
// input.
const idleWait = 10 * time.Millisecond

func (in *idleInput) pollable() bool { return in.poll != nil }

// readSoon reads input into p, waiting for it in place, or returns
// wire.ErrNoInput when none came for at least idleWait.
func (in *idleInput) readSoon(p []byte) (int, error) {
	now := time.Now()
	if in.until.IsZero() || in.until.Sub(now) < idleWait {
		in.until = now.Add(2 * idleWait)
		_ = in.raw.SetReadDeadline(in.until)
	}
	n, err := in.conn.Read(p)
	if n == 0 && errors.Is(err, os.ErrDeadlineExceeded) {
		return 0, wire.ErrNoInput
	}
	return n, err
}

// read is Read that never times out: it clears a deadline readSoon left
// once it has passed, and reads again.
func (in *idleInput) read(p []byte) (int, error) {
	for {
		n, err := in.conn.Read(p)
		if n == 0 && !in.until.IsZero() && errors.Is(err, os.ErrDeadlineExceeded) {
			in.clearDeadline()
			continue
		}
		return n, err
	}
}

// clearDeadline clears the deadline readSoon set, before a read that
// must not time out.
func (in *idleInput) clearDeadline() {
	if !in.until.IsZero() {
		_ = in.raw.SetReadDeadline(time.Time{})
		in.until = time.Time{}
	}
}

// wait blocks until the socket has something to read (input, its end or
// an error), without reading it.
func (in *idleInput) wait() error {
	in.clearDeadline()
	return in.poll.wait()
}

// readLoop is the session's reader goroutine, which hands over to a new
// one whenever the stream has been silent for idleWait (see idleInput).
func (s *Session) readLoop(wait bool) {
	for {
		if wait {
			// An error here is the next Read's to report.
			_ = s.conn().Wait()
			s.rd.Fill()
		}
		res, err := s.readElements()
		switch res {
		case readIdle:
			go s.readLoop(true)
			return
		case readHandedOff:
			return
		case readLost:
			if s.resume(err) {
				wait = false
				continue // over the new connection
			}
		}
		break
	}
	s.queueEnd() // before readerDone (see queueEnd)
	close(s.readerDone)
}

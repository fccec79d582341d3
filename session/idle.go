package session

import (
	"crypto/tls"
	"errors"
	"os"
	"time"

	"github.com/parleyim/parley/internal/wire"
)

// idleInput is the transport's side of the idle hand-over: it tells,
// without blocking, whether input is waiting, and waits for input without
// reading it. This comment is the one place that says why and how; the
// pieces elsewhere point here.
//
// Why. Most sessions are idle most of the time, so an idle session must
// cost little memory. The expensive parts are the read buffer, the XML
// parser and the reader goroutine's stack: the runtime halves a stack
// only when less than a quarter of it is in use, so a reader that parsed
// a stanza and then waited for the next one in place would keep 4 KiB or
// more, while a goroutine that never parsed anything waits on the
// smallest stack (2 KiB).
//
// How. Between two top-level elements the reader (readLoop):
//
//  1. asks whether input is waiting — in wire.Reader's buffer, in
//     crypto/tls's buffers, or in the socket — without blocking:
//     wire.Reader.Idle calls tryRead;
//  2. when none is, wire.Reader.Idle lets go of the read buffer and the
//     XML parser, and the reader starts a new goroutine and exits;
//  3. the new goroutine waits for the socket to become readable through
//     the runtime's network poller, without reading, a few frames deep
//     (wait: a MSG_PEEK in syscall.RawConn.Read, poll_unix.go);
//  4. then it reads what is there (wire.Reader.Fill) and parses on; the
//     next element gets a new parser, which first reads the stream
//     header's namespace declarations again (wire.Reader's resume).
//
// A busy stream never hands over, since input is waiting after each
// element; order is kept because the old goroutine has finished with the
// stream before the new one starts. Where the socket cannot be polled
// (net.Pipe, a custom Config.DialContext conn, Windows: poll is nil) the
// reader waits in Read instead, one byte at a time between elements,
// with its buffer back in the pool (wire's waitInput).
//
// What it relies on. crypto/tls may hold input the socket no longer
// shows (decrypted data, or whole records read along with earlier ones),
// and the only way to ask it is a Read. tryRead makes that Read with a
// read deadline in the past, relying on two behaviours of Go that
// TestRuntimeReadDeadlineBeforeSyscall and TestRuntimeTLSTimeoutNotSticky
// (idle_test.go) check against real loopback TCP and TLS connections, so
// that a Go release that changed them fails the tests:
//
//   - a Read whose deadline has passed returns input already buffered,
//     and otherwise fails with os.ErrDeadlineExceeded before the system
//     call, taking nothing from the socket;
//   - crypto/tls's timeout is not sticky: once the deadline is cleared,
//     the next Read works.
//
// The deadline stays in the past from tryRead to the next Read (probing),
// so that a busy stream does not set it for each stanza; read deadlines
// are not used otherwise once the stream is up.
type idleInput struct {
	poll    *poller   // the socket's readiness; nil where it cannot be polled
	tls     *tls.Conn // nil without TLS
	probing bool      // tls's read deadline is in the past; the reader goroutine's alone
}

// longAgo is a deadline that has passed.
var longAgo = time.Unix(1, 0)

func (in *idleInput) pollable() bool { return in.poll != nil }

// tryRead reads input that is already waiting into p, or returns
// wire.ErrNoInput at once where a read would block.
func (in *idleInput) tryRead(p []byte) (int, error) {
	if in.tls == nil {
		return in.poll.read(p)
	}
	if !in.probing {
		_ = in.tls.SetReadDeadline(longAgo)
		in.probing = true
	}
	n, err := in.tls.Read(p)
	if n == 0 && errors.Is(err, os.ErrDeadlineExceeded) {
		// Nothing in crypto/tls. If the socket has bytes (the next
		// record, at least in part), read them as Read does. (The
		// poller, too, fails at once while the deadline is past.)
		in.endProbe()
		if !in.poll.readable() {
			return 0, wire.ErrNoInput
		}
		return in.tls.Read(p)
	}
	return n, err
}

// endProbe clears the read deadline that tryRead left in the past, before
// a read that may block.
func (in *idleInput) endProbe() {
	if in.probing {
		_ = in.tls.SetReadDeadline(time.Time{})
		in.probing = false
	}
}

// wait blocks until the socket has something to read (input, its end or
// an error), without reading it.
func (in *idleInput) wait() error { return in.poll.wait() }

// readLoop is the session's reader goroutine, which hands over to a new
// one whenever no input is waiting (see idleInput).
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

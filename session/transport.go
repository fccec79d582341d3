package session

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/parleyim/parley/internal/wire"
)

// transport is the seam between the XML stream and what carries it. The
// negotiation and the read loop see only this interface. Today's
// implementation is a TCP byte stream that can be upgraded to TLS in place;
// an RFC 7395 WebSocket transport fits by opening with <open/>, closing with
// <close/> and refusing StartTLS (WebSocket security is the wss:// URL's).
type transport interface {
	io.Reader
	io.Writer
	// StartTLS upgrades the connection in place and runs the handshake.
	StartTLS(ctx context.Context, cfg *tls.Config) error
	// TLS returns a copy of the TLS state, or nil on an unencrypted
	// connection.
	TLS() *tls.ConnectionState
	// Encrypted reports whether TLS is on, without copying its state.
	Encrypted() bool
	SetDeadline(t time.Time) error
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
	Close() error
	// Linger ends the connection after a stream error while the peer may
	// still be writing: it stops writing, reads and discards input until
	// the peer hangs up, maxBytes were read or maxWait has passed, and
	// closes (see Session.linger). Close cuts it short.
	Linger(maxBytes int64, maxWait time.Duration)
	// AppendOpen appends what opens (or restarts) a stream.
	AppendOpen(b []byte, h wire.Header) []byte
	// CloseTag is what closes a stream.
	CloseTag() string

	// Pollable, ReadSoon and Wait are the idle hand-over (idle.go).
	// Pollable reports whether ReadSoon and Wait work; if not, the reader
	// waits for input in Read.
	Pollable() bool
	// ReadSoon is Read that returns wire.ErrNoInput when no input came
	// for a while. Only the reader goroutine calls it, between elements.
	ReadSoon(p []byte) (int, error)
	// Wait blocks until Read would not block (input, end of input or an
	// error), without reading. Only the reader goroutine calls it, after
	// ReadSoon returned wire.ErrNoInput.
	Wait() error
}

// tcpTransport is a net.Conn, plain or TLS, carrying RFC 6120 streams.
type tcpTransport struct {
	// idleInput's conn is what is read and written (the TLS conn once
	// TLS is on), its raw the connection underneath, closed by Close.
	idleInput
	tls   *tls.Conn // nil without TLS
	trace *tracer
}

func newTCPTransport(c net.Conn, t *tracer) *tcpTransport {
	tr := &tcpTransport{trace: t}
	tr.conn, tr.raw = c, c
	if tc, ok := c.(*tls.Conn); ok {
		tr.tls = tc
		tr.raw = tc.NetConn()
	}
	tr.poll = newPoller(tr.raw)
	return tr
}

func (t *tcpTransport) Read(p []byte) (int, error) {
	n, err := t.read(p)
	if n > 0 {
		t.trace.chunk("RECV ", p[:n])
	}
	return n, err
}

func (t *tcpTransport) Write(p []byte) (int, error) {
	t.trace.chunk("SEND ", p)
	return t.conn.Write(p)
}

func (t *tcpTransport) StartTLS(ctx context.Context, cfg *tls.Config) error {
	if t.tls != nil {
		return errors.New("session: TLS is already on")
	}
	tc := tls.Client(t.conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("session: TLS handshake with %s: %w", cfg.ServerName, err)
	}
	t.conn, t.tls = tc, tc
	return nil
}

// TLS returns a copy of the state, made on each call rather than kept:
// an idle session should not hold one.
func (t *tcpTransport) TLS() *tls.ConnectionState {
	if t.tls == nil {
		return nil
	}
	st := t.tls.ConnectionState()
	return &st
}

func (t *tcpTransport) Encrypted() bool { return t.tls != nil }

// Deadlines are set on the connection underneath, which never changes: a
// TLS connection's deadlines are its connection's, and the negotiation's
// ctx sets them from another goroutine (context.AfterFunc) while
// StartTLS may be replacing conn.
func (t *tcpTransport) SetDeadline(d time.Time) error      { return t.raw.SetDeadline(d) }
func (t *tcpTransport) SetReadDeadline(d time.Time) error  { return t.raw.SetReadDeadline(d) }
func (t *tcpTransport) SetWriteDeadline(d time.Time) error { return t.raw.SetWriteDeadline(d) }

func (t *tcpTransport) Pollable() bool { return t.pollable() }

func (t *tcpTransport) ReadSoon(p []byte) (int, error) {
	n, err := t.readSoon(p)
	if n > 0 {
		t.trace.chunk("RECV ", p[:n])
	}
	return n, err
}

func (t *tcpTransport) Wait() error { return t.wait() }

// Close closes the connection underneath without a TLS close_notify: the
// XML stream has its own close, and a peer that no longer reads could
// otherwise hold Close for seconds.
func (t *tcpTransport) Close() error { return t.raw.Close() }

// Linger shuts down the sending side of the connection underneath (a TCP
// FIN after what was written; no TLS close_notify, as in Close) and
// discards what arrives, undecrypted. A connection that cannot be shut
// down halfway (net.Pipe) is closed at once: it has no kernel buffers to
// reset.
func (t *tcpTransport) Linger(maxBytes int64, maxWait time.Duration) {
	defer t.raw.Close()
	cw, ok := t.raw.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	if t.raw.SetReadDeadline(time.Now().Add(maxWait)) != nil {
		return
	}
	_, _ = io.CopyN(io.Discard, t.raw, maxBytes)
}

func (t *tcpTransport) CloseTag() string { return wire.Close }

func (t *tcpTransport) AppendOpen(b []byte, h wire.Header) []byte {
	return wire.AppendHeader(b, h)
}

// tracer copies the raw XML of both directions to a writer. While redact
// is set (during SASL) it drops the raw bytes: the negotiator, which knows
// the elements it sends and reads, writes a line for each with its payload
// left out (note).
type tracer struct {
	mu      sync.Mutex
	w       io.Writer
	redact  bool
	pending []byte // received bytes not yet written: no tag ends in them
}

func (t *tracer) chunk(prefix string, p []byte) {
	if !t.enabled() {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.redact {
		t.pending = t.pending[:0]
		return
	}
	if prefix == "RECV " {
		// Reads come in arbitrary pieces (an idle stream reads its next
		// byte alone): join them up to the end of a tag.
		t.pending = append(t.pending, p...)
		if len(t.pending) < 64<<10 && t.pending[len(t.pending)-1] != '>' {
			return
		}
		p = t.pending
		t.pending = t.pending[:0]
	}
	_, _ = io.WriteString(t.w, prefix)
	_, _ = t.w.Write(p)
	_, _ = io.WriteString(t.w, "\n")
}

// note writes a line of its own: what the redaction hides, retold without
// the secrets.
func (t *tracer) note(prefix, text string) {
	if !t.enabled() {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	_, _ = io.WriteString(t.w, prefix+text+"\n")
}

// enabled reports whether anything is traced.
func (t *tracer) enabled() bool { return t != nil && t.w != nil }

func (t *tracer) setRedact(on bool) {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.redact = on
	t.mu.Unlock()
}

// redacting reports whether the raw bytes are being dropped.
func (t *tracer) redacting() bool {
	if !t.enabled() {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.redact
}

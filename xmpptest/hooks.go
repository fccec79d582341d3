package xmpptest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

// ErrNotConnected means no resource is bound to the address given.
var ErrNotConnected = errors.New("xmpptest: no such connected resource")

// Watch registers fn to be called for every stanza a client sends once
// the server has routed it. fn runs on the sender's connection goroutine,
// after the stanza was written to its recipients (a recipient whose own
// goroutine is writing its answer to something it sent gets it just
// after that answer) and before the server's own answer to the sender
// (an iq result, an error) is written, so a
// client that has its answer from the server knows fn has run. An answer
// from another client (to a forwarded iq) gives no such guarantee: a
// round trip to the server after it does. fn must not block for long, nor
// modify the stanza.
func (s *Server) Watch(fn func(Routed)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.watchers = append(slices.Clone(s.watchers), fn)
}

// Inject writes st, exactly as given (its from is not stamped), to the
// resource bound to to, or to every resource bound to the account when to
// is a bare JID. It returns ErrNotConnected when there is none.
//
// The bytes go straight to the connection: they may overtake roster
// pushes and presence that the server's rules queued for it just before.
// A test that needs them after those waits for them first (or for a
// marker, such as a roster push of a seeded item, queued behind them).
//
// With stream management the stanza counts like any other: it is kept
// until the client acknowledges it, also while the resource hibernates.
func (s *Server) Inject(to jid.JID, st stanza.Stanza) error {
	if _, err := st.AppendXML(nil); err != nil {
		return fmt.Errorf("xmpptest: encoding the stanza: %w", err)
	}
	conns := s.connsFor(to)
	if len(conns) == 0 {
		return fmt.Errorf("%w: %s", ErrNotConnected, to)
	}
	var errs []error
	for _, c := range conns {
		errs = append(errs, c.writeStanza(st))
	}
	return errors.Join(errs...)
}

// InjectRaw writes raw bytes (any XML, well-formed or not) to the
// resource bound to to, or to every resource of the account for a bare
// JID. On a stream with stream management the stanzas in raw (its
// top-level message, presence and iq elements, up to the first XML fault)
// are counted and kept as any other, so the client's h stays in step;
// after a resumption raw is written again whole if any of them was not
// acknowledged, and when the session expires they are dropped. CutAt does
// not count them.
func (s *Server) InjectRaw(to jid.JID, raw []byte) error {
	conns := s.connsFor(to)
	if len(conns) == 0 {
		return fmt.Errorf("%w: %s", ErrNotConnected, to)
	}
	var errs []error
	for _, c := range conns {
		errs = append(errs, c.writeInjected(raw))
	}
	return errors.Join(errs...)
}

// Drop closes the connections bound to addr (a full JID, or a bare one for
// all of the account's) at once, without a stream error or close, as a
// network failure would. A resource that enabled stream management
// resumption hibernates (see the package doc); CutAt cuts at a chosen
// stanza instead of now.
func (s *Server) Drop(addr jid.JID) error {
	conns := s.connsFor(addr)
	if len(conns) == 0 {
		return fmt.Errorf("%w: %s", ErrNotConnected, addr)
	}
	for _, c := range conns {
		c.kill()
	}
	return nil
}

// StreamError ends the streams bound to addr with se (RFC 6120 §4.9),
// as a server in trouble would.
func (s *Server) StreamError(addr jid.JID, se *stanza.StreamError) error {
	conns := s.connsFor(addr)
	if len(conns) == 0 {
		return fmt.Errorf("%w: %s", ErrNotConnected, addr)
	}
	for _, c := range conns {
		c.shutdown(se, time.Second)
	}
	return nil
}

// Delay makes every later write to the connections bound to addr wait d
// first (zero removes the delay). Writes to one connection stay in order,
// so a delayed connection also slows its senders down.
func (s *Server) Delay(addr jid.JID, d time.Duration) error {
	conns := s.connsFor(addr)
	if len(conns) == 0 {
		return fmt.Errorf("%w: %s", ErrNotConnected, addr)
	}
	for _, c := range conns {
		c.delay.Store(int64(d))
	}
	return nil
}

// Transcript returns the XML exchanged on the latest connection that bound
// the full JID addr, also after it ended: each chunk as written, on a line
// of its own prefixed "S: " (from the server), and what was read, joined up
// to the end of a tag, on lines prefixed "C: " (from the client); a client
// line is written when its last tag ends, so it may follow a server line
// written meanwhile. The TLS handshake is not in it, and SASL payloads
// are. It
// returns "" unless the server records transcripts (RecordTranscripts).
func (s *Server) Transcript(addr jid.JID) string {
	s.mu.Lock()
	c := s.last[addr]
	s.mu.Unlock()
	if c == nil {
		return ""
	}
	c.wmu.Lock()
	tr := c.tr
	c.wmu.Unlock()
	if tr == nil {
		return ""
	}
	return tr.String()
}

// transcript records the XML of one connection.
type transcript struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	pending []byte // read from the client, no tag ends in it yet
}

// maxTranscript bounds what one transcript keeps; later chunks are dropped.
const maxTranscript = 4 << 20

func (t *transcript) writer(dir byte) io.Writer { return transcriptWriter{t, dir} }

// String returns the transcript, with what was read of an unfinished tag
// as its last line.
func (t *transcript) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.pending) == 0 {
		return t.buf.String()
	}
	var b bytes.Buffer
	b.Write(t.buf.Bytes())
	appendLine(&b, 'C', t.pending)
	return b.String()
}

// line adds one line, unless the transcript is full. t.mu is held.
func (t *transcript) line(dir byte, p []byte) {
	if t.buf.Len()+len(p) > maxTranscript {
		return
	}
	appendLine(&t.buf, dir, p)
}

func appendLine(b *bytes.Buffer, dir byte, p []byte) {
	b.WriteByte(dir)
	b.WriteString(": ")
	b.Write(p)
	b.WriteByte('\n')
}

type transcriptWriter struct {
	t   *transcript
	dir byte
}

func (w transcriptWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	t := w.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if w.dir != 'C' {
		t.line(w.dir, p)
		return len(p), nil
	}
	// Reads come in arbitrary pieces (between elements the reader takes
	// one byte at a time): join them up to the end of a tag.
	if len(t.pending)+len(p) > maxTranscript {
		t.pending = t.pending[:0]
		return len(p), nil
	}
	t.pending = append(t.pending, p...)
	if t.pending[len(t.pending)-1] == '>' {
		t.line('C', t.pending)
		t.pending = t.pending[:0]
	}
	return len(p), nil
}

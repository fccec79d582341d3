package xmpptest

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyim/parley/internal/wire"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/sasl"
	"github.com/parleyim/parley/stanza"
)

// Namespaces of the negotiation.
const (
	nsTLS     = "urn:ietf:params:xml:ns:xmpp-tls"
	nsSASL    = "urn:ietf:params:xml:ns:xmpp-sasl"
	nsBind    = "urn:ietf:params:xml:ns:xmpp-bind"
	nsSession = "urn:ietf:params:xml:ns:xmpp-session"
	nsSASLCB  = "urn:xmpp:sasl-cb:0"
)

// maxAuthFailures is how many failed SASL attempts a connection may make
// before the server ends its stream (RFC 6120 §6.4.5).
const maxAuthFailures = 3

var (
	// errPeerClosed means the client closed its stream or sent a stream
	// error: the server answers with its own close.
	errPeerClosed = errors.New("xmpptest: client closed the stream")
	// errConnClosed is what writes to a connection that has ended return.
	errConnClosed = errors.New("xmpptest: connection closed")
)

// conn is the server side of one client connection. Its goroutine (run)
// owns the reader and the negotiation state; writes from any goroutine go
// through write, under wmu.
type conn struct {
	srv *Server
	raw net.Conn // as accepted; closing it ends everything
	rd  *wire.Reader
	tr  *transcript // nil unless transcripts are recorded

	wmu        sync.Mutex // serializes writes; guards nc, headerSent, dead
	nc         net.Conn   // raw, or TLS over it
	headerSent bool       // the server's header of the current stream is out
	dead       bool

	closing atomic.Bool  // shutdown started: other writers give up
	delay   atomic.Int64 // time.Duration slept before each write

	// Owned by the goroutine.
	tlsState *tls.ConnectionState
	user     string // authenticated localpart
	failures int
	session  bool            // the RFC 3921 session iq was sent
	replies  []stanza.Stanza // to the sender, after the watchers (see reply)
	lang     string

	// Guarded by srv.mu.
	addr      jid.JID // full JID once bound
	bound     bool
	available bool
	priority  int8
	presence  *stanza.Presence // last available presence broadcast
	availSeq  uint64           // when it became available, for ordering
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{srv: s, raw: nc, nc: nc}
	if s.opts.transcripts {
		c.tr = &transcript{}
	}
	return c
}

// bufConn reads through a bufio.Reader that has peeked at the first byte.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// run serves the connection until it ends.
func (c *conn) run() {
	err := c.serve()
	c.finish(err)
}

func (c *conn) serve() error {
	br := bufio.NewReader(c.raw)
	first, err := br.Peek(1)
	if err != nil {
		return err
	}
	var nc net.Conn = &bufConn{Conn: c.raw, r: br}
	if first[0] == 0x16 { // a TLS handshake record: direct TLS (XEP-0368)
		tc := tls.Server(nc, c.srv.tlsConf)
		if err := c.handshake(tc); err != nil {
			return err
		}
		nc = tc
	}
	c.setConn(nc)
	if err := c.negotiate(); err != nil {
		return err
	}
	return c.readStanzas()
}

func (c *conn) handshake(tc *tls.Conn) error {
	_ = c.raw.SetDeadline(time.Now().Add(c.srv.opts.writeTimeout))
	err := tc.Handshake()
	_ = c.raw.SetDeadline(time.Time{})
	if err != nil {
		return err
	}
	st := tc.ConnectionState()
	c.tlsState = &st
	return nil
}

// setConn makes nc the stream's transport and starts a new reader on it.
func (c *conn) setConn(nc net.Conn) {
	c.wmu.Lock()
	c.nc = nc
	c.wmu.Unlock()
	var r io.Reader = nc
	if c.tr != nil {
		r = io.TeeReader(nc, c.tr.writer('C'))
	}
	c.rd = wire.NewReader(r, wire.Limits{MaxStanzaBytes: c.srv.opts.maxStanzaBytes})
}

// negotiate runs the stream up to a bound resource: header, STARTTLS,
// SASL, header again, bind.
func (c *conn) negotiate() error {
	for {
		if err := c.openStream(); err != nil {
			return err
		}
		switch {
		case c.tlsState == nil:
			if err := c.awaitStartTLS(); err != nil {
				return err
			}
		case c.user == "":
			if err := c.authenticate(); err != nil {
				return err
			}
		default:
			return c.awaitBind()
		}
	}
}

// openStream reads the client's header and answers with the server's and
// the features of the stream's stage.
func (c *conn) openStream() error {
	c.wmu.Lock()
	c.headerSent = false
	c.wmu.Unlock()
	h, err := c.rd.ReadHeader()
	if err != nil {
		return err
	}
	c.lang = h.Lang
	if err := c.writeHeader(); err != nil {
		return err
	}
	switch {
	case h.NS != "" && h.NS != wire.NSClient:
		return &stanza.StreamError{Condition: stanza.StreamInvalidNamespace, Text: "the content namespace must be jabber:client"}
	case h.To == "":
		return &stanza.StreamError{Condition: stanza.StreamHostUnknown, Text: "the stream header has no 'to'"}
	case !strings.EqualFold(h.To, c.srv.domain.Domain()):
		return &stanza.StreamError{Condition: stanza.StreamHostUnknown, Text: "this server serves " + c.srv.domain.Domain()}
	}
	if major, _, _ := strings.Cut(h.Version, "."); major != "1" {
		return &stanza.StreamError{Condition: stanza.StreamUnsupportedVersion, Text: "version 1.0 is required"}
	}
	return c.write(c.appendFeatures(nil))
}

func (c *conn) writeHeader() error {
	id := newID()
	b := wire.AppendHeader(nil, wire.Header{From: c.srv.domain.Domain(), ID: id, Version: "1.0", Lang: "en"})
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.writeLocked(b); err != nil {
		return err
	}
	c.headerSent = true
	return nil
}

// appendFeatures appends <stream:features> for the stream's stage.
func (c *conn) appendFeatures(b []byte) []byte {
	b = append(b, "<stream:features>"...)
	switch {
	case c.tlsState == nil:
		b = append(b, "<starttls xmlns='"+nsTLS+"'><required/></starttls>"...)
	case c.user == "":
		b = append(b, "<mechanisms xmlns='"+nsSASL+"'>"...)
		for _, m := range c.srv.sasl.Mechanisms(c.tlsState) {
			b = append(b, "<mechanism>"...)
			b = wire.AppendEscaped(b, m)
			b = append(b, "</mechanism>"...)
		}
		b = append(b, "</mechanisms>"...)
		if types := saslserverBindings(c); len(types) > 0 {
			b = append(b, "<sasl-channel-binding xmlns='"+nsSASLCB+"'>"...)
			for _, t := range types {
				b = append(b, "<channel-binding type='"...)
				b = wire.AppendEscaped(b, t)
				b = append(b, "'/>"...)
			}
			b = append(b, "</sasl-channel-binding>"...)
		}
	default:
		b = append(b, "<bind xmlns='"+nsBind+"'/>"...)
		if c.srv.opts.requireSession {
			b = append(b, "<session xmlns='"+nsSession+"'/>"...)
		} else {
			b = append(b, "<session xmlns='"+nsSession+"'><optional/></session>"...)
		}
		for _, f := range c.srv.streamFeatures {
			b = append(b, f...)
		}
	}
	return append(b, "</stream:features>"...)
}

// next reads the start of the client's next element. A stream error or
// the end of the client's stream is errPeerClosed.
func (c *conn) next() (xml.StartElement, error) {
	start, err := c.rd.NextElement()
	if errors.Is(err, wire.ErrStreamClosed) {
		return start, errPeerClosed
	}
	if err != nil {
		return start, err
	}
	if start.Name == (xml.Name{Space: wire.NSStream, Local: "error"}) {
		_, _ = stanza.DecodeStreamError(c.rd, start)
		return start, errPeerClosed
	}
	return start, nil
}

// outOfOrder is the stream error for an element that the stage does not
// allow: a stanza before a resource is bound is not-authorized (RFC 6120
// §4.9.3.12), anything else an unsupported-stanza-type.
func outOfOrder(start xml.StartElement) error {
	if start.Name.Space == wire.NSClient {
		return &stanza.StreamError{Condition: stanza.StreamNotAuthorized, Text: "<" + start.Name.Local + "/> before authentication and resource binding"}
	}
	return &stanza.StreamError{Condition: stanza.StreamUnsupportedStanzaType, Text: "unexpected <" + start.Name.Local + "/>"}
}

// awaitStartTLS runs the plaintext stage (RFC 6120 §5.4): STARTTLS is
// required.
func (c *conn) awaitStartTLS() error {
	for {
		start, err := c.next()
		if err != nil {
			return err
		}
		raw, err := stanza.ReadRaw(c.rd, start)
		if err != nil {
			return asStreamError(err)
		}
		switch raw.Name() {
		case xml.Name{Space: nsTLS, Local: "starttls"}:
			if err := c.write([]byte("<proceed xmlns='" + nsTLS + "'/>")); err != nil {
				return err
			}
			c.wmu.Lock()
			nc := c.nc
			c.wmu.Unlock()
			tc := tls.Server(nc, c.srv.tlsConf)
			if err := c.handshake(tc); err != nil {
				return err
			}
			c.setConn(tc)
			return nil
		case xml.Name{Space: nsSASL, Local: "auth"}:
			if err := c.write([]byte("<failure xmlns='" + nsSASL + "'><encryption-required/></failure>")); err != nil {
				return err
			}
		default:
			return outOfOrder(start)
		}
	}
}

// authenticate runs SASL (RFC 6120 §6) until a success, or ends the stream
// after too many failures.
func (c *conn) authenticate() error {
	for {
		start, err := c.next()
		if err != nil {
			return err
		}
		raw, err := stanza.ReadRaw(c.rd, start)
		if err != nil {
			return asStreamError(err)
		}
		switch raw.Name() {
		case xml.Name{Space: nsSASL, Local: "auth"}:
		case xml.Name{Space: nsSASL, Local: "abort"}:
			if err := c.saslFailure(sasl.Aborted, ""); err != nil {
				return err
			}
			continue
		default:
			return outOfOrder(start)
		}
		done, err := c.saslExchange(raw)
		if err != nil || done {
			return err
		}
	}
}

// saslExchange runs one authentication started by <auth/>. done reports a
// success; a failure has been answered when done is false and err nil.
func (c *conn) saslExchange(auth *stanza.Raw) (done bool, err error) {
	mech := attr(auth, "mechanism")
	data, ok := decode64(rawText(auth))
	if !ok {
		return false, c.saslFailure(sasl.IncorrectEncoding, "")
	}
	ex, chal, ok2, ferr := c.srv.sasl.Start(mech, data, c.tlsState)
	for {
		if ferr != nil {
			var f *sasl.Failure
			if !errors.As(ferr, &f) {
				f = sasl.NewFailure(string(sasl.TemporaryAuthFailure), "", "")
			}
			return false, c.saslFailure(f.Condition, f.Text)
		}
		if ok2 {
			if err := c.write(append(append([]byte("<success xmlns='"+nsSASL+"'>"), enc64(chal)...), "</success>"...)); err != nil {
				return false, err
			}
			c.user = ex.Username()
			if j, err := jid.New(c.user, c.srv.domain.Domain(), ""); err == nil {
				c.user = j.Local() // as lookup found it
			}
			c.rd.Restart()
			return true, nil
		}
		if err := c.write(append(append([]byte("<challenge xmlns='"+nsSASL+"'>"), enc64(chal)...), "</challenge>"...)); err != nil {
			return false, err
		}
		start, err := c.next()
		if err != nil {
			return false, err
		}
		resp, err := stanza.ReadRaw(c.rd, start)
		if err != nil {
			return false, asStreamError(err)
		}
		switch resp.Name() {
		case xml.Name{Space: nsSASL, Local: "response"}:
		case xml.Name{Space: nsSASL, Local: "abort"}:
			return false, c.saslFailure(sasl.Aborted, "")
		default:
			return false, outOfOrder(start)
		}
		data, ok := decode64(rawText(resp))
		if !ok {
			return false, c.saslFailure(sasl.IncorrectEncoding, "")
		}
		chal, ok2, ferr = ex.Next(data)
	}
}

// saslFailure answers with <failure/>, and ends the stream after
// maxAuthFailures of them.
func (c *conn) saslFailure(cond sasl.Condition, text string) error {
	if cond == "" {
		cond = sasl.NotAuthorized
	}
	b := append([]byte("<failure xmlns='"+nsSASL+"'><"), cond...)
	b = append(b, "/>"...)
	if text != "" {
		b = append(b, "<text xml:lang='en'>"...)
		b = wire.AppendEscaped(b, text)
		b = append(b, "</text>"...)
	}
	b = append(b, "</failure>"...)
	if err := c.write(b); err != nil {
		return err
	}
	c.failures++
	if c.failures >= maxAuthFailures {
		return &stanza.StreamError{Condition: stanza.StreamPolicyViolation, Text: "too many failed authentication attempts"}
	}
	return nil
}

// awaitBind runs resource binding (RFC 6120 §7).
func (c *conn) awaitBind() error {
	for {
		start, err := c.next()
		if err != nil {
			return err
		}
		if start.Name != (xml.Name{Space: wire.NSClient, Local: "iq"}) {
			if err := skip(c.rd, start); err != nil {
				return err
			}
			return outOfOrder(start)
		}
		st, err := stanza.Decode(c.rd, start)
		if err != nil {
			if ierr := (*stanza.InvalidError)(nil); errors.As(err, &ierr) {
				if ierr.Answerable() {
					if err := c.writeStanza(&stanza.IQ{Header: stanza.Header{ID: ierr.ID}, Type: stanza.IQError, Error: ierr.Reply}); err != nil {
						return err
					}
				}
				continue
			}
			return asStreamError(err)
		}
		iq := st.(*stanza.IQ)
		raw, ok := iq.Raw()
		if iq.Type != stanza.IQSet || !ok || raw.Name() != (xml.Name{Space: nsBind, Local: "bind"}) {
			return outOfOrder(start)
		}
		bound, err := c.bind(iq, raw)
		if err != nil || bound {
			return err
		}
	}
}

// skip reads the rest of the element whose start was just read.
func skip(r *wire.Reader, start xml.StartElement) error {
	for {
		_, err := r.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return asStreamError(err)
		}
	}
}

// asStreamError turns a reading error into the stream error to send:
// XML-level faults are stream errors already; an element that cannot be
// kept is restricted-xml; network errors pass through.
func asStreamError(err error) error {
	var se *stanza.StreamError
	if errors.As(err, &se) {
		return se
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrClosedPipe) {
		return err
	}
	if errors.Is(err, stanza.StreamUnsupportedStanzaType) {
		return &stanza.StreamError{Condition: stanza.StreamUnsupportedStanzaType, Text: err.Error()}
	}
	return &stanza.StreamError{Condition: stanza.StreamInvalidXML, Text: err.Error()}
}

// finish ends the connection: the stream error or close the server owes,
// then the bookkeeping.
func (c *conn) finish(err error) {
	var se *stanza.StreamError
	switch {
	case errors.As(err, &se):
		c.shutdown(se, time.Second)
	case errors.Is(err, errPeerClosed):
		c.shutdown(nil, time.Second)
	default:
		c.kill()
	}
	s := c.srv
	s.mu.Lock()
	delete(s.conns, c)
	wasBound := c.bound
	if c.bound {
		if a := s.accounts[c.addr.Local()]; a != nil && a.resources[c.addr.Resource()] == c {
			delete(a.resources, c.addr.Resource())
		}
		c.bound, c.available = false, false
	}
	s.mu.Unlock()
	if wasBound {
		for _, h := range s.endHooks {
			h(c)
		}
	}
}

// shutdown sends se (when not nil) and the end of the stream, giving a
// blocked client grace to read them, and closes the connection.
func (c *conn) shutdown(se *stanza.StreamError, grace time.Duration) {
	c.closing.Store(true)
	_ = c.raw.SetWriteDeadline(time.Now().Add(grace))
	c.wmu.Lock()
	if !c.dead {
		var b []byte
		if !c.headerSent {
			b = wire.AppendHeader(b, wire.Header{From: c.srv.domain.Domain(), ID: newID(), Version: "1.0", Lang: "en"})
		}
		if se != nil {
			if eb, err := se.AppendXML(b); err == nil {
				b = eb
			}
		}
		b = append(b, wire.Close...)
		c.record('S', b)
		_, _ = c.nc.Write(b)
		c.dead = true
	}
	c.wmu.Unlock()
	c.kill()
}

// kill closes the connection at once.
func (c *conn) kill() {
	c.closing.Store(true)
	c.wmu.Lock()
	c.dead = true
	c.wmu.Unlock()
	_ = c.raw.Close()
}

// write writes b to the client, under the write lock.
func (c *conn) write(b []byte) error {
	if c.closing.Load() {
		return errConnClosed
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeLocked(b)
}

func (c *conn) writeLocked(b []byte) error {
	if c.dead {
		return errConnClosed
	}
	if d := time.Duration(c.delay.Load()); d > 0 {
		time.Sleep(d)
	}
	_ = c.raw.SetWriteDeadline(time.Now().Add(c.srv.opts.writeTimeout))
	if c.closing.Load() && c.dead {
		return errConnClosed
	}
	c.record('S', b)
	if _, err := c.nc.Write(b); err != nil {
		c.dead = true
		_ = c.raw.Close()
		return err
	}
	return nil
}

func (c *conn) record(dir byte, b []byte) {
	if c.tr != nil {
		_, _ = c.tr.writer(dir).Write(b)
	}
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// writeStanza encodes st and writes it to the client.
func (c *conn) writeStanza(st stanza.Stanza) error {
	bp := bufPool.Get().(*[]byte)
	b, err := st.AppendXML((*bp)[:0])
	if err == nil {
		err = c.write(b)
	}
	*bp = b[:0]
	bufPool.Put(bp)
	return err
}

func enc64(b []byte) []byte {
	if len(b) == 0 {
		return []byte("=")
	}
	out := make([]byte, base64.StdEncoding.EncodedLen(len(b)))
	base64.StdEncoding.Encode(out, b)
	return out
}

func decode64(s string) ([]byte, bool) {
	s = strings.TrimSpace(s)
	if s == "" || s == "=" {
		return []byte{}, true
	}
	b, err := base64.StdEncoding.DecodeString(s)
	return b, err == nil
}

// attr returns the value of the attribute local of raw's element.
func attr(raw *stanza.Raw, local string) string {
	tok, err := raw.TokenReader().Token()
	if err != nil {
		return ""
	}
	if start, ok := tok.(xml.StartElement); ok {
		for _, a := range start.Attr {
			if a.Name.Space == "" && a.Name.Local == local {
				return a.Value
			}
		}
	}
	return ""
}

// rawText returns the character data of raw's element and its children.
func rawText(raw *stanza.Raw) string {
	var b strings.Builder
	tr := raw.TokenReader()
	for {
		tok, err := tr.Token()
		if err != nil {
			return b.String()
		}
		if cd, ok := tok.(xml.CharData); ok {
			b.Write(cd)
		}
	}
}

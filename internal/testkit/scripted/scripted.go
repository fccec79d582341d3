// Package scripted is a scripted XMPP server for Parley's tests: the
// server end of one connection, driven step by step by a test's script,
// so that every negotiation path, every failure and every lie can be
// produced on purpose. Package session tests itself against it (session
// cannot use xmpptest, which imports it), and so do the feature packages'
// tests that need a server saying what no real server says: a wrong
// reply, a reply from another address, a malformed payload.
//
// A Peer speaks just enough of the server side of RFC 6120 to log a
// client in, one step per method: stream headers (Header), features
// (Features), STARTTLS with a certificate made for Domain (StartTLS), SASL
// through internal/serverside/saslauth for the account Account with
// Password (Authenticate), and resource binding (Bind); Login runs them
// all. Beyond that it sends what the script says (Send) and reads what the
// client sends (Next, Expect, ExpectClosed), or hands each element to a
// Handler (Serve).
//
// A failing read reports to the test and ends the goroutine that ran it:
// the script's goroutine while Start's script runs, else the test's, as
// testing.T.FailNow does; a failing write only reports. The package imports no session code, since
// session's own tests import it; glue that makes a *session.Session lives
// in the tests that use it.
package scripted

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/serverside/saslauth"
	"github.com/parleyim/parley/internal/wire"
	"github.com/parleyim/parley/internal/xmlenc"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

// Domain is the server's domain, and Account and Password the one account
// it knows.
const (
	Domain   = "example.com"
	Password = "r0m30myr0m30"
)

// Account is the bare JID of the peer's one account.
var Account = jid.MustParse("juliet@example.com")

// Stream features to pass to Features.
const (
	// StartTLSFeature offers STARTTLS as required.
	StartTLSFeature = "<starttls xmlns='" + ns.TLS + "'><required/></starttls>"
	// BindFeature offers resource binding.
	BindFeature = "<bind xmlns='" + ns.Bind + "'/>"
)

// Mechanisms returns the <mechanisms/> feature listing names. Features
// tells the peer's SASL server whether a -PLUS mechanism is among them.
func Mechanisms(names ...string) string {
	var b strings.Builder
	b.WriteString("<mechanisms xmlns='" + ns.SASL + "'>")
	for _, n := range names {
		b.WriteString("<mechanism>" + n + "</mechanism>")
	}
	b.WriteString("</mechanisms>")
	return b.String()
}

// Peer is the server end of one connection. Send may be called from any
// goroutine; the other methods belong to one goroutine at a time: the
// script's while Start's script runs, the test's afterwards.
type Peer struct {
	// TB is the test the peer reports to.
	TB testing.TB
	// SASL is the peer's SASL server; a script may change its Lookup
	// (a wrong password) or its Certificate (tls-server-end-point).
	SASL *saslauth.Server
	// TLSMax caps the TLS version StartTLS negotiates; zero means
	// crypto/tls's maximum.
	TLSMax uint16
	// UnderTLS, when set, wraps the connection that StartTLS runs TLS
	// over, so that a test can hold back or batch the TLS records.
	UnderTLS func(net.Conn) net.Conn

	wmu  sync.Mutex // serializes writes; guards conn
	conn net.Conn
	rd   *wire.Reader

	scripting atomic.Bool      // Start's script is running
	done      chan struct{}    // closed when Start's script has returned
	queue     chan *stanza.Raw // what Serve leaves to Received
}

// NewPeer makes the server end of conn. Reads and writes on conn fail
// after 20 seconds.
func NewPeer(tb testing.TB, conn net.Conn) *Peer {
	p := &Peer{TB: tb, conn: conn, rd: wire.NewReader(conn, wire.Limits{})}
	p.SASL = &saslauth.Server{Domain: Domain, Lookup: func(u string) (string, bool) {
		if u == Account.Localpart() {
			return Password, true
		}
		return "", false
	}}
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	return p
}

// Loopback returns the two ends of a TCP connection on 127.0.0.1 (TCP
// buffers, unlike net.Pipe, so neither side blocks on a write the other
// does not read yet). Both are closed when the test ends.
func Loopback(tb testing.TB) (client, server net.Conn) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("scripted: %v", err)
	}
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			ch <- nil
			return
		}
		ch <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		tb.Fatalf("scripted: %v", err)
	}
	server = <-ch
	if server == nil {
		client.Close()
		tb.Fatalf("scripted: accept failed")
	}
	tb.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// Start runs script on its own goroutine against a peer on the server end
// of a Loopback connection, and returns the client's end and the peer.
// Wait waits for the script to return; Start also waits for it when the
// test ends, after the cleanups registered later (closing the client).
func Start(tb testing.TB, script func(p *Peer)) (client net.Conn, p *Peer) {
	tb.Helper()
	client, server := Loopback(tb)
	p = NewPeer(tb, server)
	p.done = make(chan struct{})
	p.queue = make(chan *stanza.Raw, 64)
	p.scripting.Store(true)
	go func() {
		defer close(p.done)
		defer p.scripting.Store(false)
		script(p)
	}()
	tb.Cleanup(p.Wait)
	return client, p
}

// Wait waits until the script given to Start has returned.
func (p *Peer) Wait() {
	if p.done != nil {
		<-p.done
	}
}

// Fatalf reports a failure and ends the calling goroutine: the script's
// while Start's script runs (its result tells the test what happened),
// the test's otherwise.
func (p *Peer) Fatalf(format string, args ...any) {
	p.TB.Errorf("scripted: "+format, args...)
	if p.scripting.Load() {
		runtime.Goexit()
	}
	p.TB.FailNow()
}

// Conn returns the connection: the accepted one, or TLS over it after
// StartTLS.
func (p *Peer) Conn() net.Conn {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	return p.conn
}

// Reader returns the reader of what the client sends.
func (p *Peer) Reader() *wire.Reader { return p.rd }

// SetConn makes c the connection (TLS that the script set up itself, say)
// and reads from it with a new reader, dropping what the old one
// buffered.
func (p *Peer) SetConn(c net.Conn) {
	p.wmu.Lock()
	p.conn = c
	p.wmu.Unlock()
	p.rd = wire.NewReader(c, wire.Limits{})
}

// Send writes s to the client. A failed write fails the test but does not
// stop the caller (the script's next read fails), so Send may be called
// from any goroutine.
func (p *Peer) Send(s string) {
	p.wmu.Lock()
	_, err := io.WriteString(p.conn, s)
	p.wmu.Unlock()
	if err != nil {
		p.TB.Errorf("scripted: write: %v", err)
	}
}

// Header reads the client's stream header and answers with the server's.
func (p *Peer) Header() wire.Header {
	h, err := p.rd.ReadHeader()
	if err != nil {
		p.Fatalf("reading client header: %v", err)
	}
	p.Send(string(wire.AppendHeader(nil, wire.Header{From: Domain, ID: "s1", Version: "1.0", Lang: "en"})))
	return h
}

// Next reads the client's next top-level element.
func (p *Peer) Next() *stanza.Raw {
	raw, err := p.TryNext()
	if err != nil {
		p.Fatalf("reading client element: %v", err)
	}
	return raw
}

// TryNext is Next for scripts in which the client may have hung up.
func (p *Peer) TryNext() (*stanza.Raw, error) {
	start, err := p.rd.NextElement()
	if err != nil {
		return nil, err
	}
	return stanza.ReadRaw(p.rd, start)
}

// Expect reads the next element and checks its local name.
func (p *Peer) Expect(local string) *stanza.Raw {
	raw := p.Next()
	if raw.Name().Local != local {
		p.Fatalf("client sent <%s>, want <%s>", raw.Name().Local, local)
	}
	return raw
}

// ExpectClosed reads until the client's stream ends, answers its close
// with the server's, closes the connection and returns what the client
// sent before (say, a stream error).
func (p *Peer) ExpectClosed() []string {
	var sent []string
	p.untilClosed(func(raw *stanza.Raw) { sent = append(sent, raw.String()) })
	return sent
}

// AwaitClose runs ExpectClosed on a goroutine of its own, for a test that
// closes the client while the peer is otherwise idle; the channel yields
// ExpectClosed's result.
func (p *Peer) AwaitClose() <-chan []string {
	ch := make(chan []string, 1)
	go func() { ch <- p.ExpectClosed() }()
	return ch
}

// Handler answers an element the client sent, on the goroutine running
// Serve; it may call Send. It returns false to leave the element to
// Received.
type Handler func(p *Peer, el *stanza.Raw) bool

// Serve hands each element the client sends to h until the client closes
// its stream, then answers the close and closes the connection. What h
// does not take (all of it when h is nil) waits for Received. Serve and
// Received need a peer made by Start.
func (p *Peer) Serve(h Handler) {
	p.untilClosed(func(raw *stanza.Raw) {
		if h != nil && h(p, raw) {
			return
		}
		select {
		case p.queue <- raw:
		default:
			p.TB.Errorf("scripted: queue full, dropping %s", raw)
		}
	})
}

// Received returns the next element Serve left to it, waiting at most five
// seconds; it fails the test when none comes. Call it from the test's
// goroutine.
func (p *Peer) Received() *stanza.Raw {
	p.TB.Helper()
	select {
	case el := <-p.queue:
		return el
	case <-time.After(5 * time.Second):
		p.TB.Fatalf("scripted: no element from the client within 5s")
		return nil
	}
}

// untilClosed calls fn with each element the client sends until its
// stream ends; it answers the client's close with the server's and closes
// the connection, without a TLS close_notify, which the client may not
// read.
func (p *Peer) untilClosed(fn func(*stanza.Raw)) {
	for {
		start, err := p.rd.NextElement()
		if err != nil {
			if err == wire.ErrStreamClosed {
				p.wmu.Lock()
				_, _ = io.WriteString(p.conn, wire.Close)
				p.wmu.Unlock()
			}
			c := p.Conn()
			if tc, ok := c.(*tls.Conn); ok {
				tc.NetConn().Close()
			} else {
				c.Close()
			}
			return
		}
		raw, err := stanza.ReadRaw(p.rd, start)
		if err != nil {
			return
		}
		fn(raw)
	}
}

// StartTLS answers <starttls/> with <proceed/> and runs the handshake.
func (p *Peer) StartTLS() {
	p.Expect("starttls")
	p.Send("<proceed xmlns='" + ns.TLS + "'/>")
	cert, _, err := certificate()
	if err != nil {
		p.Fatalf("certificate: %v", err)
	}
	under := p.conn
	if p.UnderTLS != nil {
		under = p.UnderTLS(p.conn)
	}
	tc := tls.Server(under, &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: p.TLSMax})
	if err := tc.Handshake(); err != nil {
		p.Fatalf("TLS handshake: %v", err)
	}
	p.SetConn(tc)
}

// TLSState returns the state of the TLS connection, or nil before TLS.
func (p *Peer) TLSState() *tls.ConnectionState {
	if tc, ok := p.Conn().(*tls.Conn); ok {
		st := tc.ConnectionState()
		return &st
	}
	return nil
}

// Features sends <stream:features> with the given children. A
// <mechanisms/> among them also tells the SASL server whether a -PLUS
// mechanism was offered, since it checks the client's GS2 flag against
// that.
func (p *Peer) Features(children ...string) {
	for _, c := range children {
		if strings.Contains(c, "<mechanisms") {
			p.SASL.NoPlus = !strings.Contains(c, "-PLUS<")
		}
	}
	p.Send("<stream:features>" + strings.Join(children, "") + "</stream:features>")
}

// Authenticate runs the server side of SASL and returns the mechanism the
// client chose. A failure is answered with <failure/>; on success the
// reader is restarted for the new stream.
func (p *Peer) Authenticate() string {
	auth := p.Expect("auth")
	mech := auth.Attr("mechanism")
	data := p.DecodeBase64(auth.Text())
	ex, chal, done, err := p.SASL.Start(mech, data, p.TLSState())
	for {
		if err != nil {
			text := xmlenc.AppendEscaped(nil, err.Error())
			p.Send("<failure xmlns='" + ns.SASL + "'><not-authorized/><text xml:lang='en'>" + string(text) + "</text></failure>")
			return mech
		}
		if done {
			p.Send("<success xmlns='" + ns.SASL + "'>" + Base64(chal) + "</success>")
			p.rd.Restart()
			return mech
		}
		p.Send("<challenge xmlns='" + ns.SASL + "'>" + Base64(chal) + "</challenge>")
		resp := p.Expect("response")
		chal, done, err = ex.Next(p.DecodeBase64(resp.Text()))
	}
}

// Base64 encodes a SASL payload for <challenge/>, <response/> or
// <success/>: "=" for an empty one (RFC 6120 §6.4.2).
func Base64(b []byte) string {
	if len(b) == 0 {
		return "="
	}
	return base64.StdEncoding.EncodeToString(b)
}

// DecodeBase64 decodes a SASL payload the client sent.
func (p *Peer) DecodeBase64(s string) []byte {
	if s == "=" || s == "" {
		return []byte{}
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		p.Fatalf("bad base64 %q: %v", s, err)
	}
	return b
}

// Bind answers the client's bind request, binding resource (or, when
// resource is empty, the one the client asked for, or "generated"), and
// returns the resource the client asked for.
func (p *Peer) Bind(resource string) string {
	iq := p.Expect("iq")
	asked := childText(iq, "bind", "resource")
	if resource == "" {
		resource = asked
	}
	if resource == "" {
		resource = "generated"
	}
	full := Account.String() + "/" + resource
	p.Send(fmt.Sprintf("<iq type='result' id='%s'><bind xmlns='%s'><jid>%s</jid></bind></iq>",
		xmlenc.AppendEscaped(nil, iq.Attr("id")), ns.Bind, xmlenc.AppendEscaped(nil, full)))
	return asked
}

// ToBind runs STARTTLS and SASL offering mechs, and opens the final
// stream; the script sends that stream's features next.
func (p *Peer) ToBind(mechs ...string) {
	p.Header()
	p.Features(StartTLSFeature)
	p.StartTLS()
	p.Header()
	p.Features(Mechanisms(mechs...))
	p.Authenticate()
	p.Header()
}

// LoginFromSASL runs SCRAM-SHA-1 and bind on a stream whose header was
// just exchanged: the rest of a login after TLS, or all of one without.
func (p *Peer) LoginFromSASL() {
	p.Features(Mechanisms("SCRAM-SHA-1"))
	p.Authenticate()
	p.Header()
	p.Features(BindFeature)
	p.Bind("")
}

// Login runs STARTTLS, SASL (SCRAM-SHA-1 and PLAIN offered) and bind.
func (p *Peer) Login() {
	p.ToBind("SCRAM-SHA-1", "PLAIN")
	p.Features(BindFeature)
	p.Bind("")
}

// childText returns the text of the first element named local inside a
// child of r named parent.
func childText(r *stanza.Raw, parent, local string) string {
	tr := r.TokenReader()
	depth := 0
	inParent, in := false, false
	var b strings.Builder
	for {
		tok, err := tr.Token()
		if err != nil {
			return b.String()
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 && t.Name.Local == parent {
				inParent = true
			}
			in = inParent && t.Name.Local == local
		case xml.CharData:
			if in {
				b.Write(t)
			}
		case xml.EndElement:
			if in {
				return b.String()
			}
			if depth == 2 {
				inParent = false
			}
			depth--
		}
	}
}

// IQ decodes an element the client sent as an iq.
func IQ(el *stanza.Raw) (*stanza.IQ, error) {
	tr := el.TokenReader()
	tok, err := tr.Token()
	if err != nil {
		return nil, err
	}
	start, ok := tok.(xml.StartElement)
	if !ok || el.Name().Local != "iq" {
		return nil, errors.New("scripted: not an iq: " + el.String())
	}
	return stanza.DecodeIQ(tr, start)
}

package session

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/serverside/saslauth"
	"github.com/parleyim/parley/internal/serverside/selfsigned"
	"github.com/parleyim/parley/internal/wire"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

// The peer in these tests is a scripted server: each test writes what the
// server says and checks what the client sends, so every negotiation path
// and every failure can be produced on purpose.

const testDomain = "example.com"

var (
	certOnce sync.Once
	testCert tls.Certificate
	testPool *x509.CertPool
)

// testTLS returns a certificate for example.com and a pool that trusts it.
func testTLS(t testing.TB) (tls.Certificate, *x509.CertPool) {
	certOnce.Do(func() {
		if env := os.Getenv("PARLEY_BENCH_CERT"); env != "" {
			// A child process serving BenchmarkIdleSession shares the
			// parent's certificate.
			certDER, keyDER, _ := strings.Cut(env, ".")
			der, _ := base64.StdEncoding.DecodeString(certDER)
			kb, _ := base64.StdEncoding.DecodeString(keyDER)
			key, err := x509.ParsePKCS8PrivateKey(kb)
			if err != nil {
				panic(err)
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				panic(err)
			}
			testCert = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}
			testPool = x509.NewCertPool()
			testPool.AddCert(cert)
			return
		}
		c, err := selfsigned.New("Parley session tests", 24*time.Hour, testDomain)
		if err != nil {
			panic(err)
		}
		testCert, testPool = c.TLS, c.Pool
	})
	return testCert, testPool
}

// peer is the server end of one connection.
type peer struct {
	t      testing.TB
	conn   net.Conn
	rd     *wire.Reader
	tlsMax uint16
	sasl   *saslauth.Server
	// hold, if set, carries the TLS records (see heldConn).
	hold *heldConn
}

// loopback returns the two ends of a TCP connection on 127.0.0.1 (TCP
// buffers, unlike net.Pipe, so neither side blocks on a write the other
// does not read yet).
func loopback(t testing.TB) (client, server net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
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
	require.NoError(t, err)
	server = <-ch
	require.NotNil(t, server)
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

func newPeer(t testing.TB, conn net.Conn) *peer {
	p := &peer{t: t, conn: conn, rd: wire.NewReader(conn, wire.Limits{})}
	p.sasl = &saslauth.Server{Domain: testDomain, Lookup: func(u string) (string, bool) {
		if u == "juliet" {
			return "r0m30myr0m30", true
		}
		return "", false
	}}
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	return p
}

// clientConfig is a Config that trusts the test certificate.
func clientConfig(t testing.TB) *Config {
	_, pool := testTLS(t)
	return &Config{TLSConfig: &tls.Config{RootCAs: pool}, KeepAlive: -1, Timeout: 10 * time.Second}
}

var juliet = jid.MustParse("juliet@example.com")

// dialPeer runs New against a peer whose script runs in fn on its
// own goroutine and returns the client's result. When it fails, the
// script has ended; otherwise wait waits for it (close the session first:
// scripts end when the client closes). Read what a script recorded only
// after that.
func dialPeer(t testing.TB, cfg *Config, fn func(p *peer)) (*Session, error) {
	s, _, err := dialPeerWait(t, juliet, cfg, fn)
	return s, err
}

func dialPeerWait(t testing.TB, account jid.JID, cfg *Config, fn func(p *peer)) (s *Session, wait func(), err error) {
	t.Helper()
	cc, sc := loopback(t)
	p := newPeer(t, sc)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if r := recover(); r != nil && r != errPeerStop {
				panic(r)
			}
		}()
		fn(p)
	}()
	s, err = New(context.Background(), cc, account, "r0m30myr0m30", cfg)
	wait = func() { <-done }
	if err != nil {
		wait() // the client closed its end: the script reads EOF
	}
	return s, wait, err
}

var errPeerStop = fmt.Errorf("peer stopped")

// fatalf stops the script (the client's result tells the test what
// happened; the script's own failure is reported too).
func (p *peer) fatalf(format string, args ...any) {
	p.t.Errorf("peer: "+format, args...)
	panic(errPeerStop)
}

func (p *peer) send(s string) {
	if _, err := io.WriteString(p.conn, s); err != nil {
		p.fatalf("write: %v", err)
	}
}

// header reads the client's stream header and answers with the server's.
func (p *peer) header() wire.Header {
	h, err := p.rd.ReadHeader()
	if err != nil {
		p.fatalf("reading client header: %v", err)
	}
	p.send(string(wire.AppendHeader(nil, wire.Header{From: testDomain, ID: "s1", Version: "1.0", Lang: "en"})))
	return h
}

// next reads the client's next top-level element as a Raw.
func (p *peer) next() *stanza.Raw {
	raw, err := p.tryNext()
	if err != nil {
		p.fatalf("reading client element: %v", err)
	}
	return raw
}

// tryNext is next for scripts in which the client may have hung up.
func (p *peer) tryNext() (*stanza.Raw, error) {
	start, err := p.rd.NextElement()
	if err != nil {
		return nil, err
	}
	return stanza.ReadRaw(p.rd, start)
}

// expect reads the next element and checks its local name.
func (p *peer) expect(local string) *stanza.Raw {
	raw := p.next()
	if raw.Name().Local != local {
		p.fatalf("client sent <%s>, want <%s>", raw.Name().Local, local)
	}
	return raw
}

// expectClosed reads until the client's stream ends, answers its close
// with the server's, and returns what the client sent before (say, a
// stream error).
func (p *peer) expectClosed() []string {
	var names []string
	for {
		start, err := p.rd.NextElement()
		if err != nil {
			if err == wire.ErrStreamClosed {
				_, _ = io.WriteString(p.conn, wire.Close)
			}
			if tc, ok := p.conn.(*tls.Conn); ok {
				tc.NetConn().Close() // no close_notify: the client may not read it
			} else {
				p.conn.Close()
			}
			return names
		}
		raw, err := stanza.ReadRaw(p.rd, start)
		if err != nil {
			return names
		}
		names = append(names, elemString(raw))
	}
}

func elemString(r *stanza.Raw) string {
	b, _ := r.AppendXML(nil)
	return string(b)
}

// startTLS answers <starttls/> with <proceed/> and runs the handshake.
func (p *peer) startTLS() {
	p.expect("starttls")
	p.send("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
	cert, _ := testTLS(p.t)
	under := p.conn
	if p.hold != nil {
		p.hold.Conn = p.conn
		under = p.hold
	}
	tc := tls.Server(under, &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: p.tlsMax})
	if err := tc.Handshake(); err != nil {
		p.fatalf("TLS handshake: %v", err)
	}
	p.conn = tc
	p.rd = wire.NewReader(tc, wire.Limits{})
}

func (p *peer) tlsState() *tls.ConnectionState {
	if tc, ok := p.conn.(*tls.Conn); ok {
		st := tc.ConnectionState()
		return &st
	}
	return nil
}

// features sends <stream:features> with the given children.
func (p *peer) features(children ...string) {
	for _, c := range children {
		if strings.Contains(c, "<mechanisms") {
			// The server's SCRAM checks the GS2 flag against what it
			// offered: keep the two in step.
			p.sasl.NoPlus = !strings.Contains(c, "-PLUS<")
		}
	}
	p.send("<stream:features>" + strings.Join(children, "") + "</stream:features>")
}

const (
	featStartTLS = "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
	featBind     = "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"
)

// mechanisms lists names in <mechanisms/>. The peer's SASL server is told
// separately whether -PLUS was offered (see authenticate).
func mechanisms(names ...string) string {
	var b strings.Builder
	b.WriteString("<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>")
	for _, n := range names {
		b.WriteString("<mechanism>" + n + "</mechanism>")
	}
	b.WriteString("</mechanisms>")
	return b.String()
}

// authenticate runs the server side of SASL with saslauth and returns
// the mechanism the client chose.
func (p *peer) authenticate() string {
	auth := p.expect("auth")
	mech := auth.Attr("mechanism")
	data := p.base64(auth.Text())
	ex, chal, done, err := p.sasl.Start(mech, data, p.tlsState())
	for {
		if err != nil {
			p.send("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/><text xml:lang='en'>" + err.Error() + "</text></failure>")
			return mech
		}
		if done {
			p.send("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" + enc64(chal) + "</success>")
			p.rd.Restart()
			return mech
		}
		p.send("<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" + enc64(chal) + "</challenge>")
		resp := p.expect("response")
		chal, done, err = ex.Next(p.base64(resp.Text()))
	}
}

func enc64(b []byte) string {
	if len(b) == 0 {
		return "="
	}
	return base64.StdEncoding.EncodeToString(b)
}

func (p *peer) base64(s string) []byte {
	if s == "=" || s == "" {
		return []byte{}
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		p.fatalf("bad base64 %q: %v", s, err)
	}
	return b
}

// bind answers the client's bind request with resource (or the one asked
// for when resource is empty) and returns the requested resource.
func (p *peer) bind(resource string) string {
	iq := p.expect("iq")
	id := iq.Attr("id")
	asked := ""
	eachChild(iq, func(start xml.StartElement, _ string) {
		if start.Name.Local == "bind" {
			asked = childText(iq, "resource")
		}
	})
	if resource == "" {
		resource = asked
	}
	if resource == "" {
		resource = "generated"
	}
	p.send(fmt.Sprintf("<iq type='result' id='%s'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>juliet@example.com/%s</jid></bind></iq>", id, resource))
	return asked
}

// toBind runs STARTTLS and SASL offering mechs, and opens the final
// stream; the script sends that stream's features next.
func (p *peer) toBind(mechs ...string) {
	p.header()
	p.features(featStartTLS)
	p.startTLS()
	p.header()
	p.features(mechanisms(mechs...))
	p.authenticate()
	p.header()
}

// loginFromSASL runs SCRAM-SHA-1 and bind on a stream whose header was
// just exchanged: the rest of a login after TLS, or all of one without.
func (p *peer) loginFromSASL() {
	p.features(mechanisms("SCRAM-SHA-1"))
	p.authenticate()
	p.header()
	p.features(featBind)
	p.bind("")
}

// login runs STARTTLS, SASL and bind with default features.
func (p *peer) login() {
	p.toBind("SCRAM-SHA-1", "PLAIN")
	p.features(featBind)
	p.bind("")
}

// childText returns the text of the first descendant named local.
func childText(r *stanza.Raw, local string) string {
	tr := r.TokenReader()
	in := false
	var b strings.Builder
	for {
		tok, err := tr.Token()
		if err != nil {
			return b.String()
		}
		switch t := tok.(type) {
		case xml.StartElement:
			in = t.Name.Local == local
		case xml.CharData:
			if in {
				b.Write(t)
			}
		case xml.EndElement:
			if in {
				return b.String()
			}
		}
	}
}

type x509HostnameError = x509.HostnameError

func xmlName(space, local string) xml.Name { return xml.Name{Space: space, Local: local} }

func mustJID(s string) jid.JID { return jid.MustParse(s) }

func wireReader(c net.Conn) *wire.Reader { return wire.NewReader(c, wire.Limits{}) }

// fakeResolver answers SRV lookups from a table keyed by service.
type fakeResolver map[string][]*net.SRV

func (f fakeResolver) LookupSRV(_ context.Context, service, proto, name string) (string, []*net.SRV, error) {
	recs, ok := f[service]
	if !ok {
		return "", nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	return "_" + service + "._" + proto + "." + name, recs, nil
}

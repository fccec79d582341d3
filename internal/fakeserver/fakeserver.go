// Package fakeserver is a scripted XMPP server for the tests of Parley's
// feature packages (disco, ping). It is for tests only: it takes a
// testing.TB, fails the test on protocol faults and trusts a certificate
// it generates itself.
//
// Dial starts a server on 127.0.0.1 for one client, logs the client in as
// juliet@example.com (STARTTLS with a generated certificate, SCRAM through
// internal/saslserver, resource binding) and returns the client's
// *session.Session together with the server's end, a *Conn. Every element
// the client sends afterwards goes to the test's Handler, which may answer
// with Conn.Send; what the handler does not take is queued for Conn.Next.
//
// It is smaller than xmpptest on purpose: no routing and no rules, so a
// test can send anything (lies, malformed replies, replies from the wrong
// address) and see how the client copes.
package fakeserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/serverside/saslauth"
	"github.com/parleyim/parley/internal/serverside/selfsigned"
	"github.com/parleyim/parley/internal/wire"
	"github.com/parleyim/parley/internal/xmlenc"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// Domain is the server's domain, and Account the client's bare JID; the
// client is bound to Account with resource Resource.
const (
	Domain   = "example.com"
	Account  = "juliet@example.com"
	Resource = "balcony"
	password = "r0m30myr0m30"
)

// FullJID is the address the client is bound to.
var FullJID = jid.MustParse(Account + "/" + Resource)

// Handler sees each element the client sends after login. It returns true
// if it took the element; otherwise the element is queued for Conn.Next.
// It runs on the server's goroutine: it may call Conn.Send, not Conn.Next.
type Handler func(c *Conn, el *stanza.Raw) bool

// Conn is the server's end of the connection. Send is safe from several
// goroutines.
type Conn struct {
	t    testing.TB
	mu   sync.Mutex
	conn net.Conn
	rd   *wire.Reader
	sasl *saslauth.Server
	rest chan *stanza.Raw
}

var (
	certOnce sync.Once
	cert     *selfsigned.Cert
	certErr  error
)

// certificate returns a self-signed certificate for Domain and a pool
// that trusts it.
func certificate() (tls.Certificate, *x509.CertPool, error) {
	certOnce.Do(func() {
		cert, certErr = selfsigned.New("Parley fakeserver", 24*time.Hour, Domain)
	})
	if certErr != nil {
		return tls.Certificate{}, nil, certErr
	}
	return cert.TLS, cert.Pool, nil
}

// Dial starts a server, connects a client with the given Mux (nil for an
// empty one) and logs it in. The session is closed and the server stopped
// when the test ends.
func Dial(t testing.TB, mux *session.Mux, h Handler) (*session.Session, *Conn) {
	t.Helper()
	crt, roots, err := certificate()
	if err != nil {
		t.Fatalf("fakeserver: certificate: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("fakeserver: listen: %v", err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c
	}()
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("fakeserver: dial: %v", err)
	}
	sc := <-accepted
	if sc == nil {
		cc.Close()
		t.Fatalf("fakeserver: accept failed")
	}
	c := &Conn{
		t:    t,
		conn: sc,
		rd:   wire.NewReader(sc, wire.Limits{}),
		rest: make(chan *stanza.Raw, 64),
		sasl: &saslauth.Server{Domain: Domain, NoPlus: true, Lookup: func(u string) (string, bool) {
			return password, u == "juliet"
		}},
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer sc.Close()
		if err := c.login(crt); err != nil {
			t.Errorf("fakeserver: login: %v", err)
			return
		}
		c.serve(h)
	}()
	cfg := &session.Config{
		TLSConfig: &tls.Config{RootCAs: roots},
		KeepAlive: -1,
		Timeout:   10 * time.Second,
		Resource:  Resource,
		Mux:       mux,
	}
	s, err := session.New(context.Background(), cc, jid.MustParse(Account), password, cfg)
	if err != nil {
		<-done
		t.Fatalf("fakeserver: client: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Close(ctx)
		<-done
	})
	return s, c
}

// Send writes raw XML to the client.
func (c *Conn) Send(x string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := io.WriteString(c.conn, x); err != nil {
		c.t.Errorf("fakeserver: write: %v", err)
	}
}

// Next returns the next element the handler did not take, waiting at most
// five seconds; it fails the test when none comes.
func (c *Conn) Next() *stanza.Raw {
	c.t.Helper()
	select {
	case el, ok := <-c.rest:
		if !ok {
			c.t.Fatalf("fakeserver: stream ended while waiting for an element")
		}
		return el
	case <-time.After(5 * time.Second):
		c.t.Fatalf("fakeserver: no element from the client within 5s")
		return nil
	}
}

// serve hands the client's elements to h until the stream ends.
func (c *Conn) serve(h Handler) {
	defer close(c.rest)
	for {
		start, err := c.rd.NextElement()
		if err != nil {
			if errors.Is(err, wire.ErrStreamClosed) {
				c.Send(wire.Close)
			}
			return
		}
		el, err := stanza.ReadRaw(c.rd, start)
		if err != nil {
			c.t.Errorf("fakeserver: reading element: %v", err)
			return
		}
		if h != nil && h(c, el) {
			continue
		}
		select {
		case c.rest <- el:
		default:
			c.t.Errorf("fakeserver: element queue full, dropping %s", el)
		}
	}
}

// login runs the server side of STARTTLS, SCRAM and bind.
func (c *Conn) login(crt tls.Certificate) error {
	if err := c.header(); err != nil {
		return err
	}
	c.Send("<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>")
	if _, err := c.expect("starttls"); err != nil {
		return err
	}
	c.Send("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
	tc := tls.Server(c.conn, &tls.Config{Certificates: []tls.Certificate{crt}})
	if err := tc.Handshake(); err != nil {
		return err
	}
	c.mu.Lock()
	c.conn = tc
	c.mu.Unlock()
	c.rd = wire.NewReader(tc, wire.Limits{})
	if err := c.header(); err != nil {
		return err
	}
	c.Send("<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-256</mechanism></mechanisms></stream:features>")
	if err := c.authenticate(tc); err != nil {
		return err
	}
	if err := c.header(); err != nil {
		return err
	}
	c.Send("<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>")
	iq, err := c.expect("iq")
	if err != nil {
		return err
	}
	id := iq.Attr("id")
	var b strings.Builder
	b.WriteString("<iq type='result' id='")
	b.Write(xmlenc.AppendEscaped(nil, id))
	b.WriteString("'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>" + FullJID.String() + "</jid></bind></iq>")
	c.Send(b.String())
	return nil
}

func (c *Conn) header() error {
	if _, err := c.rd.ReadHeader(); err != nil {
		return err
	}
	c.Send(string(wire.AppendHeader(nil, wire.Header{From: Domain, ID: "s1", Version: "1.0", Lang: "en"})))
	return nil
}

func (c *Conn) expect(local string) (*stanza.Raw, error) {
	start, err := c.rd.NextElement()
	if err != nil {
		return nil, err
	}
	el, err := stanza.ReadRaw(c.rd, start)
	if err != nil {
		return nil, err
	}
	if el.Name().Local != local {
		return nil, errors.New("client sent <" + el.Name().Local + ">, want <" + local + ">")
	}
	return el, nil
}

func (c *Conn) authenticate(tc *tls.Conn) error {
	auth, err := c.expect("auth")
	if err != nil {
		return err
	}
	state := tc.ConnectionState()
	data, err := decode64(auth.Text())
	if err != nil {
		return err
	}
	ex, chal, done, err := c.sasl.Start(auth.Attr("mechanism"), data, &state)
	for {
		if err != nil {
			c.Send("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>")
			return err
		}
		if done {
			c.Send("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" + encode64(chal) + "</success>")
			c.rd.Restart()
			return nil
		}
		c.Send("<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" + encode64(chal) + "</challenge>")
		resp, rerr := c.expect("response")
		if rerr != nil {
			return rerr
		}
		data, derr := decode64(resp.Text())
		if derr != nil {
			return derr
		}
		chal, done, err = ex.Next(data)
	}
}

func encode64(b []byte) string {
	if len(b) == 0 {
		return "="
	}
	return base64.StdEncoding.EncodeToString(b)
}

func decode64(s string) ([]byte, error) {
	if s == "" || s == "=" {
		return []byte{}, nil
	}
	return base64.StdEncoding.DecodeString(s)
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
		return nil, errors.New("fakeserver: not an iq: " + el.String())
	}
	return stanza.DecodeIQ(tr, start)
}

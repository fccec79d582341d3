package xmpptest_test

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/xml"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/wire"
	"github.com/parleyim/parley/stanza"
	"github.com/parleyim/parley/xmpptest"
)

// rawClient speaks XML to the server by hand, for the inputs that no
// well-behaved client sends.
type rawClient struct {
	t    testing.TB
	srv  *xmpptest.Server
	conn net.Conn
	rd   *wire.Reader
}

func dialRaw(t testing.TB, srv *xmpptest.Server) *rawClient {
	t.Helper()
	conn, err := srv.Pipe()
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawClient{t: t, srv: srv, conn: conn, rd: wire.NewReader(conn, wire.Limits{})}
}

func (c *rawClient) send(s string) {
	c.t.Helper()
	_, err := io.WriteString(c.conn, s)
	require.NoError(c.t, err)
}

// open sends a stream header to domain and reads the server's header and
// features.
func (c *rawClient) open(domain string) *stanza.Raw {
	c.t.Helper()
	c.send(string(wire.AppendHeader(nil, wire.Header{To: domain, Version: "1.0"})))
	_, err := c.rd.ReadHeader()
	require.NoError(c.t, err)
	return c.next()
}

// next reads the next element; a closed stream fails the test.
func (c *rawClient) next() *stanza.Raw {
	c.t.Helper()
	raw, err := c.tryNext()
	require.NoError(c.t, err)
	return raw
}

func (c *rawClient) tryNext() (*stanza.Raw, error) {
	start, err := c.rd.NextElement()
	if err != nil {
		return nil, err
	}
	return stanza.ReadRaw(c.rd, start)
}

// startTLS runs STARTTLS.
func (c *rawClient) startTLS() {
	c.t.Helper()
	c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
	require.Equal(c.t, "proceed", c.next().Name().Local)
	tc := tls.Client(c.conn, c.srv.TLSConfig())
	require.NoError(c.t, tc.Handshake())
	c.conn = tc
	c.rd = wire.NewReader(tc, wire.Limits{})
}

// login runs STARTTLS, PLAIN and binds resource "raw"; after it the
// stream is established. With session it also sends the session iq.
func (c *rawClient) login(user string) {
	c.t.Helper()
	domain := c.srv.Domain().String()
	c.open(domain)
	c.startTLS()
	c.open(domain)
	c.auth(user, "pw-"+user)
	c.rd.Restart()
	c.open(domain)
	c.send("<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>raw</resource></bind></iq>")
	reply := c.next()
	require.Contains(c.t, reply.String(), "<jid>"+user+"@"+domain+"/raw</jid>")
}

func (c *rawClient) auth(user, pw string) *stanza.Raw {
	c.t.Helper()
	c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
		base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+pw)) + "</auth>")
	r := c.next()
	require.Equal(c.t, "success", r.Name().Local, r.String())
	return r
}

// streamError reads until the server's stream error and the end of its
// stream, and returns the error.
func (c *rawClient) streamError() *stanza.StreamError {
	c.t.Helper()
	for {
		start, err := c.rd.NextElement()
		require.NoError(c.t, err, "the stream ended without a stream error")
		if start.Name == (xml.Name{Space: ns.Stream, Local: "error"}) {
			se, err := stanza.DecodeStreamError(c.rd, start)
			require.NoError(c.t, err)
			_, err = c.rd.NextElement()
			require.ErrorIs(c.t, err, wire.ErrStreamClosed, "no </stream:stream> after the error")
			return se
		}
		_, err = stanza.ReadRaw(c.rd, start)
		require.NoError(c.t, err)
	}
}

// stanza reads the next stanza.
func (c *rawClient) stanza() stanza.Stanza {
	c.t.Helper()
	start, err := c.rd.NextElement()
	require.NoError(c.t, err)
	st, err := stanza.Decoder{}.Decode(c.rd, start)
	require.NoError(c.t, err)
	return st
}

package xmpptest_test

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/xmpptest"
)

// In-band registration at the level of the XML: what the server offers
// and answers before authentication. The register package tests the
// whole life of an account against xmpptest.

// preAuth opens a stream through STARTTLS and returns the features of
// the stream before authentication.
func preAuth(t testing.TB, srv *xmpptest.Server) (*rawClient, string) {
	c := dialRaw(t, srv)
	c.open(srv.Domain().String())
	c.startTLS()
	feats := c.open(srv.Domain().String())
	return c, feats.String()
}

func TestRegistrationPreAuth(t *testing.T) {
	t.Parallel()
	srv := xmpptest.NewServer(t, &xmpptest.Config{Registration: true})
	_, err := srv.AddUser("alice", "pw")
	require.NoError(t, err)
	c, feats := preAuth(t, srv)
	assert.Contains(t, feats, "<register xmlns='http://jabber.org/features/iq-register'")

	for _, tc := range []struct{ send, want string }{
		{"<iq type='get' id='g'><query xmlns='jabber:iq:register'/></iq>", "<username"},
		{"<iq type='get' id='g2' to='example.test'><query xmlns='jabber:iq:register'/></iq>", "<password"},
		{"<iq type='get' id='o' to='other.test'><query xmlns='jabber:iq:register'/></iq>", "service-unavailable"},
		{"<iq type='get' id='d'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>", "not-authorized"},
		{"<iq type='set' id='r'><query xmlns='jabber:iq:register'><remove/></query></iq>", "not-authorized"},
		{"<iq type='set' id='t'><query xmlns='jabber:iq:register'><username>alice</username><password>x</password></query></iq>", "conflict"},
		{"<iq type='set' id='m'><query xmlns='jabber:iq:register'><username>bob</username></query></iq>", "not-acceptable"},
		{"<iq type='set' id='b'><query xmlns='jabber:iq:register'><username>bob</username><username>bob</username></query></iq>", "bad-request"},
		{"<iq type='set' id='n'><query xmlns='jabber:iq:register'><username>bob</username><password>pw</password></query></iq>", "type='result'"},
	} {
		c.send(tc.send)
		reply := c.next()
		assert.Contains(t, reply.String(), tc.want, tc.send)
	}
	// The new account logs in on the same stream.
	assert.Equal(t, "success", c.auth("bob", "pw").Name().Local)
}

func TestRegistrationOffPreAuth(t *testing.T) {
	t.Parallel()
	srv := xmpptest.NewServer(t, nil)
	c, feats := preAuth(t, srv)
	assert.NotContains(t, feats, "iq-register")
	c.send("<iq type='get' id='g'><query xmlns='jabber:iq:register'/></iq>")
	assert.Contains(t, c.next().String(), "not-authorized", "a stanza before authentication ends the stream")
}

// FuzzRegistration sends arbitrary input after STARTTLS, where
// registration requests arrive, as anyone on the port could. The server
// must not panic and must end the connection when the client goes.
func FuzzRegistration(f *testing.F) {
	for _, seed := range []string{
		"<iq type='get' id='g'><query xmlns='jabber:iq:register'/></iq>",
		"<iq type='set' id='n'><query xmlns='jabber:iq:register'><username>bob</username><password>pw</password></query></iq>",
		"<iq type='set' id='f'><query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' type='submit'><field var='username'><value>Carol</value></field><field var='password'><value>pw</value></field></x></query></iq>",
		"<iq type='set' id='r'><query xmlns='jabber:iq:register'><remove/></query></iq>",
		"<iq type='set' id='x'><query xmlns='jabber:iq:register'><username>a@b</username><password>p</password></query></iq>",
		"<iq type='result' id='y'/><iq type='get'><query xmlns='jabber:iq:register'/></iq>",
	} {
		f.Add([]byte(seed))
	}
	srv, err := xmpptest.Start(&xmpptest.Config{Registration: true, RegistrationForm: true})
	require.NoError(f, err)
	f.Cleanup(func() { _ = srv.Close() })
	f.Fuzz(func(t *testing.T, data []byte) {
		c, _ := preAuth(t, srv)
		drained := make(chan struct{})
		go func() {
			defer close(drained)
			_, _ = io.Copy(io.Discard, c.conn)
		}()
		_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, _ = c.conn.Write(data)
		c.conn.Close()
		select {
		case <-drained:
		case <-time.After(10 * time.Second):
			t.Fatal("the server kept the connection")
		}
	})
}

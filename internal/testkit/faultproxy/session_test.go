package faultproxy_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/testkit/faultproxy"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
	"github.com/parleyim/parley/xmpptest"
)

// A Parley session dialled through the proxy in front of a server: the
// test takes the session's connection with Next and cuts it; the session
// dials again through the proxy and resumes the stream (stream
// management), so a ping sent after the cut is answered.
func Example() {
	srv, err := xmpptest.Start(&xmpptest.Config{Listen: true})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	alice, _ := srv.AddUser("alice", "secret")
	p, err := faultproxy.Start(srv.Addr())
	if err != nil {
		panic(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	s, err := session.Dial(ctx, alice, "secret", &session.Config{Addr: p.Addr(), TLSConfig: srv.TLSConfig()})
	if err != nil {
		panic(err)
	}
	defer s.Close(ctx)
	c, err := p.Next(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println("TLS through the proxy:", s.TLS() != nil)

	c.Cut()
	if _, err := p.Next(ctx); err != nil {
		panic(err)
	}
	fmt.Println("ping after the cut:", ping(ctx, s))
	fmt.Println("resumed:", s.Stats().Resumed)
	// Output:
	// TLS through the proxy: true
	// ping after the cut: <nil>
	// resumed: 1
}

// sessionThrough starts an xmpptest server on 127.0.0.1 and a proxy in
// front of it, and returns them with an account.
func sessionThrough(t *testing.T) (*xmpptest.Server, *faultproxy.Proxy, jid.JID) {
	srv := xmpptest.NewServer(t, &xmpptest.Config{Listen: true})
	alice, err := srv.AddUser("alice", "secret")
	require.NoError(t, err)
	return srv, faultproxy.New(t, srv.Addr()), alice
}

func ping(ctx context.Context, s *session.Session) error {
	payload, err := stanza.ParseRaw([]byte("<ping xmlns='urn:xmpp:ping'/>"))
	if err != nil {
		return err
	}
	_, err = s.SendIQ(ctx, &stanza.IQ{Header: stanza.Header{To: s.Addr().Domain()}, Type: stanza.IQGet, Payload: payload})
	return err
}

// The bytes are the server's: the client verifies the server's
// certificate through the proxy, and refuses it when it trusts another.
func TestSessionVerifiesServerThroughProxy(t *testing.T) {
	t.Parallel()
	srv, p, alice := sessionThrough(t)
	ctx := testContext(t)
	tc := srv.TLSConfig()
	tc.RootCAs = xmpptest.NewServer(t, nil).CertPool() // another server's certificate
	_, err := session.Dial(ctx, alice, "secret", &session.Config{Addr: p.Addr(), TLSConfig: tc, NoStreamManagement: true})
	require.Error(t, err)
	assert.ErrorContains(t, err, "certificate")
	c, err := p.Next(ctx)
	require.NoError(t, err)
	assert.Positive(t, c.Forwarded(faultproxy.ToClient), "the server's bytes reached the client")
}

// A blackhole while the session is idle loses nothing; healed, the
// session goes on. What it sends meanwhile is lost, and a gap in the TLS
// records ends the stream once healed.
func TestSessionBlackholeWhileIdle(t *testing.T) {
	t.Parallel()
	srv, p, alice := sessionThrough(t)
	ctx := testContext(t)
	s, err := session.Dial(ctx, alice, "secret", &session.Config{Addr: p.Addr(), TLSConfig: srv.TLSConfig(), NoStreamManagement: true})
	require.NoError(t, err)
	defer s.Close(ctx)
	c, err := p.Next(ctx)
	require.NoError(t, err)
	require.NoError(t, ping(ctx, s))

	c.Blackhole()
	c.Heal()
	require.NoError(t, ping(ctx, s), "nothing was lost")

	c.Blackhole()
	lost := c.Discarded(faultproxy.ToServer)
	pctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- ping(pctx, s) }()
	require.NoError(t, c.Wait(ctx, func() bool { return c.Discarded(faultproxy.ToServer) > lost }), "the ping is lost")
	cancel()
	assert.ErrorIs(t, <-errc, context.Canceled, "no answer came")
	select {
	case <-s.Done():
		t.Fatalf("the session ended: %v", s.Err())
	default:
	}
	// Healed, the server reads the next TLS record out of sequence and
	// ends the stream.
	c.Heal()
	_ = ping(ctx, s)
	<-s.Done()
	assert.ErrorContains(t, s.Err(), "bad record MAC")
}

// A client dialling while new connections are blackholed gets no answer
// (its stream header is lost) and none of its bytes reach the server;
// refused, it fails at once.
func TestSessionDialsDeadLink(t *testing.T) {
	t.Parallel()
	srv, p, alice := sessionThrough(t)
	ctx := testContext(t)
	// Without stream management: these tests watch a fault end the
	// session (resumption is session's and interop's to test).
	cfg := &session.Config{Addr: p.Addr(), TLSConfig: srv.TLSConfig(), NoStreamManagement: true}

	p.SetPolicy(faultproxy.Blackhole)
	dctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() {
		s, err := session.Dial(dctx, alice, "secret", cfg)
		if err == nil {
			s.Close(ctx)
		}
		errc <- err
	}()
	c, err := p.Next(ctx)
	require.NoError(t, err)
	require.NoError(t, c.Wait(ctx, func() bool { return c.Discarded(faultproxy.ToServer) > 0 }), "the header is lost")
	cancel()
	assert.ErrorIs(t, <-errc, context.Canceled)
	assert.Zero(t, c.Forwarded(faultproxy.ToServer))

	p.SetPolicy(faultproxy.Refuse)
	_, err = session.Dial(ctx, alice, "secret", cfg)
	assert.Error(t, err)
	c, err = p.Next(ctx)
	require.NoError(t, err)
	assert.ErrorIs(t, c.Err(), faultproxy.ErrRefused)

	p.SetPolicy(faultproxy.Forward)
	s, err := session.Dial(ctx, alice, "secret", cfg)
	require.NoError(t, err)
	defer s.Close(ctx)
	require.NoError(t, ping(ctx, s))
}

// The shape of a test of a client that reconnects: the link dies
// silently, the client gives up on it and dials again while the link is
// still dead, then the link comes back.
func ExampleProxy_Next() {
	test := func(t *testing.T, serverAddr string) {
		p := faultproxy.New(t, serverAddr)
		ctx := t.Context()
		// … the client under test connects to p.Addr() …
		first, err := p.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p.SetPolicy(faultproxy.Blackhole) // new connections are dead too
		first.Blackhole()                 // nothing arrives, nothing closes
		// … the client notices the silence and dials again …
		second, err := p.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Wait until the client's new stream header was lost.
		if err := second.Wait(ctx, func() bool { return second.Discarded(faultproxy.ToServer) > 0 }); err != nil {
			t.Fatal(err)
		}
		p.SetPolicy(faultproxy.Forward) // the link is back
		first.Cut()
		second.Cut()
		// … the client's next connection goes through: p.Next(ctx) …
	}
	_ = test // in a real test: func TestReconnect(t *testing.T) { ... }
}

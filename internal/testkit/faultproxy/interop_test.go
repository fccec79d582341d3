//go:build interop

package faultproxy_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/testkit/faultproxy"
	"github.com/parleyim/parley/internal/testkit/xmppd"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
)

// A Parley session through the proxy to Prosody and ejabberd: STARTTLS
// and SASL pass through, a blackhole that loses nothing heals, one that
// loses a TLS record ends the stream at the next record, and a cut in
// the middle of a record ends the session.
func TestInteropThroughProxy(t *testing.T) {
	for _, kind := range xmppd.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			srv := xmppd.Start(t, kind, xmppd.Options{})
			p := faultproxy.New(t, srv.Addr)
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			alice := jid.MustParse("alice@" + srv.Domain)
			// Without stream management: the cases watch a fault end the
			// session (resumption is tested in internal/testkit/interop).
			cfg := &session.Config{Addr: p.Addr(), TLSConfig: srv.TLSConfig(), KeepAlive: -1, NoStreamManagement: true}
			dial := func() (*session.Session, *faultproxy.Conn) {
				t.Helper()
				s, err := session.Dial(ctx, alice, srv.Users["alice"], cfg)
				require.NoError(t, err)
				t.Cleanup(func() { s.Close(context.Background()) })
				c, err := p.Next(ctx)
				require.NoError(t, err)
				return s, c
			}

			s, c := dial()
			require.NotNil(t, s.TLS())
			require.NoError(t, ping(ctx, s))
			c.Blackhole()
			c.Heal()
			require.NoError(t, ping(ctx, s), "a blackhole that lost nothing heals")

			// The client's ping is lost; once healed, the server reads the
			// next TLS record out of sequence and ends the stream.
			c.Blackhole(faultproxy.ToServer)
			pctx, pcancel := context.WithCancel(ctx)
			errc := make(chan error, 1)
			go func() { errc <- ping(pctx, s) }()
			require.NoError(t, c.Wait(ctx, func() bool { return c.Discarded(faultproxy.ToServer) > 0 }))
			pcancel()
			assert.ErrorIs(t, <-errc, context.Canceled)
			c.Heal()
			_ = ping(ctx, s)
			<-s.Done()
			t.Logf("%s: after a lost record: %v (connection: %v)", kind, s.Err(), c.Err())
			assert.ErrorContains(t, s.Err(), "bad record MAC")

			// A cut in the middle of a TLS record.
			s, c = dial()
			sent := c.Forwarded(faultproxy.ToServer)
			c.CutAfter(faultproxy.ToServer, 5)
			_ = ping(ctx, s)
			<-s.Done()
			<-c.Done()
			assert.Error(t, s.Err())
			assert.ErrorIs(t, c.Err(), faultproxy.ErrCut)
			assert.Equal(t, sent+5, c.Forwarded(faultproxy.ToServer))
		})
	}
}

//go:build interop

package ping_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/testkit/xmppd"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/ping"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// login connects user (one of srv.Users) to srv with mux (nil for an
// empty one), trusting the server's certificate, with keepalive off; the
// session is closed when the test ends.
func login(t *testing.T, srv *xmppd.Server, user string, mux *session.Mux) *session.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := &session.Config{Addr: srv.Addr, TLSConfig: srv.TLSConfig(), Mux: mux, KeepAlive: -1}
	s, err := session.Dial(ctx, jid.MustParse(user+"@"+srv.Domain), srv.Users[user], cfg)
	require.NoError(t, err, "%s logs in to %s", user, srv.Kind)
	closeAtEnd(t, s)
	return s
}

func TestInteropPing(t *testing.T) {
	for _, kind := range xmppd.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			srv := xmppd.Start(t, kind, xmppd.Options{})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()

			aliceMux := session.NewMux()
			ping.Handle(aliceMux)
			alice := login(t, srv, "alice", aliceMux)
			bob := login(t, srv, "bob", nil) // no ping handler
			require.NoError(t, alice.Send(ctx, &stanza.Presence{}))
			require.NoError(t, bob.Send(ctx, &stanza.Presence{}))

			// The server itself.
			var rtts []time.Duration
			for range 5 {
				rtt, err := ping.Send(ctx, alice, jid.MustParse(srv.Domain))
				require.NoError(t, err)
				require.Positive(t, rtt)
				rtts = append(rtts, rtt)
			}
			t.Logf("%s server ping round trips: %v", kind, rtts)

			// The account, answered by the server on its behalf.
			rtt, err := ping.Send(ctx, alice, jid.JID{})
			t.Logf("%s own account (no to): rtt %v err %v", kind, rtt, err)
			assert.NoError(t, err)

			// Another client that answers pings (through the server).
			rtt, err = ping.Send(ctx, bob, alice.Addr())
			require.NoError(t, err)
			t.Logf("%s bob -> alice (Parley handler): rtt %v", kind, rtt)

			// A client with no ping handler: Parley's mux answers
			// service-unavailable, and a reply still arrives.
			rtt, err = ping.Send(ctx, alice, bob.Addr())
			assert.ErrorIs(t, err, stanza.ServiceUnavailable)
			assert.Positive(t, rtt)
			t.Logf("%s alice -> bob (no handler): rtt %v err %v", kind, rtt, err)

			// A resource that has no session: the server answers on its
			// behalf (RFC 6121 §8.5.3.2.1), with the same condition.
			ghost := jid.MustParse(bob.Addr().Bare().String() + "/ghost")
			rtt, err = ping.Send(ctx, alice, ghost)
			var se *stanza.Error
			require.ErrorAs(t, err, &se)
			assert.Positive(t, rtt)
			t.Logf("%s alice -> %s (no such resource): rtt %v condition %s", kind, ghost, rtt, string(se.Condition))
		})
	}
}

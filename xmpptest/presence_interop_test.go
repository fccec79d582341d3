//go:build interop

package xmpptest_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/testkit/xmppd"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
)

// TestPresenceCasesInterop runs the subscription and presence table
// (presencecases_test.go) on Prosody and ejabberd: a case fails where a
// server no longer does what the table says, so the table stays a true
// account of what xmpptest matches and where it follows RFC 6121 instead.
func TestPresenceCasesInterop(t *testing.T) {
	for _, kind := range xmppd.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			srv := xmppd.Start(t, kind, xmppd.Options{Users: presenceUsers()})
			runPresenceCases(t, realServer(kind, srv))
		})
	}
}

// realServer runs a table against srv, a server of the given kind, over
// TCP.
func realServer(kind xmppd.Kind, srv *xmppd.Server) presenceServer {
	return presenceServer{
		kind:   string(kind),
		domain: srv.Domain,
		settle: 150 * time.Millisecond,
		dial: func(t *testing.T, user, res string, mux *session.Mux) (*session.Session, net.Conn) {
			addr, err := jid.New(user, srv.Domain, "")
			require.NoError(t, err)
			var conn net.Conn
			s, err := session.Dial(ctxFor(t), addr, srv.Users[user], &session.Config{
				Addr: srv.Addr, TLSConfig: srv.TLSConfig(), Resource: res, Mux: mux,
				KeepAlive: -1, Timeout: 30 * time.Second,
				// The tables' clients have no stream management, as
				// on xmpptest (session.New): their vanish step cuts a
				// connection that must end, not be resumed.
				NoStreamManagement: true,
				DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
					c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
					conn = c
					return c, err
				},
			})
			require.NoError(t, err)
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("%s log:\n%s", kind, srv.LogTail(20))
				}
				_ = s.Close(context.Background())
			})
			return s, conn
		},
	}
}

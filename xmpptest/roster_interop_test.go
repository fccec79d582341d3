//go:build interop

package xmpptest_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/testkit/xmppd"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
)

// TestRosterCasesInterop runs the roster table (rostercases_test.go) on
// Prosody and ejabberd: a case fails where a server no longer answers as
// the table says, so the table stays a true account of what xmpptest
// matches and where it follows RFC 6121 instead.
func TestRosterCasesInterop(t *testing.T) {
	for _, kind := range xmppd.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			srv := xmppd.Start(t, kind, xmppd.Options{Users: rosterUsers()})
			runRosterCases(t, rosterServer{
				kind:   string(kind),
				domain: srv.Domain,
				dial: func(t *testing.T, user, res string, mux *session.Mux) *session.Session {
					addr, err := jid.New(user, srv.Domain, "")
					require.NoError(t, err)
					s, err := session.Dial(ctxFor(t), addr, srv.Users[user], &session.Config{
						Addr: srv.Addr, TLSConfig: srv.TLSConfig(), Resource: res, Mux: mux,
						KeepAlive: -1, Timeout: 30 * time.Second,
					})
					require.NoError(t, err)
					t.Cleanup(func() {
						if t.Failed() {
							t.Logf("%s log:\n%s", kind, srv.LogTail(20))
						}
						_ = s.Close(context.Background())
					})
					return s
				},
			})
		})
	}
}

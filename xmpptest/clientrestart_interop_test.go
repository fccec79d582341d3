//go:build interop

package xmpptest_test

import (
	"testing"

	"github.com/parleyim/parley/internal/testkit/xmppd"
	"github.com/parleyim/parley/session"
)

// The session.Client tests of clientrestart_test.go on Prosody and
// ejabberd, each restarted under the connected clients by
// xmppd.Server.Restart (same folder, ports, accounts and certificate).

func xmppdTarget(t *testing.T, kind xmppd.Kind) restartTarget {
	srv := xmppd.Start(t, kind, xmppd.Options{PrivacyLists: true,
		Users: map[string]string{"alice": "secret", "bob": "secret"}})
	return restartTarget{
		domain:   srv.Domain,
		password: "secret",
		config: func() session.Config {
			return session.Config{Addr: srv.Addr, TLSConfig: srv.TLSConfig()}
		},
		restart: srv.Restart,
		privacy: true,
	}
}

func TestClientInterop(t *testing.T) {
	for _, kind := range xmppd.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			tg := xmppdTarget(t, kind)
			t.Run("wrong password", func(t *testing.T) { runClientWrongPassword(t, tg) })
			t.Run("cancel in backoff", func(t *testing.T) { runClientCancelInBackoff(t, tg) })
			t.Run("restart", func(t *testing.T) { runClientRestart(t, tg) }) // last: it restarts the server
		})
	}
}

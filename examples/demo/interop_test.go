//go:build interop

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/testkit/xmppd"
)

// The whole story on Prosody and ejabberd through the flags a user gives
// (-server, -jid, -peer, -ca), twice on the same accounts: the second run
// finds bob in alice's roster and both subscriptions in place, as a user
// who runs the demo again does.
func TestInteropStory(t *testing.T) {
	for _, kind := range xmppd.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			srv := xmppd.Start(t, kind, xmppd.Options{Users: map[string]string{"alice": "alice-secret", "bob": "bob-secret"}})
			ca := filepath.Join(t.TempDir(), "ca.pem")
			require.NoError(t, os.WriteFile(ca, srv.CertPEM, 0o600))
			cfg := config{
				server: srv.Addr, caFile: ca, timeout: 15 * time.Second,
				jid: "alice@" + srv.Domain, password: "alice-secret",
				peer: "bob@" + srv.Domain, peerPassword: "bob-secret",
			}
			runs := []struct {
				name string
				want []string
			}{
				{"first", []string{
					"asks bob@" + srv.Domain + " for a subscription",
					"approves the subscription request of alice@" + srv.Domain,
					"roster: bob@" + srv.Domain + ", subscription to",
					"roster: alice@" + srv.Domain + ", subscription both",
					`(away, "in a meeting")`,
					"received the message", // bob's receipt
					"/demo is composing",
					"the blocked one never came",
					"offline",
				}},
				{"again", []string{
					"is already subscribed to bob@" + srv.Domain + " (from an earlier run)",
					"is already subscribed to alice@" + srv.Domain + " (from an earlier run)",
				}},
			}
			for _, r := range runs {
				var out bytes.Buffer
				require.NoError(t, run(context.Background(), cfg, &out, storySteps()), "%s run:\n%s", r.name, out.String())
				for _, w := range r.want {
					assert.Contains(t, out.String(), w, "%s run", r.name)
				}
				assert.Contains(t, out.String(), "skipped: -server names a real server")
				assert.Contains(t, out.String(), "all 18 steps done")
				if t.Failed() {
					t.Logf("%s run:\n%s\n%s log:\n%s", r.name, out.String(), kind, srv.LogTail(20))
				}
			}
		})
	}
}

//go:build interop

package xmpptest_test

import (
	"testing"
	"time"

	"github.com/parleyim/parley/internal/testkit/xmppd"
)

// TestRestartCasesInterop runs the restart table (restartcases_test.go)
// on Prosody and ejabberd, restarted with xmppd's Restart. Prosody runs
// with privacy lists (mod_privacy_lists), which the table stores.
func TestRestartCasesInterop(t *testing.T) {
	for _, kind := range xmppd.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			srv := xmppd.Start(t, kind, xmppd.Options{Users: restartUsers(), ResumeTimeout: smResume, PrivacyLists: true})
			runRestartCases(t, smServer{kind: string(kind), domain: srv.Domain, addr: srv.Addr, tls: srv.TLSConfig(),
				resume: smResume, settle: 300 * time.Millisecond, restart: srv.Restart})
		})
	}
}

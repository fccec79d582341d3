//go:build interop

package xmpptest_test

import (
	"testing"
	"time"

	"github.com/parleyim/parley/internal/testkit/xmppd"
)

// TestSMCasesInterop runs the stream management table
// (smcases_test.go) on Prosody (mod_smacks) and ejabberd
// (mod_stream_mgmt), with raw XML over TCP.
func TestSMCasesInterop(t *testing.T) {
	for _, kind := range xmppd.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			srv := xmppd.Start(t, kind, xmppd.Options{Users: smUsers(), ResumeTimeout: smResume})
			runSMCases(t, smServer{kind: string(kind), domain: srv.Domain, addr: srv.Addr, tls: srv.TLSConfig(), resume: smResume, settle: 300 * time.Millisecond})
		})
	}
}

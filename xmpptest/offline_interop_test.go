//go:build interop

package xmpptest_test

import (
	"testing"

	"github.com/parleyim/parley/internal/testkit/xmppd"
)

// TestOfflineCasesInterop runs the offline table (offlinecases_test.go)
// on Prosody and ejabberd, both servers at once.
func TestOfflineCasesInterop(t *testing.T) {
	for _, kind := range xmppd.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			srv := xmppd.Start(t, kind, xmppd.Options{Users: offlineUsers()})
			runCases(t, realServer(kind, srv), "oc", offlineCases)
		})
	}
}

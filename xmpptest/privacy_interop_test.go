//go:build interop

package xmpptest_test

import (
	"testing"

	"github.com/parleyim/parley/internal/testkit/xmppd"
)

// TestPrivacyCasesInterop runs the privacy list table
// (privacycases_test.go) on Prosody with mod_privacy_lists and on
// ejabberd, both servers at once.
func TestPrivacyCasesInterop(t *testing.T) {
	for _, kind := range xmppd.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			srv := xmppd.Start(t, kind, xmppd.Options{Users: privacyUsers(), PrivacyLists: true})
			runCases(t, realServer(kind, srv), "pv", privacyCases)
		})
	}
}

// TestBlockingCasesInterop runs the blocking table on Prosody (its
// mod_blocklist, without privacy lists) and on ejabberd.
func TestBlockingCasesInterop(t *testing.T) {
	for _, kind := range xmppd.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			srv := xmppd.Start(t, kind, xmppd.Options{Users: blockingUsers()})
			runCases(t, realServer(kind, srv), "bk", blockingCases)
		})
	}
}

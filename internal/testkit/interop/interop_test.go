//go:build interop

package interop_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/parleyim/parley/internal/testkit/xmppd"
)

// TestInterop starts each kind of server once (one instance per password
// storage, see env) and runs every case of the login and session tables
// against it.
//
// The kinds run one after the other, so that once a kind's cases are done
// and while its servers still run, no goroutine but the servers' own
// watchers may be left: a session that did not clean up after itself is
// caught here, before stopping the server would end it anyway. (TestMain's
// goleak check comes after the servers have stopped.)
func TestInterop(t *testing.T) {
	for _, kind := range xmppd.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			before := goleak.IgnoreCurrent()
			e := startEnv(t, kind)
			// Cleanups run last-in first-out: this one before the
			// servers stop, after every subtest's sessions are closed.
			t.Cleanup(func() {
				goleak.VerifyNone(t, before,
					goleak.IgnoreAnyFunction("github.com/parleyim/parley/internal/testkit/xmppd.launch.func1"))
			})
			t.Run("login", func(t *testing.T) { runLoginCases(t, e) })
			t.Run("session", func(t *testing.T) { runSessionCases(t, e) })
		})
	}
}

//go:build interop

package interop_test

import (
	"testing"

	"github.com/parleyim/parley/internal/testservers"
)

// TestInterop starts each kind of server once (one instance per password
// storage, see env) and runs every case of the login and session tables
// against it. The two kinds run side by side.
func TestInterop(t *testing.T) {
	for _, kind := range testservers.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			e := startEnv(t, kind)
			t.Run("login", func(t *testing.T) { runLoginCases(t, e) })
			t.Run("session", func(t *testing.T) { runSessionCases(t, e) })
		})
	}
}

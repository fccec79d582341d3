//go:build interop

package streamrec_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no goroutine outlives the recording: every session
// is closed and every server stopped.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

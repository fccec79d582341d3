//go:build interop

package xmppd_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/testkit/xmppd"
)

// TestTimings starts and stops each server once, alone, and logs how long
// each step took (see with -v). It fails only when a step takes far longer
// than it does on a 2-core machine.
func TestTimings(t *testing.T) {
	limits := map[xmppd.Kind]time.Duration{
		xmppd.Prosody:  10 * time.Second,
		xmppd.Ejabberd: 30 * time.Second,
	}
	for _, kind := range xmppd.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			s := xmppd.Start(t, kind, xmppd.Options{})
			began := time.Now()
			require.NoError(t, s.Stop())
			stop := time.Since(began)
			t.Logf("%s: start %v (incl. %d accounts), stop %v",
				kind, s.StartDuration.Round(time.Millisecond), len(s.Users), stop.Round(time.Millisecond))
			assert.Less(t, s.StartDuration, limits[kind], "start")
			assert.Less(t, stop, limits[kind], "stop")
		})
	}
}

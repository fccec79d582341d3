//go:build interop

package xmppd

import (
	"net"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRestartPortTaken takes the server's port while it is down and
// checks that Restart names it instead of moving elsewhere.
func TestRestartPortTaken(t *testing.T) {
	t.Parallel()
	s := Start(t, Prosody, Options{})
	s.lifeMu.Lock()
	require.NoError(t, s.proc.stop(s.backend.stopGrace()))
	s.proc = nil
	s.lifeMu.Unlock()
	taken, err := net.Listen("tcp4", s.Addr)
	require.NoError(t, err)
	defer taken.Close()

	addr := s.Addr
	err = s.Restart()
	require.ErrorIs(t, err, errPortTaken)
	assert.Contains(t, err.Error(), strconv.Itoa(s.ports[0]))
	assert.Equal(t, addr, s.Addr)
	assert.Zero(t, s.PID())
}

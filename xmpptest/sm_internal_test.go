package xmpptest

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/stanza"
)

// TestAckWraps: h is a uint32 that wraps (XEP-0198 §4): an ack past
// 2^32-1 counts from zero again.
func TestAckWraps(t *testing.T) {
	c := &conn{}
	c.sm.enabled = true
	c.sm.acked = math.MaxUint32 - 1
	c.sm.out = 2 // 4 stanzas sent since the last ack, counting wrapped
	for range 4 {
		c.sm.queue = append(c.sm.queue, unacked{st: &stanza.Message{}})
	}
	require.NoError(t, c.ackLocked(math.MaxUint32))
	assert.Len(t, c.sm.queue, 3)
	require.NoError(t, c.ackLocked(1)) // past the wrap
	assert.Len(t, c.sm.queue, 1)
	assert.Equal(t, uint32(1), c.sm.acked)
	assert.Error(t, c.ackLocked(3), "one more than was sent")
	assert.Error(t, c.ackLocked(0), "below the last ack")
	require.NoError(t, c.ackLocked(2))
	assert.Empty(t, c.sm.queue)
}

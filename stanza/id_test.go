package stanza_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/stanza"
)

func TestNewID(t *testing.T) {
	seen := make(map[string]bool)
	for range 1000 {
		id := stanza.NewID()
		require.Len(t, id, 24, "96 bits in hexadecimal")
		require.Regexp(t, `^[0-9a-f]{24}$`, id)
		require.False(t, seen[id], "id %s repeated", id)
		seen[id] = true
	}
}

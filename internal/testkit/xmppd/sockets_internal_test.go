//go:build linux

package xmppd

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseProcAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"ipv4 loopback", "0100007F:14A6", "127.0.0.1:5286", true},
		{"ipv4 any", "00000000:1466", "0.0.0.0:5222", true},
		{"ipv6 loopback", "00000000000000000000000001000000:1466", "[::1]:5222", true},
		{"ipv4-mapped", "0000000000000000FFFF00000100007F:0050", "127.0.0.1:80", true},
		{"no colon", "0100007F", "", false},
		{"short address", "01007F:0050", "", false},
		{"bad hex", "0100007G:0050", "", false},
		{"bad port", "0100007F:XYZ", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := parseProcAddr(tt.in)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

package session

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/parleyim/parley/jid"
)

// TrustedPush accepts a push only from no address or the account's bare
// JID (RFC 6121 §2.1.6); every spoof is refused, whichever form of the
// account's JID the caller passes.
func TestTrustedPush(t *testing.T) {
	tests := []struct {
		name string
		from string
		want bool
	}{
		{"no from", "", true},
		{"account's bare JID", "juliet@example.com", true},
		{"bare JID in other case", "Juliet@EXAMPLE.com", true},
		{"this session's full JID", "juliet@example.com/balcony", false},
		{"this session's full JID in other case", "JULIET@example.com/balcony", false},
		{"another resource of the account", "juliet@example.com/chamber", false},
		{"the resource in other case", "juliet@example.com/Balcony", false},
		{"another user's bare JID", "romeo@example.com", false},
		{"another user's full JID", "romeo@example.com/orchard", false},
		{"same local at another domain", "juliet@example.net", false},
		{"the server's domain", "example.com", false},
		{"a resource of the server", "example.com/balcony", false},
		{"another domain", "example.net", false},
		{"a subdomain", "juliet@pubsub.example.com", false},
	}
	for _, account := range []string{"juliet@example.com/balcony", "juliet@example.com", "Juliet@Example.COM/balcony"} {
		for _, tt := range tests {
			t.Run(account+", "+tt.name, func(t *testing.T) {
				var from jid.JID
				if tt.from != "" {
					from = jid.MustParse(tt.from)
				}
				assert.Equal(t, tt.want, TrustedPush(jid.MustParse(account), from))
			})
		}
	}
}

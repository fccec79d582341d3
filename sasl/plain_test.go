package sasl

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPlain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		neg     Negotiation
		want    string
		wantErr error
		errSub  string
	}{
		// RFC 6120 §6.4.2's PLAIN example: AGp1bGlldAByMG0zMG15cjBtMzA=.
		{name: "RFC 6120 juliet", neg: Negotiation{Username: "juliet", Password: "r0m30myr0m30", Encrypted: true},
			want: b64(t, "AGp1bGlldAByMG0zMG15cjBtMzA=")},
		{name: "authzid", neg: Negotiation{Username: "juliet", Password: "pw", Authzid: "juliet@example.com", Encrypted: true},
			want: "juliet@example.com\x00juliet\x00pw"},
		{name: "password prepared", neg: Negotiation{Username: "u", Password: "a\u00a0b", Encrypted: true},
			want: "\x00u\x00a b"},
		{name: "unencrypted", neg: Negotiation{Username: "juliet", Password: "x"}, wantErr: ErrUnencrypted},
		{name: "NUL in username", neg: Negotiation{Username: "a\x00b", Password: "x", Encrypted: true}, errSub: "NUL"},
		{name: "empty username", neg: Negotiation{Password: "x", Encrypted: true}, errSub: "empty username"},
		{name: "empty password", neg: Negotiation{Username: "u", Encrypted: true}, errSub: "preparing password"},
		{name: "binding given", neg: Negotiation{Username: "u", Password: "x", Encrypted: true, Binding: &ChannelBinding{}}, errSub: "channel binding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			neg := tt.neg
			ex, initial, err := Plain.Start(&neg)
			if tt.wantErr != nil || tt.errSub != "" {
				require.Error(t, err)
				if tt.wantErr != nil {
					assert.ErrorIs(t, err, tt.wantErr)
				}
				assert.Contains(t, err.Error(), tt.errSub)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(initial))
			_, err = ex.Next([]byte("x"))
			assert.Error(t, err)
			assert.Error(t, ex.Verify([]byte("data")))
			assert.NoError(t, ex.Verify(nil))
		})
	}
}

package sasl

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		condition string
		text      string
		want      Condition
		known     bool
		wantMsg   string
	}{
		{name: "not-authorized with text", condition: "not-authorized", text: "Wrong password", want: NotAuthorized, known: true,
			wantMsg: "sasl: authentication failed: not-authorized (Wrong password)"},
		{name: "aborted", condition: "aborted", want: Aborted, known: true, wantMsg: "sasl: authentication failed: aborted"},
		{name: "account-disabled", condition: "account-disabled", want: AccountDisabled, known: true},
		{name: "credentials-expired", condition: "credentials-expired", want: CredentialsExpired, known: true},
		{name: "encryption-required", condition: "encryption-required", want: EncryptionRequired, known: true},
		{name: "incorrect-encoding", condition: "incorrect-encoding", want: IncorrectEncoding, known: true},
		{name: "invalid-authzid", condition: "invalid-authzid", want: InvalidAuthzid, known: true},
		{name: "invalid-mechanism", condition: "invalid-mechanism", want: InvalidMechanism, known: true},
		{name: "malformed-request", condition: "malformed-request", want: MalformedRequest, known: true},
		{name: "mechanism-too-weak", condition: "mechanism-too-weak", want: MechanismTooWeak, known: true},
		{name: "temporary-auth-failure", condition: "temporary-auth-failure", want: TemporaryAuthFailure, known: true},
		{name: "unknown condition kept", condition: "bad-protocol", want: Condition("bad-protocol"),
			wantMsg: "sasl: authentication failed: bad-protocol"},
		{name: "no condition", condition: "", want: Condition(""), wantMsg: "sasl: authentication failed: no condition given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := NewFailure(tt.condition, tt.text, "en")
			assert.Equal(t, tt.want, f.Condition)
			assert.Equal(t, tt.known, f.Condition.Known())
			assert.Equal(t, "en", f.Lang)
			assert.Equal(t, tt.text, f.Text)
			wrapped := fmt.Errorf("session: login: %w", f)
			assert.ErrorIs(t, wrapped, tt.want)
			var c Condition
			assert.True(t, errors.As(wrapped, &c))
			assert.Equal(t, tt.want, c)
			if tt.want != NotAuthorized {
				assert.NotErrorIs(t, wrapped, NotAuthorized)
			}
			if tt.wantMsg != "" {
				assert.EqualError(t, f, tt.wantMsg)
			}
		})
	}
}

func TestConditionTemporary(t *testing.T) {
	t.Parallel()
	assert.True(t, TemporaryAuthFailure.Temporary())
	assert.False(t, NotAuthorized.Temporary())
	assert.Equal(t, "sasl: not-authorized", NotAuthorized.Error())
}

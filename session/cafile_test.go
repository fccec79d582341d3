package session_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/xmpptest"
)

// writeFile writes data to a file in a fresh folder and returns its path.
func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return path
}

func TestTrustCAFileErrors(t *testing.T) {
	key := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("not really a key")})
	broken := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")})
	tests := []struct {
		name    string
		path    func(t *testing.T) string
		want    string // in the error's text
		wantErr error  // errors.Is, when set
	}{
		{"missing file", func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope.pem") },
			"session: reading CA file: open ", fs.ErrNotExist},
		{"a folder", func(t *testing.T) string { return t.TempDir() },
			"session: reading CA file: ", nil},
		{"empty file", func(t *testing.T) string { return writeFile(t, "empty.pem", nil) },
			"holds no PEM certificate", nil},
		{"not PEM", func(t *testing.T) string { return writeFile(t, "der.pem", []byte{0x30, 0x82, 0x01, 0x0a}) },
			"holds no PEM certificate", nil},
		{"only a key", func(t *testing.T) string { return writeFile(t, "key.pem", key) },
			"holds no PEM certificate", nil},
		{"a certificate that does not parse", func(t *testing.T) string { return writeFile(t, "bad.pem", broken) },
			"certificate 1: x509: ", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path(t)
			tc, err := session.TrustCAFile(path)
			require.Error(t, err)
			assert.Nil(t, tc)
			assert.Contains(t, err.Error(), tt.want)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
			}
			assert.Contains(t, err.Error(), path, "the error names the file")
		})
	}
}

// A session trusts the certificate in the file, and no other: the same
// login fails against a server whose certificate is not in it.
func TestTrustCAFileLogin(t *testing.T) {
	srv := xmpptest.NewServer(t, &xmpptest.Config{Listen: true})
	alice, err := srv.AddUser("alice", "alice-secret")
	require.NoError(t, err)
	other := xmpptest.NewServer(t, &xmpptest.Config{Listen: true})
	key := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("skipped")})

	tests := []struct {
		name    string
		pem     []byte
		wantErr bool
	}{
		{"the server's certificate", srv.CertPEM(), false},
		{"after a key, with another certificate", append(append(key, other.CertPEM()...), srv.CertPEM()...), false},
		{"another server's certificate", other.CertPEM(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc, err := session.TrustCAFile(writeFile(t, "ca.pem", tt.pem))
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := session.Dial(ctx, alice, "alice-secret", &session.Config{Addr: srv.Addr(), TLSConfig: tc})
			if tt.wantErr {
				var unknown x509.UnknownAuthorityError
				assert.True(t, errors.As(err, &unknown), "want an unknown-authority error, got %v", err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, alice.Bare(), s.Addr().Bare())
			assert.NotNil(t, s.TLS())
			assert.NoError(t, s.Close(ctx))
		})
	}
}

package saslauth

import (
	"crypto/tls"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/serverside/selfsigned"
)

// tlsPair runs a real TLS handshake and returns the client's and the
// server's ConnectionState.
func tlsPair(t testing.TB, version uint16) (client, server tls.ConnectionState) {
	t.Helper()
	client, server, err := selfsigned.Handshake(version)
	require.NoError(t, err)
	return client, server
}

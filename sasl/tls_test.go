package sasl

import (
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/selfsigned"
)

// tlsPair runs a real TLS handshake over net.Pipe with a self-signed
// certificate and returns the client's and the server's ConnectionState.
func tlsPair(t testing.TB, version uint16) (client, server tls.ConnectionState) {
	t.Helper()
	c, err := selfsigned.New("Parley sasl tests", time.Hour, "example.com")
	require.NoError(t, err)
	pool := c.Pool

	c1, c2 := net.Pipe()
	t.Cleanup(func() { _ = c1.Close(); _ = c2.Close() })
	srv := tls.Server(c1, &tls.Config{
		Certificates: []tls.Certificate{c.TLS},
		MinVersion:   version,
		MaxVersion:   version,
	})
	cli := tls.Client(c2, &tls.Config{
		RootCAs:    pool,
		ServerName: "example.com",
		MinVersion: version,
		MaxVersion: version,
	})
	errc := make(chan error, 1)
	go func() { errc <- srv.Handshake() }()
	require.NoError(t, cli.Handshake())
	require.NoError(t, <-errc)
	return cli.ConnectionState(), srv.ConnectionState()
}

package selfsigned

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewVerifiesForItsNames(t *testing.T) {
	t.Parallel()
	c, err := New("Parley tests", time.Hour, "example.com", "localhost", "127.0.0.1", "::1")
	require.NoError(t, err)
	assert.Equal(t, "example.com", c.Leaf.Subject.CommonName)
	for _, name := range []string{"example.com", "localhost", "127.0.0.1", "::1"} {
		_, err := c.Leaf.Verify(x509.VerifyOptions{Roots: c.Pool, DNSName: name})
		assert.NoError(t, err, name)
	}
	_, err = c.Leaf.Verify(x509.VerifyOptions{Roots: c.Pool, DNSName: "example.org"})
	assert.Error(t, err)
	_, err = New("x", time.Hour)
	assert.Error(t, err)
}

func TestPEMAndHandshake(t *testing.T) {
	t.Parallel()
	c, err := New("Parley tests", time.Hour, "example.com")
	require.NoError(t, err)
	keyPEM, err := c.KeyPEM()
	require.NoError(t, err)
	pair, err := tls.X509KeyPair(c.CertPEM(), keyPEM)
	require.NoError(t, err)
	blk, _ := pem.Decode(c.CertPEM())
	require.NotNil(t, blk)

	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	errc := make(chan error, 1)
	go func() { errc <- tls.Server(a, &tls.Config{Certificates: []tls.Certificate{pair}}).Handshake() }()
	require.NoError(t, tls.Client(b, &tls.Config{RootCAs: c.Pool, ServerName: "example.com"}).Handshake())
	require.NoError(t, <-errc)
}

func TestHandshake(t *testing.T) {
	t.Parallel()
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		c, s, err := Handshake(v)
		require.NoError(t, err)
		assert.Equal(t, v, c.Version)
		assert.Equal(t, v, s.Version)
		assert.True(t, c.HandshakeComplete)
	}
}

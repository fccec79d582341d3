package xmppd

import (
	"crypto/x509"
	"fmt"
	"time"

	"github.com/parleyim/parley/internal/serverside/selfsigned"
)

// certificate is a self-signed server certificate and its key, in PEM.
type certificate struct {
	certPEM []byte
	keyPEM  []byte
	pool    *x509.CertPool
}

// newCertificate makes a self-signed certificate valid for a year for the
// domain, its pubsub subdomain, "localhost", 127.0.0.1 and ::1. It is its
// own trust anchor: the returned pool holds exactly this certificate.
func newCertificate(domain string) (*certificate, error) {
	names := []string{domain}
	if domain != "localhost" {
		names = append(names, "localhost")
	}
	names = append(names, "pubsub."+domain, "127.0.0.1", "::1")
	c, err := selfsigned.New("Parley interop tests", 365*24*time.Hour, names...)
	if err != nil {
		return nil, fmt.Errorf("xmppd: %w", err)
	}
	keyPEM, err := c.KeyPEM()
	if err != nil {
		return nil, fmt.Errorf("xmppd: %w", err)
	}
	return &certificate{certPEM: c.CertPEM(), keyPEM: keyPEM, pool: c.Pool}, nil
}

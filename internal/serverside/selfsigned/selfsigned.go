// Package selfsigned makes self-signed TLS server certificates for Parley's
// test servers (xmpptest, the interop servers, the scripted peer). It
// imports no other Parley package.
package selfsigned

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// Cert is a self-signed certificate with its key: its own trust anchor.
type Cert struct {
	// TLS is the certificate for a tls.Config's Certificates.
	TLS tls.Certificate
	// Leaf is the parsed certificate.
	Leaf *x509.Certificate
	// Pool trusts exactly this certificate.
	Pool *x509.CertPool
}

// New makes an ECDSA P-256 certificate valid from an hour ago for validity,
// for the given names: each one that parses as an IP address goes into the
// IP addresses, the others into the DNS names. The first name is the
// subject's common name; org is its organisation.
func New(org string, validity time.Duration, names ...string) (*Cert, error) {
	if len(names) == 0 {
		return nil, errors.New("selfsigned: no names")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("selfsigned: generating a key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("selfsigned: generating a serial number: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: names[0], Organization: []string{org}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("selfsigned: creating the certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("selfsigned: parsing the certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &Cert{
		TLS:  tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		Leaf: leaf,
		Pool: pool,
	}, nil
}

// CertPEM returns the certificate in PEM.
func (c *Cert) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Leaf.Raw})
}

// KeyPEM returns the private key in PEM (PKCS #8).
func (c *Cert) KeyPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(c.TLS.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("selfsigned: encoding the key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// Handshake runs a real TLS handshake of the given version over net.Pipe,
// with a fresh certificate for "example.com", and returns both sides'
// connection states (for tests of channel binding).
func Handshake(version uint16) (client, server tls.ConnectionState, err error) {
	c, err := New("Parley tests", time.Hour, "example.com")
	if err != nil {
		return client, server, err
	}
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	srv := tls.Server(c1, &tls.Config{Certificates: []tls.Certificate{c.TLS}, MinVersion: version, MaxVersion: version})
	cli := tls.Client(c2, &tls.Config{RootCAs: c.Pool, ServerName: "example.com", MinVersion: version, MaxVersion: version})
	errc := make(chan error, 1)
	go func() { errc <- srv.Handshake() }()
	if err := cli.Handshake(); err != nil {
		c2.Close()
		<-errc
		return client, server, fmt.Errorf("selfsigned: handshake: %w", err)
	}
	if err := <-errc; err != nil {
		return client, server, fmt.Errorf("selfsigned: handshake: %w", err)
	}
	return cli.ConnectionState(), srv.ConnectionState(), nil
}

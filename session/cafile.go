package session

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
)

// TrustCAFile returns a TLS configuration for Config.TLSConfig that
// trusts the certificates in the PEM file at path, and only those: a
// private CA, or a test server's self-signed certificate. The system's
// roots are not consulted. The certificate is still checked against the
// JID's domain (the session sets ServerName) and must be valid for it.
//
// Blocks of other kinds in the file (a private key next to the
// certificate) are skipped. A file that cannot be read, holds no
// CERTIFICATE block or holds one that does not parse is an error; a
// missing file's error wraps fs.ErrNotExist.
func TrustCAFile(path string) (*tls.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("session: reading CA file: %w", err)
	}
	pool := x509.NewCertPool()
	n := 0
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		n++
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("session: CA file %s: certificate %d: %w", path, n, err)
		}
		pool.AddCert(cert)
	}
	if n == 0 {
		return nil, fmt.Errorf("session: CA file %s holds no PEM certificate", path)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

package scripted

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/serverside/selfsigned"
)

// certEnv is the environment variable through which a child process
// presents its parent's certificate (see CertificateEnv).
const certEnv = "PARLEY_SCRIPTED_CERT"

var certs struct {
	once sync.Once
	cert tls.Certificate
	pool *x509.CertPool
	err  error
}

// Certificate returns the certificate that every peer of this process
// presents, made for Domain, and a pool that trusts it (a client's
// tls.Config.RootCAs).
func Certificate(tb testing.TB) (tls.Certificate, *x509.CertPool) {
	tb.Helper()
	cert, pool, err := certificate()
	if err != nil {
		tb.Fatalf("scripted: certificate: %v", err)
	}
	return cert, pool
}

// ClientTLS returns a client TLS configuration that trusts the peers'
// certificate. Each call returns a new one.
func ClientTLS(tb testing.TB) *tls.Config {
	tb.Helper()
	_, pool := Certificate(tb)
	return &tls.Config{RootCAs: pool}
}

// CertificateEnv returns "NAME=value" to add to a child process's
// environment (a server that internal/testkit/childproc runs): the peers
// of the child then present this process's certificate, which this
// process's clients trust.
func CertificateEnv(tb testing.TB) string {
	tb.Helper()
	cert, _ := Certificate(tb)
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		tb.Fatalf("scripted: certificate: %v", err)
	}
	return certEnv + "=" + base64.StdEncoding.EncodeToString(cert.Certificate[0]) + "." + base64.StdEncoding.EncodeToString(key)
}

// certificate makes the process's certificate once, or reads the
// parent's from the environment.
func certificate() (tls.Certificate, *x509.CertPool, error) {
	certs.once.Do(func() {
		if env := os.Getenv(certEnv); env != "" {
			certs.cert, certs.pool, certs.err = parseCertEnv(env)
			return
		}
		c, err := selfsigned.New("Parley scripted peer", 24*time.Hour, Domain)
		if err != nil {
			certs.err = err
			return
		}
		certs.cert, certs.pool = c.TLS, c.Pool
	})
	return certs.cert, certs.pool, certs.err
}

func parseCertEnv(env string) (tls.Certificate, *x509.CertPool, error) {
	certB64, keyB64, ok := strings.Cut(env, ".")
	if !ok {
		return tls.Certificate{}, nil, errors.New(certEnv + " is not certificate.key")
	}
	der, err := base64.StdEncoding.DecodeString(certB64)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	keyDER, err := base64.StdEncoding.DecodeString(keyB64)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(keyDER)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}

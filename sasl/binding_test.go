package sasl

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestChannelBindingFor(t *testing.T) {
	t.Parallel()
	c12, s12 := tlsPair(t, tls.VersionTLS12)
	c13, s13 := tlsPair(t, tls.VersionTLS13)
	tests := []struct {
		name    string
		client  *tls.ConnectionState
		server  *tls.ConnectionState
		typ     string
		wantLen int
		wantErr string
	}{
		{name: "tls-exporter on TLS 1.3", client: &c13, server: &s13, typ: TLSExporter, wantLen: 32},
		{name: "tls-unique on TLS 1.2", client: &c12, server: &s12, typ: TLSUnique, wantLen: 12},
		{name: "tls-exporter on TLS 1.2", client: &c12, typ: TLSExporter, wantErr: "tls-exporter needs TLS 1.3, the connection uses TLS 1.2"},
		{name: "tls-unique on TLS 1.3", client: &c13, typ: TLSUnique, wantErr: "tls-unique is not defined on this TLS 1.3 connection"},
		{name: "unknown type", client: &c13, typ: "tls-foo", wantErr: `type "tls-foo" is not supported`},
		{name: "tls-server-end-point without a certificate", client: &tls.ConnectionState{Version: tls.VersionTLS13}, typ: TLSServerEndPoint, wantErr: "needs the server's certificate"},
		{name: "no TLS", typ: TLSExporter, wantErr: "tls-exporter needs TLS"},
		{name: "synthetic state", client: &tls.ConnectionState{Version: tls.VersionTLS13}, typ: TLSExporter, wantErr: "exporter unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cb, err := ChannelBindingFor(tt.client, tt.typ)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.ErrorIs(t, err, ErrNoBinding)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.typ, cb.Type)
			assert.Len(t, cb.Data, tt.wantLen)
			// Both ends of the connection compute the same binding.
			other, err := ChannelBindingFor(tt.server, tt.typ)
			require.NoError(t, err)
			assert.Equal(t, cb.Data, other.Data)
		})
	}
}

// TestChannelBindingDiffers: two connections have different bindings.
func TestChannelBindingDiffers(t *testing.T) {
	t.Parallel()
	a, _ := tlsPair(t, tls.VersionTLS13)
	b, _ := tlsPair(t, tls.VersionTLS13)
	cbA, err := ChannelBindingFor(&a, TLSExporter)
	require.NoError(t, err)
	cbB, err := ChannelBindingFor(&b, TLSExporter)
	require.NoError(t, err)
	assert.NotEqual(t, cbA.Data, cbB.Data)
}

// tls-server-end-point is the same for the client, from the certificate
// it was shown, and for the server, from its own; it does not depend on
// the TLS version.
func TestServerEndPoint(t *testing.T) {
	t.Parallel()
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		client, _ := tlsPair(t, version)
		cert := client.PeerCertificates[0]
		cb, err := ChannelBindingFor(&client, TLSServerEndPoint)
		require.NoError(t, err)
		assert.Equal(t, TLSServerEndPoint, cb.Type)
		require.Equal(t, x509.ECDSAWithSHA256, cert.SignatureAlgorithm)
		sum := sha256.Sum256(cert.Raw)
		assert.Equal(t, sum[:], cb.Data)
		own, err := ServerEndPoint(cert)
		require.NoError(t, err)
		assert.Equal(t, cb.Data, own.Data)
	}
}

// The hash follows the certificate's signature (RFC 5929 §4.1): SHA-256
// in place of MD5 and SHA-1, and none for Ed25519.
func TestServerEndPointHash(t *testing.T) {
	t.Parallel()
	raw := []byte("a certificate")
	s256, s384, s512 := sha256.Sum256(raw), sha512.Sum384(raw), sha512.Sum512(raw)
	tests := []struct {
		alg  x509.SignatureAlgorithm
		want []byte // nil: no binding
	}{
		{x509.MD5WithRSA, s256[:]},
		{x509.SHA1WithRSA, s256[:]},
		{x509.ECDSAWithSHA1, s256[:]},
		{x509.SHA256WithRSA, s256[:]},
		{x509.ECDSAWithSHA256, s256[:]},
		{x509.SHA384WithRSAPSS, s384[:]},
		{x509.ECDSAWithSHA384, s384[:]},
		{x509.SHA512WithRSA, s512[:]},
		{x509.ECDSAWithSHA512, s512[:]},
		{x509.PureEd25519, nil},
		{x509.UnknownSignatureAlgorithm, nil},
	}
	for _, tt := range tests {
		cb, err := ServerEndPoint(&x509.Certificate{Raw: raw, SignatureAlgorithm: tt.alg})
		if tt.want == nil {
			assert.ErrorIs(t, err, ErrNoBinding, "%v", tt.alg)
			continue
		}
		if assert.NoError(t, err, "%v", tt.alg) {
			assert.Equal(t, tt.want, cb.Data, "%v", tt.alg)
		}
	}
}

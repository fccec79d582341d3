package sasl

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"hash"
)

// Channel binding types Parley computes.
const (
	// TLSExporter is the tls-exporter channel binding of RFC 9266: 32
	// bytes of keying material exported with the label
	// "EXPORTER-Channel-Binding" and an empty context. RFC 9266 allows it
	// on TLS 1.3, and on TLS 1.2 only with the extended master secret;
	// crypto/tls does not say whether a TLS 1.2 connection used it, so
	// Parley computes tls-exporter on TLS 1.3 only.
	TLSExporter = "tls-exporter"
	// TLSUnique is the tls-unique channel binding of RFC 5929: the first
	// Finished message of the handshake. It does not exist in TLS 1.3
	// (crypto/tls leaves ConnectionState.TLSUnique nil there).
	TLSUnique = "tls-unique"
	// TLSServerEndPoint is the tls-server-end-point channel binding of RFC
	// 5929 §4: a hash of the server's certificate, with the hash function
	// of the certificate's signature (SHA-256 where that is MD5 or SHA-1).
	// It binds the authentication to the certificate rather than to the
	// connection, and exists on every TLS version.
	TLSServerEndPoint = "tls-server-end-point"
)

// exporterLabel and exporterLength are fixed by RFC 9266 §2.
const (
	exporterLabel  = "EXPORTER-Channel-Binding"
	exporterLength = 32
)

// bindingPreference is the order in which Parley picks among the binding
// types both sides support: tls-exporter first (RFC 9266 makes it the
// binding for TLS 1.3), then tls-unique (TLS 1.2), which bind the
// connection, then tls-server-end-point, which binds only the server's
// certificate.
var bindingPreference = []string{TLSExporter, TLSUnique, TLSServerEndPoint}

// ChannelBinding is channel binding data (RFC 5056): the type's name as it
// appears in the GS2 header ("p=tls-exporter") and the bytes that bind the
// authentication to the TLS connection.
type ChannelBinding struct {
	Type string
	Data []byte
}

// ErrNoBinding is wrapped by ChannelBindingFor's errors when the binding
// cannot be computed on the connection.
var ErrNoBinding = errors.New("sasl: channel binding unavailable")

// ChannelBindingFor computes the channel binding of type typ (TLSExporter,
// TLSUnique or TLSServerEndPoint) for the TLS connection described by a
// client's state. (A server computes tls-server-end-point from its own
// certificate with ServerEndPoint.)
func ChannelBindingFor(state *tls.ConnectionState, typ string) (*ChannelBinding, error) {
	if state == nil {
		return nil, fmt.Errorf("%w: %s needs TLS", ErrNoBinding, typ)
	}
	switch typ {
	case TLSExporter:
		if state.Version != tls.VersionTLS13 {
			return nil, fmt.Errorf("%w: tls-exporter needs TLS 1.3, the connection uses %s",
				ErrNoBinding, tls.VersionName(state.Version))
		}
		data, err := exportKeyingMaterial(state)
		if err != nil {
			return nil, fmt.Errorf("%w: tls-exporter: %w", ErrNoBinding, err)
		}
		return &ChannelBinding{Type: TLSExporter, Data: data}, nil
	case TLSUnique:
		if len(state.TLSUnique) == 0 {
			return nil, fmt.Errorf("%w: tls-unique is not defined on this %s connection",
				ErrNoBinding, tls.VersionName(state.Version))
		}
		data := append([]byte(nil), state.TLSUnique...)
		return &ChannelBinding{Type: TLSUnique, Data: data}, nil
	case TLSServerEndPoint:
		if len(state.PeerCertificates) == 0 {
			return nil, fmt.Errorf("%w: tls-server-end-point needs the server's certificate", ErrNoBinding)
		}
		return ServerEndPoint(state.PeerCertificates[0])
	default:
		return nil, fmt.Errorf("%w: type %q is not supported", ErrNoBinding, typ)
	}
}

// exportKeyingMaterial exports the tls-exporter data. A ConnectionState
// that did not come from a crypto/tls connection has no exporter and would
// make ExportKeyingMaterial panic; that is reported as an error instead.
func exportKeyingMaterial(state *tls.ConnectionState) (data []byte, err error) {
	defer func() {
		if recover() != nil {
			data, err = nil, errors.New("keying material exporter unavailable (ConnectionState not from a TLS connection)")
		}
	}()
	return state.ExportKeyingMaterial(exporterLabel, []byte{}, exporterLength)
}

// ServerEndPoint computes the tls-server-end-point channel binding of a
// server's certificate (RFC 5929 §4.1). RFC 5929 defines no hash for
// signatures without one of their own (Ed25519), so there is no binding
// for such certificates.
func ServerEndPoint(cert *x509.Certificate) (*ChannelBinding, error) {
	var h hash.Hash
	switch cert.SignatureAlgorithm {
	case x509.MD5WithRSA, x509.SHA1WithRSA, x509.DSAWithSHA1, x509.ECDSAWithSHA1,
		x509.SHA256WithRSA, x509.SHA256WithRSAPSS, x509.DSAWithSHA256, x509.ECDSAWithSHA256:
		h = sha256.New()
	case x509.SHA384WithRSA, x509.SHA384WithRSAPSS, x509.ECDSAWithSHA384:
		h = sha512.New384()
	case x509.SHA512WithRSA, x509.SHA512WithRSAPSS, x509.ECDSAWithSHA512:
		h = sha512.New()
	default:
		return nil, fmt.Errorf("%w: tls-server-end-point is not defined for a certificate signed with %v",
			ErrNoBinding, cert.SignatureAlgorithm)
	}
	h.Write(cert.Raw)
	return &ChannelBinding{Type: TLSServerEndPoint, Data: h.Sum(nil)}, nil
}

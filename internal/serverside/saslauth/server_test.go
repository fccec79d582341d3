package saslauth

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/sasl"
)

func newServer() *Server {
	users := map[string]string{"juliet": "r0m30myr0m30", "a,b=c": "secret", "user": "pencil"}
	return &Server{
		Domain: "example.com",
		Lookup: func(u string) (string, bool) { p, ok := users[u]; return p, ok },
	}
}

// outcome is the end of one exchange driven by run.
type outcome struct {
	username  string
	clientErr error
	serverErr error
}

// run drives the sasl client mech against srv. tamper, if not nil, may
// change each server message (step 1 is the first challenge, the last step
// the success data) before the client sees it.
func run(t *testing.T, srv *Server, mech sasl.Mechanism, neg sasl.Negotiation, client, server *tls.ConnectionState, tamper func(step int, data []byte) []byte) outcome {
	t.Helper()
	_ = client
	ex, initial, err := mech.Start(&neg)
	if err != nil {
		return outcome{clientErr: err}
	}
	sex, data, done, err := srv.Start(mech.Name(), initial, server)
	for step := 1; ; step++ {
		if err != nil {
			return outcome{serverErr: err}
		}
		require.Less(t, step, 5, "exchange does not end")
		if tamper != nil {
			data = tamper(step, data)
		}
		if done {
			if cerr := ex.Verify(data); cerr != nil {
				return outcome{clientErr: cerr}
			}
			return outcome{username: sex.Username()}
		}
		resp, cerr := ex.Next(data)
		if cerr != nil {
			return outcome{clientErr: cerr}
		}
		data, done, err = sex.Next(resp)
	}
}

// negotiate picks mech through sasl.Select with what srv offers on the
// connection, so the test goes through the same choice as a session.
func negotiate(t *testing.T, srv *Server, mech sasl.Mechanism, client, server *tls.ConnectionState, advertiseCB bool) sasl.Negotiation {
	t.Helper()
	offer := sasl.Offer{Mechanisms: srv.Mechanisms(server), TLS: client}
	if advertiseCB {
		offer.ChannelBindings = ChannelBindingTypes(server)
	}
	m, neg, err := sasl.Select([]sasl.Mechanism{mech}, offer)
	require.NoError(t, err)
	require.Equal(t, mech.Name(), m.Name())
	neg.Username, neg.Password = "juliet", "r0m30myr0m30"
	return neg
}

func TestEndToEnd(t *testing.T) {
	t.Parallel()
	c13, s13 := tlsPair(t, tls.VersionTLS13)
	c12, s12 := tlsPair(t, tls.VersionTLS12)
	conns := []struct {
		name           string
		client, server *tls.ConnectionState
		advertiseCB    bool
		wantCB         string
	}{
		{name: "TLS 1.3 with XEP-0440", client: &c13, server: &s13, advertiseCB: true, wantCB: sasl.TLSExporter},
		{name: "TLS 1.2 without XEP-0440", client: &c12, server: &s12, wantCB: sasl.TLSUnique},
		{name: "unencrypted"},
	}
	for _, conn := range conns {
		for _, mech := range sasl.DefaultMechanisms() {
			plus := strings.HasSuffix(mech.Name(), "-PLUS")
			if conn.client == nil && (plus || mech == sasl.Plain) {
				continue
			}
			t.Run(conn.name+"/"+mech.Name(), func(t *testing.T) {
				t.Parallel()
				srv := newServer()
				neg := negotiate(t, srv, mech, conn.client, conn.server, conn.advertiseCB)
				if plus {
					require.NotNil(t, neg.Binding)
					assert.Equal(t, conn.wantCB, neg.Binding.Type)
				}
				got := run(t, srv, mech, neg, conn.client, conn.server, nil)
				require.NoError(t, got.clientErr)
				require.NoError(t, got.serverErr)
				assert.Equal(t, "juliet", got.username)
			})
		}
	}
}

func TestEndToEndFailures(t *testing.T) {
	t.Parallel()
	c13, s13 := tlsPair(t, tls.VersionTLS13)
	c12, s12 := tlsPair(t, tls.VersionTLS12)
	other13, _ := tlsPair(t, tls.VersionTLS13)

	flip := func(at int) func(int, []byte) []byte {
		return func(step int, data []byte) []byte {
			if step != at {
				return data
			}
			// Change one character of the base64 signature.
			out := bytes.Clone(data)
			i := len(out) - 4
			if out[i] == 'A' {
				out[i] = 'B'
			} else {
				out[i] = 'A'
			}
			return out
		}
	}
	tests := []struct {
		name       string
		mech       sasl.Mechanism
		client     *tls.ConnectionState
		server     *tls.ConnectionState
		srv        func(*Server)
		neg        func(*sasl.Negotiation)
		tamper     func(int, []byte) []byte
		wantServer sasl.Condition
		wantText   string // part of the server's failure text
		wantClient error
	}{
		{name: "wrong password SCRAM", mech: sasl.ScramSHA256, client: &c13, server: &s13,
			neg: func(n *sasl.Negotiation) { n.Password = "wrong" }, wantServer: sasl.NotAuthorized},
		{name: "wrong password SCRAM-PLUS", mech: sasl.ScramSHA512Plus, client: &c13, server: &s13,
			neg: func(n *sasl.Negotiation) { n.Password = "wrong" }, wantServer: sasl.NotAuthorized},
		{name: "wrong password PLAIN", mech: sasl.Plain, client: &c13, server: &s13,
			neg: func(n *sasl.Negotiation) { n.Password = "wrong" }, wantServer: sasl.NotAuthorized},
		{name: "unknown user SCRAM", mech: sasl.ScramSHA1, client: &c13, server: &s13,
			neg: func(n *sasl.Negotiation) { n.Username = "romeo" }, wantServer: sasl.NotAuthorized},
		{name: "unknown user PLAIN", mech: sasl.Plain, client: &c13, server: &s13,
			neg: func(n *sasl.Negotiation) { n.Username = "romeo" }, wantServer: sasl.NotAuthorized},
		{name: "tampered tls-exporter binding", mech: sasl.ScramSHA256Plus, client: &c13, server: &s13,
			neg: func(n *sasl.Negotiation) {
				n.Binding = &sasl.ChannelBinding{Type: n.Binding.Type, Data: bytes.Clone(n.Binding.Data)}
				n.Binding.Data[0] ^= 1
			}, wantServer: sasl.NotAuthorized},
		{name: "tampered tls-unique binding", mech: sasl.ScramSHA1Plus, client: &c12, server: &s12,
			neg: func(n *sasl.Negotiation) {
				n.Binding = &sasl.ChannelBinding{Type: n.Binding.Type, Data: bytes.Clone(n.Binding.Data)}
				n.Binding.Data[0] ^= 1
			}, wantServer: sasl.NotAuthorized},
		{name: "binding of another connection (MITM)", mech: sasl.ScramSHA256Plus, client: &c13, server: &s13,
			neg: func(n *sasl.Negotiation) {
				cb, err := sasl.ChannelBindingFor(&other13, sasl.TLSExporter)
				if err == nil {
					n.Binding = cb
				}
			}, wantServer: sasl.NotAuthorized},
		{name: "binding type the connection lacks", mech: sasl.ScramSHA256Plus, client: &c13, server: &s13,
			neg:        func(n *sasl.Negotiation) { n.Binding = &sasl.ChannelBinding{Type: sasl.TLSUnique, Data: []byte("x")} },
			wantServer: sasl.NotAuthorized},
		{name: "GS2 downgrade: y while the server offers PLUS", mech: sasl.ScramSHA256, client: &c13, server: &s13,
			neg: func(n *sasl.Negotiation) { n.ServerOffersPlus = false }, wantServer: sasl.NotAuthorized, wantText: "downgrade"},
		{name: "tampered server signature", mech: sasl.ScramSHA256, client: &c13, server: &s13,
			tamper: flip(2), wantClient: sasl.ErrServerSignature},
		{name: "tampered server signature PLUS", mech: sasl.ScramSHA1Plus, client: &c12, server: &s12,
			tamper: flip(2), wantClient: sasl.ErrServerSignature},
		{name: "server nonce does not extend client nonce", mech: sasl.ScramSHA256, client: &c13, server: &s13,
			tamper: func(step int, data []byte) []byte {
				if step == 1 {
					return bytes.Replace(data, []byte("r="), []byte("r=X"), 1)
				}
				return data
			}, wantClient: sasl.ErrNonce},
		{name: "iteration count 1", mech: sasl.ScramSHA256, client: &c13, server: &s13,
			srv: func(s *Server) { s.Iterations = 1 }, wantClient: sasl.ErrIterations},
		{name: "authzid of another user SCRAM", mech: sasl.ScramSHA256, client: &c13, server: &s13,
			neg: func(n *sasl.Negotiation) { n.Authzid = "romeo@example.com" }, wantServer: sasl.InvalidAuthzid},
		{name: "authzid of another user PLAIN", mech: sasl.Plain, client: &c13, server: &s13,
			neg: func(n *sasl.Negotiation) { n.Authzid = "romeo@example.com" }, wantServer: sasl.InvalidAuthzid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer()
			if tt.srv != nil {
				tt.srv(srv)
			}
			neg := negotiate(t, srv, tt.mech, tt.client, tt.server, true)
			if tt.neg != nil {
				tt.neg(&neg)
			}
			got := run(t, srv, tt.mech, neg, tt.client, tt.server, tt.tamper)
			assert.Empty(t, got.username)
			if tt.wantServer != "" {
				require.Error(t, got.serverErr)
				assert.NoError(t, got.clientErr)
				assert.ErrorIs(t, got.serverErr, tt.wantServer)
				var f *sasl.Failure
				require.True(t, errors.As(got.serverErr, &f))
				assert.Contains(t, f.Text, tt.wantText)
			}
			if tt.wantClient != nil {
				assert.NoError(t, got.serverErr)
				assert.ErrorIs(t, got.clientErr, tt.wantClient)
			}
		})
	}
}

func TestAuthzidAccepted(t *testing.T) {
	t.Parallel()
	c13, s13 := tlsPair(t, tls.VersionTLS13)
	for _, mech := range []sasl.Mechanism{sasl.ScramSHA256Plus, sasl.ScramSHA1, sasl.Plain} {
		t.Run(mech.Name(), func(t *testing.T) {
			t.Parallel()
			srv := newServer()
			neg := negotiate(t, srv, mech, &c13, &s13, true)
			neg.Authzid = "juliet@example.com"
			got := run(t, srv, mech, neg, &c13, &s13, nil)
			require.NoError(t, got.clientErr)
			require.NoError(t, got.serverErr)
			assert.Equal(t, "juliet", got.username)
		})
	}
}

func TestEscapedUsername(t *testing.T) {
	t.Parallel()
	srv := newServer()
	neg := sasl.Negotiation{Username: "a,b=c", Password: "secret"}
	got := run(t, srv, sasl.ScramSHA256, neg, nil, nil, nil)
	require.NoError(t, got.clientErr)
	require.NoError(t, got.serverErr)
	assert.Equal(t, "a,b=c", got.username)
}

func TestStartRefused(t *testing.T) {
	t.Parallel()
	_, s13 := tlsPair(t, tls.VersionTLS13)
	tests := []struct {
		name  string
		mech  string
		state *tls.ConnectionState
		srv   func(*Server)
		want  sasl.Condition
	}{
		{name: "unknown mechanism", mech: "DIGEST-MD5", state: &s13, want: sasl.InvalidMechanism},
		{name: "PLUS without TLS", mech: "SCRAM-SHA-256-PLUS", want: sasl.InvalidMechanism},
		{name: "PLAIN without TLS", mech: "PLAIN", want: sasl.EncryptionRequired},
		{name: "PLAIN switched off", mech: "PLAIN", state: &s13, srv: func(s *Server) { s.NoPlain = true }, want: sasl.InvalidMechanism},
		{name: "lower case name", mech: "scram-sha-1", state: &s13, want: sasl.InvalidMechanism},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer()
			if tt.srv != nil {
				tt.srv(srv)
			}
			ex, _, done, err := srv.Start(tt.mech, []byte("x"), tt.state)
			assert.Nil(t, ex)
			assert.False(t, done)
			assert.ErrorIs(t, err, tt.want)
		})
	}
}

func TestMechanisms(t *testing.T) {
	t.Parallel()
	_, s13 := tlsPair(t, tls.VersionTLS13)
	_, s12 := tlsPair(t, tls.VersionTLS12)
	srv := newServer()
	all := []string{"SCRAM-SHA-512-PLUS", "SCRAM-SHA-512", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1", "PLAIN"}
	assert.Equal(t, all, srv.Mechanisms(&s13))
	assert.Equal(t, all, srv.Mechanisms(&s12))
	assert.Equal(t, []string{"SCRAM-SHA-512", "SCRAM-SHA-256", "SCRAM-SHA-1"}, srv.Mechanisms(nil))
	assert.Equal(t, []string{sasl.TLSExporter}, ChannelBindingTypes(&s13))
	assert.Equal(t, []string{sasl.TLSUnique}, ChannelBindingTypes(&s12))
	assert.Empty(t, ChannelBindingTypes(nil))
}

// TestRFCVectors replays the published exchanges from the server's side.
func TestRFCVectors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, mech, salt, serverNonce string
		clientFirst, serverFirst      string
		clientFinal, serverFinal      string
	}{
		{
			name: "RFC 5802", mech: "SCRAM-SHA-1", salt: "QSXCR+Q6sek8bf92", serverNonce: "3rfcNHYJY1ZVvWVs7j",
			clientFirst: "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
			serverFirst: "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
			clientFinal: "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
			serverFinal: "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
		},
		{
			name: "RFC 7677", mech: "SCRAM-SHA-256", salt: "W22ZaJ0SNY7soEsUEjb6gQ==", serverNonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
			clientFirst: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
			serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
			clientFinal: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
			serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			salt, err := base64.StdEncoding.DecodeString(tt.salt)
			require.NoError(t, err)
			srv := newServer()
			srv.Salt = func(string) []byte { return salt }
			srv.nonce = func() (string, error) { return tt.serverNonce, nil }
			// Without an initial response the server sends an empty
			// challenge first.
			ex, challenge, done, err := srv.Start(tt.mech, nil, nil)
			require.NoError(t, err)
			require.False(t, done)
			assert.Empty(t, challenge)
			challenge, done, err = ex.Next([]byte(tt.clientFirst))
			require.NoError(t, err)
			require.False(t, done)
			assert.Equal(t, tt.serverFirst, string(challenge))
			success, done, err := ex.Next([]byte(tt.clientFinal))
			require.NoError(t, err)
			assert.True(t, done)
			assert.Equal(t, tt.serverFinal, string(success))
			assert.Equal(t, "user", ex.Username())
			_, _, err = ex.Next([]byte(tt.clientFinal))
			assert.ErrorIs(t, err, sasl.MalformedRequest)
		})
	}
}

func TestParseClientFirst(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		msg     string
		want    clientFirst
		wantErr bool
	}{
		{name: "n", msg: "n,,n=user,r=abc", want: clientFirst{flag: 'n', header: "n,,", bare: "n=user,r=abc", username: "user", nonce: "abc"}},
		{name: "y with authzid", msg: "y,a=u@x,n=user,r=abc", want: clientFirst{flag: 'y', authzid: "u@x", header: "y,a=u@x,", bare: "n=user,r=abc", username: "user", nonce: "abc"}},
		{name: "p", msg: "p=tls-exporter,,n=user,r=abc,x=ext", want: clientFirst{flag: 'p', cbType: "tls-exporter", header: "p=tls-exporter,,", bare: "n=user,r=abc,x=ext", username: "user", nonce: "abc"}},
		{name: "escaped", msg: "n,a==3D=2C,n=a=2Cb=3Dc,r=abc", want: clientFirst{flag: 'n', authzid: "=,", header: "n,a==3D=2C,", bare: "n=a=2Cb=3Dc,r=abc", username: "a,b=c", nonce: "abc"}},
		{name: "bad flag", msg: "x,,n=user,r=abc", wantErr: true},
		{name: "empty cb name", msg: "p=,,n=user,r=abc", wantErr: true},
		{name: "bad escape", msg: "n,,n=a=2Db,r=abc", wantErr: true},
		{name: "mandatory extension", msg: "n,,m=x,n=user,r=abc", wantErr: true},
		{name: "no nonce", msg: "n,,n=user", wantErr: true},
		{name: "empty user", msg: "n,,n=,r=abc", wantErr: true},
		{name: "bad authzid", msg: "n,b=x,n=user,r=abc", wantErr: true},
		{name: "empty", msg: "", wantErr: true},
		{name: "bad extension", msg: "n,,n=user,r=abc,zz", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseClientFirst([]byte(tt.msg))
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// tls-server-end-point is verified against the server's own certificate:
// the right one passes, another one or none fails the exchange.
func TestServerEndPointBinding(t *testing.T) {
	t.Parallel()
	c13, s13 := tlsPair(t, tls.VersionTLS13)
	other := &x509.Certificate{Raw: []byte("another certificate"), SignatureAlgorithm: x509.ECDSAWithSHA256}
	tests := []struct {
		name string
		cert *x509.Certificate
		ok   bool
	}{
		{"its own certificate", c13.PeerCertificates[0], true},
		{"another certificate", other, false},
		{"no certificate", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer()
			srv.Certificate = tt.cert
			offer := sasl.Offer{Mechanisms: srv.Mechanisms(&s13), TLS: &c13, ChannelBindings: []string{sasl.TLSServerEndPoint}}
			m, neg, err := sasl.Select([]sasl.Mechanism{sasl.ScramSHA256Plus}, offer)
			require.NoError(t, err)
			require.Equal(t, sasl.TLSServerEndPoint, neg.Binding.Type)
			neg.Username, neg.Password = "juliet", "r0m30myr0m30"
			got := run(t, srv, m, neg, &c13, &s13, nil)
			if tt.ok {
				require.NoError(t, got.clientErr)
				require.NoError(t, got.serverErr)
				assert.Equal(t, "juliet", got.username)
				return
			}
			assert.ErrorIs(t, got.serverErr, sasl.NotAuthorized)
		})
	}
}

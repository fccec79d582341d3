package sasl

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/scram"
)

// withNonce returns a copy of the SCRAM mechanism m whose client nonce is
// fixed, to replay published exchanges.
func withNonce(t testing.TB, m Mechanism, nonce string) Mechanism {
	t.Helper()
	s, ok := m.(*scramMechanism)
	require.True(t, ok, "%s is not a SCRAM mechanism", m.Name())
	c := *s
	c.nonce = func() (string, error) { return nonce, nil }
	return &c
}

// vector is one published SCRAM exchange.
type vector struct {
	name        string
	mech        Mechanism
	neg         Negotiation
	nonce       string
	clientFirst string
	serverFirst string
	clientFinal string
	serverFinal string
}

func b64(t testing.TB, s string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	require.NoError(t, err)
	return string(b)
}

func vectors(t testing.TB) []vector {
	return []vector{
		{
			// RFC 5802 §5.
			name:        "RFC 5802 SCRAM-SHA-1",
			mech:        ScramSHA1,
			neg:         Negotiation{Username: "user", Password: "pencil"},
			nonce:       "fyko+d2lbbFgONRv9qkxdawL",
			clientFirst: "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
			serverFirst: "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
			clientFinal: "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
			serverFinal: "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
		},
		{
			// RFC 7677 §3.
			name:        "RFC 7677 SCRAM-SHA-256",
			mech:        ScramSHA256,
			neg:         Negotiation{Username: "user", Password: "pencil"},
			nonce:       "rOprNGfwEbeRWgbNEkqO",
			clientFirst: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
			serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
			clientFinal: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
			serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
		},
		{
			// RFC 6120 §6.4 (repeated in §9.1.3): the server offers
			// SCRAM-SHA-1-PLUS, the client uses SCRAM-SHA-1 with flag n.
			// The RFC gives the payloads in base64, as on the wire.
			name:        "RFC 6120 SCRAM-SHA-1 juliet",
			mech:        ScramSHA1,
			neg:         Negotiation{Username: "juliet", Password: "r0m30myr0m30", Encrypted: true, ServerOffersPlus: true},
			nonce:       "oMsTAAwAAAAMAAAANP0TAAAAAABPU0AA",
			clientFirst: b64(t, "biwsbj1qdWxpZXQscj1vTXNUQUF3QUFBQU1BQUFBTlAwVEFBQUFBQUJQVTBBQQ=="),
			serverFirst: b64(t, "cj1vTXNUQUF3QUFBQU1BQUFBTlAwVEFBQUFBQUJQVTBBQWUxMjQ2OTViLTY5YTktNGRlNi05YzMwLWI1MWIzODA4YzU5ZSxzPU5qaGtZVE0wTURndE5HWTBaaTAwTmpkbUxUa3hNbVV0TkRsbU5UTm1ORE5rTURNeixpPTQwOTY="),
			clientFinal: b64(t, "Yz1iaXdzLHI9b01zVEFBd0FBQUFNQUFBQU5QMFRBQUFBQUFCUFUwQUFlMTI0Njk1Yi02OWE5LTRkZTYtOWMzMC1iNTFiMzgwOGM1OWUscD1VQTU3dE0vU3ZwQVRCa0gyRlhzMFdEWHZKWXc9"),
			serverFinal: b64(t, "dj1wTk5ERlZFUXh1WHhDb1NFaVc4R0VaKzFSU289"),
		},
	}
}

func TestSCRAMVectors(t *testing.T) {
	t.Parallel()
	for _, v := range vectors(t) {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			neg := v.neg
			ex, first, err := withNonce(t, v.mech, v.nonce).Start(&neg)
			require.NoError(t, err)
			assert.Equal(t, v.clientFirst, string(first))

			final, err := ex.Next([]byte(v.serverFirst))
			require.NoError(t, err)
			assert.Equal(t, v.clientFinal, string(final))

			assert.NoError(t, ex.Verify([]byte(v.serverFinal)))
		})
	}
}

// TestSCRAMServerFinalAsChallenge: a server may send the
// server-final-message in a challenge and <success/> without data.
func TestSCRAMServerFinalAsChallenge(t *testing.T) {
	t.Parallel()
	v := vectors(t)[0]
	neg := v.neg
	ex, _, err := withNonce(t, v.mech, v.nonce).Start(&neg)
	require.NoError(t, err)
	_, err = ex.Next([]byte(v.serverFirst))
	require.NoError(t, err)
	resp, err := ex.Next([]byte(v.serverFinal))
	require.NoError(t, err)
	assert.Empty(t, resp)
	assert.NoError(t, ex.Verify(nil))
}

func TestSCRAMServerFirstRejected(t *testing.T) {
	t.Parallel()
	const nonce = "fyko+d2lbbFgONRv9qkxdawL"
	tests := []struct {
		name        string
		serverFirst string
		neg         Negotiation
		want        error
		contains    string
	}{
		{name: "nonce does not extend client nonce", serverFirst: "r=XXXX+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096", want: ErrNonce},
		{name: "nonce equals client nonce", serverFirst: "r=" + nonce + ",s=QSXCR+Q6sek8bf92,i=4096", want: ErrNonce},
		{name: "nonce shorter", serverFirst: "r=fyko,s=QSXCR+Q6sek8bf92,i=4096", want: ErrNonce},
		{name: "iteration count 1", serverFirst: "r=" + nonce + "abc,s=QSXCR+Q6sek8bf92,i=1", want: ErrIterations},
		{name: "iteration count 4095", serverFirst: "r=" + nonce + "abc,s=QSXCR+Q6sek8bf92,i=4095", want: ErrIterations},
		{name: "iteration count 0", serverFirst: "r=" + nonce + "abc,s=QSXCR+Q6sek8bf92,i=0", want: ErrIterations},
		{name: "iteration count above maximum", serverFirst: "r=" + nonce + "abc,s=QSXCR+Q6sek8bf92,i=2000000", want: ErrIterations},
		{name: "iteration count below raised minimum", serverFirst: "r=" + nonce + "abc,s=QSXCR+Q6sek8bf92,i=4096", neg: Negotiation{MinIterations: 10000}, want: ErrIterations},
		{name: "iteration count huge", serverFirst: "r=" + nonce + "abc,s=QSXCR+Q6sek8bf92,i=99999999999999999999", want: ErrMalformed},
		{name: "iteration count negative", serverFirst: "r=" + nonce + "abc,s=QSXCR+Q6sek8bf92,i=-4096", want: ErrMalformed},
		{name: "iteration count not a number", serverFirst: "r=" + nonce + "abc,s=QSXCR+Q6sek8bf92,i=4k", want: ErrMalformed},
		{name: "mandatory extension", serverFirst: "m=foo,r=" + nonce + "abc,s=QSXCR+Q6sek8bf92,i=4096", want: ErrMandatoryExtension},
		{name: "server error", serverFirst: "e=unknown-user", want: &ServerError{Value: "unknown-user"}},
		{name: "empty", serverFirst: "", want: ErrMalformed},
		{name: "missing salt", serverFirst: "r=" + nonce + "abc,i=4096", want: ErrMalformed},
		{name: "empty salt", serverFirst: "r=" + nonce + "abc,s=,i=4096", want: ErrMalformed},
		{name: "salt not base64", serverFirst: "r=" + nonce + "abc,s=!!!!,i=4096", want: ErrMalformed},
		{name: "attributes out of order", serverFirst: "s=QSXCR+Q6sek8bf92,r=" + nonce + "abc,i=4096", want: ErrMalformed},
		{name: "nonce with space", serverFirst: "r=" + nonce + "a c,s=QSXCR+Q6sek8bf92,i=4096", want: ErrMalformed},
		{name: "not an attribute", serverFirst: "r=" + nonce + "abc,s=QSXCR+Q6sek8bf92,i=4096,garbage", want: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			neg := tt.neg
			neg.Username, neg.Password = "user", "pencil"
			ex, _, err := withNonce(t, ScramSHA1, nonce).Start(&neg)
			require.NoError(t, err)
			resp, err := ex.Next([]byte(tt.serverFirst))
			require.Error(t, err)
			assert.Nil(t, resp)
			var se *ServerError
			if errors.As(tt.want, &se) {
				var got *ServerError
				require.ErrorAs(t, err, &got)
				assert.Equal(t, se.Value, got.Value)
			} else {
				assert.ErrorIs(t, err, tt.want)
			}
			assert.True(t, strings.HasPrefix(err.Error(), "sasl: "), err.Error())
			// After a failure the exchange stays failed.
			assert.Error(t, ex.Verify([]byte("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=")))
		})
	}
}

func TestSCRAMServerFinalRejected(t *testing.T) {
	t.Parallel()
	v := vectors(t)[0]
	tests := []struct {
		name        string
		serverFinal string
		want        error
	}{
		{name: "tampered signature", serverFinal: "v=rmF9pqV8S7suAoZWja4dJRkFsKR=", want: ErrMalformed},
		{name: "wrong signature", serverFinal: "v=" + base64.StdEncoding.EncodeToString([]byte("01234567890123456789")), want: ErrServerSignature},
		{name: "signature of another exchange", serverFinal: vectors(t)[2].serverFinal, want: ErrServerSignature},
		{name: "empty success", serverFinal: "", want: ErrServerSignature},
		{name: "server error", serverFinal: "e=invalid-proof"},
		{name: "garbage", serverFinal: "hello", want: ErrMalformed},
		{name: "unknown first attribute", serverFinal: "x=1", want: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			neg := v.neg
			ex, _, err := withNonce(t, v.mech, v.nonce).Start(&neg)
			require.NoError(t, err)
			_, err = ex.Next([]byte(v.serverFirst))
			require.NoError(t, err)
			err = ex.Verify([]byte(tt.serverFinal))
			require.Error(t, err)
			if tt.want != nil {
				assert.ErrorIs(t, err, tt.want)
			} else {
				var se *ServerError
				require.ErrorAs(t, err, &se)
				assert.Equal(t, "invalid-proof", se.Value)
			}
			// A failed exchange cannot be verified afterwards.
			assert.Error(t, ex.Verify([]byte(v.serverFinal)))
		})
	}
}

func TestSCRAMOutOfOrder(t *testing.T) {
	t.Parallel()
	v := vectors(t)[0]
	t.Run("success before server-first", func(t *testing.T) {
		t.Parallel()
		neg := v.neg
		ex, _, err := withNonce(t, v.mech, v.nonce).Start(&neg)
		require.NoError(t, err)
		assert.ErrorIs(t, ex.Verify(nil), ErrUnexpected)
	})
	t.Run("third challenge", func(t *testing.T) {
		t.Parallel()
		neg := v.neg
		ex, _, err := withNonce(t, v.mech, v.nonce).Start(&neg)
		require.NoError(t, err)
		_, err = ex.Next([]byte(v.serverFirst))
		require.NoError(t, err)
		_, err = ex.Next([]byte(v.serverFinal))
		require.NoError(t, err)
		_, err = ex.Next([]byte(v.serverFinal))
		assert.ErrorIs(t, err, ErrUnexpected)
	})
	t.Run("data in success after final challenge", func(t *testing.T) {
		t.Parallel()
		neg := v.neg
		ex, _, err := withNonce(t, v.mech, v.nonce).Start(&neg)
		require.NoError(t, err)
		_, err = ex.Next([]byte(v.serverFirst))
		require.NoError(t, err)
		_, err = ex.Next([]byte(v.serverFinal))
		require.NoError(t, err)
		assert.ErrorIs(t, ex.Verify([]byte(v.serverFinal)), ErrUnexpected)
	})
}

func TestSCRAMClientFirst(t *testing.T) {
	t.Parallel()
	binding := &ChannelBinding{Type: TLSExporter, Data: []byte{1, 2, 3}}
	tests := []struct {
		name       string
		mech       Mechanism
		neg        Negotiation
		wantFirst  string
		wantCBind  string // decoded c= of the client-final-message
		wantErrSub string
	}{
		{name: "unencrypted: n", mech: ScramSHA256, neg: Negotiation{}, wantFirst: "n,,n=user,r=NONCE", wantCBind: "n,,"},
		{name: "TLS, server offers no PLUS: y", mech: ScramSHA256, neg: Negotiation{Encrypted: true}, wantFirst: "y,,n=user,r=NONCE", wantCBind: "y,,"},
		{name: "TLS, server offers PLUS: n", mech: ScramSHA256, neg: Negotiation{Encrypted: true, ServerOffersPlus: true}, wantFirst: "n,,n=user,r=NONCE", wantCBind: "n,,"},
		{name: "binding: p", mech: ScramSHA256Plus, neg: Negotiation{Encrypted: true, ServerOffersPlus: true, Binding: binding}, wantFirst: "p=tls-exporter,,n=user,r=NONCE", wantCBind: "p=tls-exporter,,\x01\x02\x03"},
		{name: "authzid", mech: ScramSHA256, neg: Negotiation{Authzid: "user@example.com"}, wantFirst: "n,a=user@example.com,n=user,r=NONCE", wantCBind: "n,a=user@example.com,"},
		{name: "escaped username", mech: ScramSHA256, neg: Negotiation{Username: "a,b=c"}, wantFirst: "n,,n=a=2Cb=3Dc,r=NONCE", wantCBind: "n,,"},
		{name: "escaped authzid", mech: ScramSHA256, neg: Negotiation{Authzid: "x=,y"}, wantFirst: "n,a=x=3D=2Cy,n=user,r=NONCE", wantCBind: "n,a=x=3D=2Cy,"},
		{name: "PLUS without binding", mech: ScramSHA256Plus, neg: Negotiation{Encrypted: true}, wantErrSub: "needs channel binding"},
		{name: "binding without PLUS", mech: ScramSHA256, neg: Negotiation{Binding: binding}, wantErrSub: "use the -PLUS variant"},
		{name: "empty password", mech: ScramSHA256, neg: Negotiation{Password: "-"}, wantErrSub: "preparing password"},
		{name: "control character in password", mech: ScramSHA256, neg: Negotiation{Password: "pen\x07cil"}, wantErrSub: "preparing password"},
		{name: "empty username", mech: ScramSHA256, neg: Negotiation{Username: "-"}, wantErrSub: "empty username"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			neg := tt.neg
			if neg.Username == "" {
				neg.Username = "user"
			} else if neg.Username == "-" {
				neg.Username = ""
			}
			if neg.Password == "" {
				neg.Password = "pencil"
			} else if neg.Password == "-" {
				neg.Password = ""
			}
			ex, first, err := withNonce(t, tt.mech, "NONCE").Start(&neg)
			if tt.wantErrSub != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErrSub)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantFirst, string(first))
			final, err := ex.Next([]byte("r=NONCEserver,s=QSXCR+Q6sek8bf92,i=4096"))
			require.NoError(t, err)
			c, _, ok := strings.Cut(strings.TrimPrefix(string(final), "c="), ",")
			require.True(t, ok)
			assert.Equal(t, tt.wantCBind, b64(t, c))
		})
	}
}

// TestSCRAMPasswordPrepared: the password goes through OpaqueString, which
// maps non-ASCII spaces to U+0020, so both spellings give the same proof.
func TestSCRAMPasswordPrepared(t *testing.T) {
	t.Parallel()
	proof := func(password string) string {
		neg := Negotiation{Username: "user", Password: password}
		ex, _, err := withNonce(t, ScramSHA1, "NONCE").Start(&neg)
		require.NoError(t, err)
		final, err := ex.Next([]byte("r=NONCEserver,s=QSXCR+Q6sek8bf92,i=4096"))
		require.NoError(t, err)
		return string(final)
	}
	assert.Equal(t, proof("pen cil"), proof("pen\u00a0cil"))
	assert.NotEqual(t, proof("pen cil"), proof("pencil"))
}

func TestRandomNonce(t *testing.T) {
	t.Parallel()
	a, err := randomNonce()
	require.NoError(t, err)
	b, err := randomNonce()
	require.NoError(t, err)
	assert.NotEqual(t, a, b)
	assert.Len(t, a, 32)
	assert.True(t, scram.Printable(a), a)
}

func TestMechanismNames(t *testing.T) {
	t.Parallel()
	var names []string
	for _, m := range DefaultMechanisms() {
		names = append(names, m.Name())
	}
	assert.Equal(t, []string{
		"SCRAM-SHA-512-PLUS", "SCRAM-SHA-512",
		"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256",
		"SCRAM-SHA-1-PLUS", "SCRAM-SHA-1",
		"PLAIN",
	}, names)
}

func BenchmarkSCRAMSHA256(b *testing.B) {
	v := vectors(b)[1]
	m := withNonce(b, v.mech, v.nonce)
	b.ReportAllocs()
	for b.Loop() {
		neg := v.neg
		ex, _, err := m.Start(&neg)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ex.Next([]byte(v.serverFirst)); err != nil {
			b.Fatal(err)
		}
		if err := ex.Verify([]byte(v.serverFinal)); err != nil {
			b.Fatal(err)
		}
	}
}

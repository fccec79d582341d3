package sasl

import (
	"crypto/tls"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fooMechanism is a user-defined mechanism.
type fooMechanism struct{}

func (fooMechanism) Name() string                                 { return "X-FOO" }
func (fooMechanism) Start(*Negotiation) (Exchange, []byte, error) { return nil, nil, nil }

func TestSelect(t *testing.T) {
	t.Parallel()
	tls12, _ := tlsPair(t, tls.VersionTLS12)
	tls13, _ := tlsPair(t, tls.VersionTLS13)
	require.NotEmpty(t, tls12.TLSUnique)
	require.Empty(t, tls13.TLSUnique)

	// What Prosody 0.12 and ejabberd 23.01 offer: -PLUS with tls-unique
	// only, and no XEP-0440 list.
	prosody := []string{"SCRAM-SHA-1", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS", "PLAIN"}
	scramOnly := []Mechanism{ScramSHA256Plus, ScramSHA256, ScramSHA1Plus, ScramSHA1}

	tests := []struct {
		name        string
		prefs       []Mechanism
		offer       Offer
		want        string
		wantBinding string // "" for none
		wantFlag    string
		wantErr     string
	}{
		{name: "Prosody under TLS 1.3: plain SCRAM, flag n", offer: Offer{Mechanisms: prosody, TLS: &tls13},
			want: "SCRAM-SHA-256", wantFlag: "n"},
		{name: "Prosody under TLS 1.2: PLUS with tls-unique", offer: Offer{Mechanisms: prosody, TLS: &tls12},
			want: "SCRAM-SHA-256-PLUS", wantBinding: TLSUnique, wantFlag: "p=tls-unique"},
		{name: "XEP-0440 tls-exporter under TLS 1.3", offer: Offer{Mechanisms: prosody, TLS: &tls13, ChannelBindings: []string{"tls-server-end-point", "tls-exporter"}},
			want: "SCRAM-SHA-256-PLUS", wantBinding: TLSExporter, wantFlag: "p=tls-exporter"},
		{name: "XEP-0440 both types under TLS 1.3: exporter", offer: Offer{Mechanisms: prosody, TLS: &tls13, ChannelBindings: []string{"tls-unique", "tls-exporter"}},
			want: "SCRAM-SHA-256-PLUS", wantBinding: TLSExporter, wantFlag: "p=tls-exporter"},
		{name: "XEP-0440 both types under TLS 1.2: tls-unique", offer: Offer{Mechanisms: prosody, TLS: &tls12, ChannelBindings: []string{"tls-exporter", "tls-unique"}},
			want: "SCRAM-SHA-256-PLUS", wantBinding: TLSUnique, wantFlag: "p=tls-unique"},
		{name: "XEP-0440 exporter only under TLS 1.2: plain SCRAM", offer: Offer{Mechanisms: prosody, TLS: &tls12, ChannelBindings: []string{"tls-exporter"}},
			want: "SCRAM-SHA-256", wantFlag: "n"},
		{name: "XEP-0440 end-point only under TLS 1.3", offer: Offer{Mechanisms: prosody, TLS: &tls13, ChannelBindings: []string{"tls-server-end-point"}},
			want: "SCRAM-SHA-256-PLUS", wantBinding: TLSServerEndPoint, wantFlag: "p=tls-server-end-point"},
		{name: "XEP-0440 end-point and tls-unique under TLS 1.2: tls-unique", offer: Offer{Mechanisms: prosody, TLS: &tls12, ChannelBindings: []string{"tls-server-end-point", "tls-unique"}},
			want: "SCRAM-SHA-256-PLUS", wantBinding: TLSUnique, wantFlag: "p=tls-unique"},
		{name: "XEP-0440 unknown type only: plain SCRAM", offer: Offer{Mechanisms: prosody, TLS: &tls13, ChannelBindings: []string{"tls-foo"}},
			want: "SCRAM-SHA-256", wantFlag: "n"},
		{name: "XEP-0440 empty list: no binding", offer: Offer{Mechanisms: prosody, TLS: &tls12, ChannelBindings: []string{}},
			want: "SCRAM-SHA-256", wantFlag: "n"},
		{name: "no PLUS offered: flag y", offer: Offer{Mechanisms: []string{"PLAIN", "SCRAM-SHA-1"}, TLS: &tls13},
			want: "SCRAM-SHA-1", wantFlag: "y"},
		{name: "SHA-512 preferred", offer: Offer{Mechanisms: []string{"SCRAM-SHA-1", "SCRAM-SHA-512", "SCRAM-SHA-256"}, TLS: &tls13},
			want: "SCRAM-SHA-512", wantFlag: "y"},
		{name: "SHA-512-PLUS preferred", offer: Offer{Mechanisms: []string{"SCRAM-SHA-512", "SCRAM-SHA-512-PLUS", "SCRAM-SHA-256-PLUS"}, TLS: &tls12},
			want: "SCRAM-SHA-512-PLUS", wantBinding: TLSUnique, wantFlag: "p=tls-unique"},
		{name: "client order wins", prefs: []Mechanism{ScramSHA1, ScramSHA256}, offer: Offer{Mechanisms: []string{"SCRAM-SHA-256", "SCRAM-SHA-1"}, TLS: &tls13},
			want: "SCRAM-SHA-1", wantFlag: "y"},
		{name: "PLAIN under TLS", offer: Offer{Mechanisms: []string{"PLAIN", "DIGEST-MD5"}, TLS: &tls13},
			want: "PLAIN"},
		{name: "unencrypted SCRAM: flag n", offer: Offer{Mechanisms: []string{"SCRAM-SHA-1", "PLAIN"}},
			want: "SCRAM-SHA-1", wantFlag: "n"},
		{name: "user mechanism", prefs: []Mechanism{fooMechanism{}, ScramSHA1}, offer: Offer{Mechanisms: []string{"SCRAM-SHA-1", "X-FOO"}},
			want: "X-FOO"},
		{name: "PLAIN unencrypted", offer: Offer{Mechanisms: []string{"PLAIN"}},
			wantErr: "sasl: PLAIN refused on an unencrypted stream"},
		{name: "SCRAM only, server offers PLAIN", prefs: scramOnly, offer: Offer{Mechanisms: []string{"PLAIN"}, TLS: &tls13},
			wantErr: "sasl: no mechanism in common: server offers [PLAIN], client accepts [SCRAM-SHA-256-PLUS SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-1]"},
		{name: "RFC 6120 example: never try PLAIN off the list", prefs: []Mechanism{ScramSHA1}, offer: Offer{Mechanisms: []string{"DIGEST-MD5", "PLAIN"}, TLS: &tls13},
			wantErr: "sasl: no mechanism in common: server offers [DIGEST-MD5 PLAIN], client accepts [SCRAM-SHA-1]"},
		{name: "only PLUS offered under TLS 1.3 without list", offer: Offer{Mechanisms: []string{"SCRAM-SHA-1-PLUS"}, TLS: &tls13},
			wantErr: "sasl: SCRAM-SHA-1-PLUS unusable: the server lists no channel binding types and tls-unique is not available on TLS 1.3"},
		{name: "PLUS and PLAIN unencrypted", offer: Offer{Mechanisms: []string{"SCRAM-SHA-1-PLUS", "PLAIN"}},
			wantErr: "sasl: no usable mechanism: SCRAM-SHA-1-PLUS unusable: channel binding needs TLS; PLAIN refused on an unencrypted stream"},
		{name: "nothing offered", offer: Offer{},
			wantErr: "sasl: no mechanism in common: server offers [], client accepts [SCRAM-SHA-512-PLUS SCRAM-SHA-512 SCRAM-SHA-256-PLUS SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-1 PLAIN]"},
		{name: "synthetic TLS 1.3 state without exporter", offer: Offer{Mechanisms: []string{"SCRAM-SHA-1-PLUS"}, TLS: &tls.ConnectionState{Version: tls.VersionTLS13}, ChannelBindings: []string{"tls-exporter"}},
			wantErr: "sasl: SCRAM-SHA-1-PLUS unusable: no channel binding type both sides support (server lists [tls-exporter])"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			prefs := tt.prefs
			if prefs == nil {
				prefs = DefaultMechanisms()
			}
			m, neg, err := Select(prefs, tt.offer)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.ErrorIs(t, err, ErrNoMechanism)
				assert.EqualError(t, err, tt.wantErr)
				assert.Nil(t, m)
				return
			}
			require.NoError(t, err)
			require.NotNil(t, m)
			assert.Equal(t, tt.want, m.Name())
			assert.Equal(t, tt.offer.TLS != nil, neg.Encrypted)
			if tt.wantBinding == "" {
				assert.Nil(t, neg.Binding)
			} else {
				require.NotNil(t, neg.Binding)
				assert.Equal(t, tt.wantBinding, neg.Binding.Type)
				assert.NotEmpty(t, neg.Binding.Data)
			}
			if tt.wantFlag != "" {
				assert.Equal(t, tt.wantFlag, gs2Flag(&neg))
			}
		})
	}
}

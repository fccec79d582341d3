package sasl

import (
	"crypto/tls"
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
		{name: "unknown type", client: &c13, typ: "tls-server-end-point", wantErr: `type "tls-server-end-point" is not supported`},
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

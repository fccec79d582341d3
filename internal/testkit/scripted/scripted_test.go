package scripted

import (
	"crypto/x509"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/parleyim/parley/stanza"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCertificateEnvRoundTrip(t *testing.T) {
	t.Parallel()
	cert, _ := Certificate(t)
	name, value, ok := strings.Cut(CertificateEnv(t), "=")
	require.True(t, ok)
	assert.Equal(t, certEnv, name)
	got, pool, err := parseCertEnv(value)
	require.NoError(t, err)
	assert.Equal(t, cert.Certificate, got.Certificate)
	_, err = got.Leaf.Verify(x509.VerifyOptions{DNSName: Domain, Roots: pool})
	assert.NoError(t, err, "the pool trusts the certificate for the domain")

	for _, bad := range []string{"", "nodot", "!!.!!", "QUFB.QUFB"} {
		_, _, err := parseCertEnv(bad)
		assert.Error(t, err, bad)
	}
}

func TestBindResource(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, iq, want string
	}{
		{"asked", "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>balcony</resource></bind></iq>", "balcony"},
		{"none asked", "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>", ""},
		{"resource outside bind", "<iq type='set' id='b'><resource>x</resource><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			raw, err := stanza.ParseRaw([]byte(tt.iq))
			require.NoError(t, err)
			assert.Equal(t, tt.want, childText(raw, "bind", "resource"))
		})
	}
}

// recorder is a testing.TB that keeps what the peer reports.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// A failing step ends Start's script, not the test, and reports why.
func TestFatalfEndsTheScript(t *testing.T) {
	t.Parallel()
	rec := &recorder{TB: t}
	after := false
	client, p := Start(rec, func(p *Peer) {
		p.Header()
		p.Expect("starttls")
		after = true
	})
	_, err := client.Write([]byte("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><message/>"))
	require.NoError(t, err)
	p.Wait()
	assert.False(t, after, "the script went on after a failed step")
	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.Len(t, rec.errors, 1)
	assert.Equal(t, "scripted: client sent <message>, want <starttls>", rec.errors[0])
}

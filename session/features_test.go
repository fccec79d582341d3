package session

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/wire"
)

const streamHeader = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"

func readFeatures(t testing.TB, children string) (*featuresElement, error) {
	r := wire.NewReader(strings.NewReader(streamHeader+"<stream:features>"+children+"</stream:features>"), wire.Limits{})
	if _, err := r.ReadHeader(); err != nil {
		return nil, err
	}
	if _, err := r.NextElement(); err != nil {
		return nil, err
	}
	return parseFeatures(r)
}

func TestParseFeatures(t *testing.T) {
	t.Parallel()
	f, err := readFeatures(t, featStartTLS+mechanisms("SCRAM-SHA-1", "PLAIN")+
		"<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'><channel-binding type='tls-exporter'/><channel-binding type='tls-unique'/></sasl-channel-binding>"+
		"<session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session>"+
		"<sm xmlns='urn:xmpp:sm:3'/><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v'/>"+
		"<mechanism xmlns='urn:other'>NOT-A-MECH</mechanism>")
	require.NoError(t, err)
	assert.True(t, f.StartTLS)
	assert.True(t, f.StartTLSRequired)
	assert.Equal(t, []string{"SCRAM-SHA-1", "PLAIN"}, f.Mechanisms)
	assert.Equal(t, []string{"tls-exporter", "tls-unique"}, f.ChannelBindings)
	assert.True(t, f.Session)
	assert.True(t, f.SessionOptional)
	assert.True(t, f.StreamManagement)
	assert.False(t, f.Bind)
	_, ok := f.Lookup(xmlName(ns.Caps, "c"))
	assert.True(t, ok)
	assert.Len(t, f.All(), 7)
}

func TestParseFeaturesNamespaces(t *testing.T) {
	t.Parallel()
	// Features are recognised by namespace, not by prefix or name alone.
	f, err := readFeatures(t, "<x:starttls xmlns:x='urn:ietf:params:xml:ns:xmpp-tls'/><starttls xmlns='urn:wrong'><required/></starttls>"+
		"<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism xmlns='urn:wrong'>PLAIN</mechanism><mechanism>SCRAM-SHA-1</mechanism></mechanisms>")
	require.NoError(t, err)
	assert.True(t, f.StartTLS)
	assert.False(t, f.StartTLSRequired, "<required/> of another element")
	assert.Equal(t, []string{"SCRAM-SHA-1"}, f.Mechanisms)
}

// FuzzFeatures parses arbitrary stream features: never a panic.
func FuzzFeatures(f *testing.F) {
	f.Add(featStartTLS + mechanisms("SCRAM-SHA-1", "PLAIN") + featBind)
	f.Add("<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'><channel-binding type='tls-exporter'/></sasl-channel-binding>")
	f.Add("<session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session><a><b><c/></b></a>")
	f.Add("<limits xmlns='urn:xmpp:stream-limits:0'><max-bytes>10000</max-bytes><idle-seconds>600</idle-seconds></limits>")
	f.Fuzz(func(t *testing.T, children string) {
		feats, err := readFeatures(t, children)
		if err == nil && feats == nil {
			t.Fatal("nil features without an error")
		}
		if err == nil && (feats.Limits.MaxBytes < 0 || feats.Limits.IdleSeconds < 0) {
			t.Fatalf("negative limits: %+v", feats.Limits)
		}
	})
}

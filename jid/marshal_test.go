package jid

import (
	"encoding/json"
	"encoding/xml"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTextRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		j    JID
		text string
	}{
		{"zero", JID{}, ""},
		{"domain", MustParse("example.com"), "example.com"},
		{"bare", MustParse("Juliet@Example.com"), "juliet@example.com"},
		{"full", MustParse("juliet@example.com/Balcony Phone"), "juliet@example.com/Balcony Phone"},
		{"unicode", MustParse("π@bücher.example/♚"), "π@bücher.example/♚"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			text, err := tc.j.MarshalText()
			require.NoError(t, err)
			assert.Equal(t, tc.text, string(text))
			var back JID
			require.NoError(t, back.UnmarshalText(text))
			assert.Equal(t, tc.j, back)

			js, err := json.Marshal(tc.j)
			require.NoError(t, err)
			var fromJSON JID
			require.NoError(t, json.Unmarshal(js, &fromJSON))
			assert.Equal(t, tc.j, fromJSON)
		})
	}
}

func TestUnmarshalTextErrors(t *testing.T) {
	t.Parallel()
	j := MustParse("keep@example.com")
	err := j.UnmarshalText([]byte("@example.com"))
	assert.EqualError(t, err, "jid: localpart is empty")
	assert.Equal(t, MustParse("keep@example.com"), j, "a failed unmarshal leaves the value alone")
}

type envelope struct {
	XMLName xml.Name `xml:"message"`
	From    JID      `xml:"from,attr"`
	To      JID      `xml:"to,attr"`
}

func TestXMLAttrRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   envelope
		xml  string
	}{
		{"both", envelope{From: MustParse("a@example.com/r"), To: MustParse("b@example.net")},
			`<message from="a@example.com/r" to="b@example.net"></message>`},
		{"zero from omitted", envelope{To: MustParse("b@example.net")},
			`<message to="b@example.net"></message>`},
		{"both omitted", envelope{}, `<message></message>`},
		{"escaped", envelope{To: MustParse("b@example.net/<&\">")},
			`<message to="b@example.net/&lt;&amp;&#34;&gt;"></message>`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, err := xml.Marshal(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.xml, string(out))
			var back envelope
			require.NoError(t, xml.Unmarshal(out, &back))
			assert.Equal(t, tc.in.From, back.From)
			assert.Equal(t, tc.in.To, back.To)
		})
	}
}

func TestXMLAttrNormalisesAndRejects(t *testing.T) {
	t.Parallel()
	var e envelope
	require.NoError(t, xml.Unmarshal([]byte(`<message to="B@Example.NET."/>`), &e))
	assert.Equal(t, MustParse("b@example.net"), e.To)

	tests := []struct{ name, xml, msg string }{
		{"empty attribute", `<message from=""/>`, "jid: domainpart is empty"},
		{"bad localpart", `<message from="a&lt;b@example.com"/>`, "jid: localpart contains '<'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var e envelope
			assert.ErrorContains(t, xml.Unmarshal([]byte(tc.xml), &e), tc.msg)
		})
	}
}

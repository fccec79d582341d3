package stanza_test

import (
	"encoding/xml"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/wire"
	"github.com/parleyim/parley/stanza"
)

// The stream reader parses the addresses its stanzas repeat once
// (internal/jidcache): what a stanza decodes to must not depend on the
// stanzas before it. Each stanza of a stream is decoded through one
// reader and alone through encoding/xml's tokens, and the two compared,
// invalid ones (a repeated malformed address) included.
func TestRepeatedAddressesDecodeAlike(t *testing.T) {
	t.Parallel()
	stanzas := []string{
		`<message from='a@example.test/x' to='me@example.test/r' id='1'><body>1</body></message>`,
		`<message from='a@example.test/x' to='me@example.test/r' id='2'><body>2</body></message>`,
		`<presence from='a@example.test/x' to='me@example.test/r' id='3'/>`,
		`<iq from='a@example.test/x' to='me@example.test/r' id='4' type='result'/>`,
		`<message from='A@Example.test/x' to='Me@example.test/r' id='5'/>`,
		`<message from='A@Example.test/x' to='Me@example.test/r' id='6'/>`,
		`<message from='A@Example.test/x' to='Me@example.test/r' id='7'/>`,
		`<message from='@example.test' to='me@example.test/r' id='8'/>`,
		`<message from='@example.test' to='me@example.test/r' id='9'/>`,
		`<message from='a@example.test/x' to='me@example.test/' id='10'/>`,
		`<message from='a@example.test/x' to='me@example.test/' id='11'/>`,
		`<message from='a@example.test/x' id='12'/>`,
		`<message to='me@example.test/r' id='13'/>`,
		`<message from='me@example.test/r' to='a@example.test/x' id='14'/>`,
		`<message from='me@example.test/r' to='a@example.test/x' id='15'/>`,
		`<message from='a@example.test/x' to='me@example.test/r' id='16'/>`,
	}
	stream := rawHeader + strings.Join(stanzas, "") + "</stream:stream>"
	r := wire.NewReader(strings.NewReader(stream), wire.Limits{})
	h, err := r.ReadHeader()
	require.NoError(t, err)
	var got []stanza.Stanza
	for _, s := range stanzas {
		start, err := r.NextElement()
		require.NoError(t, err)
		st, err := stanza.Decoder{Lang: h.Lang}.Decode(r, start)
		want, wantErr := decodeAlone(t, s)
		if wantErr != nil {
			var inv, wantInv *stanza.InvalidError
			require.True(t, errors.As(err, &inv), "%s: %v", s, err)
			require.True(t, errors.As(wantErr, &wantInv))
			assert.Equal(t, wantInv.Header, inv.Header, s)
			assert.Equal(t, wantErr.Error(), err.Error(), s)
			continue
		}
		require.NoError(t, err, s)
		assert.Equal(t, *want.StanzaHeader(), *st.StanzaHeader(), s)
		got = append(got, st)
	}
	assert.Len(t, got, 12)
}

// decodeAlone decodes one stanza with encoding/xml's tokens.
func decodeAlone(t *testing.T, s string) (stanza.Stanza, error) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	tok, err := d.Token()
	require.NoError(t, err)
	start := tok.(xml.StartElement)
	start.Name.Space = stanza.NS
	return stanza.Decoder{Lang: "en"}.Decode(nsReader{d}, start)
}

// nsReader puts the elements of its decoder, which reads stanzas outside
// a stream, in jabber:client.
type nsReader struct{ d *xml.Decoder }

func (r nsReader) Token() (xml.Token, error) {
	tok, err := r.d.Token()
	switch t := tok.(type) {
	case xml.StartElement:
		if t.Name.Space == "" {
			t.Name.Space = stanza.NS
		}
		return t, err
	case xml.EndElement:
		if t.Name.Space == "" {
			t.Name.Space = stanza.NS
		}
		return t, err
	}
	return tok, err
}

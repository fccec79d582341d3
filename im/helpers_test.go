package im

import (
	"bytes"
	"encoding/xml"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/stanza"
)

// streamOpen is the header that fixtures are read inside of.
const streamOpen = `<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`

// decode reads the first stanza in data, inside a stream header, as a
// session's reader would. ok is false when data holds no message that
// decodes.
func decode(data []byte) (*stanza.Message, bool) {
	d := xml.NewDecoder(io.MultiReader(bytes.NewReader([]byte(streamOpen)), bytes.NewReader(data)))
	if _, err := d.Token(); err != nil {
		return nil, false
	}
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, false
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		st, err := stanza.Decoder{}.Decode(d, start)
		if err != nil {
			return nil, false
		}
		m, ok := st.(*stanza.Message)
		return m, ok
	}
}

// mustDecode decodes the message s.
func mustDecode(t testing.TB, s string) *stanza.Message {
	t.Helper()
	m, ok := decode([]byte(s))
	require.True(t, ok, "not a message that decodes: %s", s)
	return m
}

// encode returns m as XML.
func encode(t testing.TB, m *stanza.Message) string {
	t.Helper()
	b, err := m.AppendXML(nil)
	require.NoError(t, err)
	return string(b)
}

// mustRaw parses s as a Raw.
func mustRaw(t testing.TB, s string) *stanza.Raw {
	t.Helper()
	r, err := stanza.ParseRaw([]byte(s))
	require.NoError(t, err)
	return r
}

package privacy

import (
	"bytes"
	"encoding/xml"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/stanza"
)

// render writes a payload with encoding/xml and parses it back as a Raw,
// as it would arrive from the network.
func render(t testing.TB, p stanza.Payload) *stanza.Raw {
	t.Helper()
	raw, err := renderErr(p)
	require.NoError(t, err)
	return raw
}

func renderErr(p stanza.Payload) (*stanza.Raw, error) {
	var buf bytes.Buffer
	enc := xml.NewEncoder(&buf)
	if _, err := p.WriteXML(enc); err != nil {
		return nil, err
	}
	if err := enc.Flush(); err != nil {
		return nil, err
	}
	return stanza.ParseRaw(buf.Bytes())
}

func mustRaw(t testing.TB, s string) *stanza.Raw {
	t.Helper()
	raw, err := stanza.ParseRaw([]byte(s))
	require.NoError(t, err)
	return raw
}

// tokens is a TokenWriter that keeps the tokens.
type tokens struct{ toks []xml.Token }

func (t *tokens) EncodeToken(tok xml.Token) error {
	t.toks = append(t.toks, xml.CopyToken(tok))
	return nil
}

// names lists the elements written: "name" for a start, "/name" for an end.
func (t *tokens) names() []string {
	var out []string
	for _, tok := range t.toks {
		switch tok := tok.(type) {
		case xml.StartElement:
			out = append(out, tok.Name.Local)
		case xml.EndElement:
			out = append(out, "/"+tok.Name.Local)
		}
	}
	return out
}

package roster

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
	var buf bytes.Buffer
	enc := xml.NewEncoder(&buf)
	_, err := p.WriteXML(enc)
	require.NoError(t, err)
	require.NoError(t, enc.Flush())
	raw, err := stanza.ParseRaw(buf.Bytes())
	require.NoError(t, err, "rendered %s", buf.String())
	return raw
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

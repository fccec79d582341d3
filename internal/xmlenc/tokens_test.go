package xmlenc

import (
	"bytes"
	"encoding/xml"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// failAfter is a token writer that fails from its nth token on.
type failAfter struct {
	n    int
	toks []xml.Token
}

var errWrite = errors.New("write failed")

func (f *failAfter) EncodeToken(t xml.Token) error {
	if len(f.toks) == f.n {
		return errWrite
	}
	f.toks = append(f.toks, xml.CopyToken(t))
	return nil
}

func (f *failAfter) Flush() error { return nil }

func TestTokens(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	enc := xml.NewEncoder(&buf)
	tw := Tokens{W: enc}
	q := xml.Name{Space: "urn:x", Local: "q"}
	tw.Start(q, OptAttr(OptAttr(nil, "a", "1"), "b", "")...)
	tw.TextElement(xml.Name{Local: "t"}, "hi")
	tw.TextElement(xml.Name{Local: "e"}, "")
	tw.Empty(xml.Name{Local: "x"})
	tw.End(q)
	require.NoError(t, tw.Err)
	require.NoError(t, enc.Flush())
	assert.Equal(t, 9, tw.N)
	assert.Equal(t, `<q xmlns="urn:x" a="1"><t>hi</t><e></e><x></x></q>`, buf.String())
}

func TestTokensStopAtFirstError(t *testing.T) {
	t.Parallel()
	w := &failAfter{n: 2}
	tw := Tokens{W: w}
	tw.Start(xml.Name{Local: "a"})
	tw.Start(xml.Name{Local: "b"})
	tw.Start(xml.Name{Local: "c"}) // fails
	tw.End(xml.Name{Local: "c"})   // not written
	assert.ErrorIs(t, tw.Err, errWrite)
	assert.Equal(t, 2, tw.N)
	assert.Len(t, w.toks, 2)
}

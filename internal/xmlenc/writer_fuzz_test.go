package xmlenc

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// roundTripDocs are documents whose namespaces the Writer must keep: the
// same names and attributes come back when its output is read again.
var roundTripDocs = []struct{ name, doc string }{
	{"plain", `<a x='1'><b y='2'>t</b></a>`},
	{"prefixed element", `<p:a xmlns:p='urn:p'><p:b/></p:a>`},
	{"declared and made-up prefixes", `<a xmlns:p='urn:p' p:x='1' q:y='2'><b xmlns:q='urn:q' q:z='3' p:w='4'/></a>`},
	{"declaration after use", `<a p:x='1' xmlns:p='urn:b' xmlns:ns1='urn:c' ns1:y='2'/>`},
	{"no namespace below a prefixed element", `<p:a xmlns:p='urn:p' xmlns=''><b><c xmlns='urn:c'><d/></c></b></p:a>`},
	{"rebound prefix", `<a xmlns:p='urn:b' xmlns:r='urn:b'><b xmlns:r='urn:c' p:x='1' r:y='2'/><c r:z='3'/></a>`},
	{"wide attributes", wideDoc(" a%d=''", 40)},
	{"wide declarations", wideDoc(" xmlns:p%d='urn:%d'", 40)},
	{"wide prefixed", wideDoc(" xmlns:p%d='urn:%d' p%d:a='%d'", 20)},
	{"wide undeclared", wideDoc(" q%d:a=''", 40)},
	{"wide generated-looking", wideDoc(" xmlns:ns%d='urn:%d' q%d:a=''", 20)},
	{"wide nested scopes", `<a` + wideAttrs(" xmlns:p%d='urn:u'", 40) + `><b` + wideAttrs(" xmlns:p%d='urn:v'", 40) +
		`><c xmlns:k='urn:u' k:x='1' p3:y='2'/><c p5:x='1'/></b><d p7:x='1'` + wideAttrs(" xmlns:n%d='urn:w%d'", 20) + `/></a>`},
}

// wideAttrs repeats format n times, with every %d replaced by the index.
func wideAttrs(format string, n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(strings.ReplaceAll(format, "%d", strconv.Itoa(i)))
	}
	return b.String()
}

// wideDoc is an element <w> carrying wideAttrs(format, n), inside a
// parent that binds p1 to another namespace.
func wideDoc(format string, n int) string {
	return `<r xmlns:p1='urn:outer'><w` + wideAttrs(format, n) + `/></r>`
}

func TestWriterRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tt := range roundTripDocs {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.True(t, roundTrip(t, []byte(tt.doc)), "refused")
		})
	}
}

// FuzzWriter writes what encoding/xml reads through a Writer: the output
// reads back with the same element names and the same attributes, and
// writing it again gives the same bytes.
func FuzzWriter(f *testing.F) {
	for _, tt := range roundTripDocs {
		f.Add([]byte(tt.doc))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		roundTrip(t, data)
	})
}

// roundTrip checks data as FuzzWriter says, inside a default namespace. It
// reports false when encoding/xml or the Writer refuses data.
func roundTrip(t *testing.T, data []byte) bool {
	t.Helper()
	const def = "urn:default"
	in, err := readTokens(data, def)
	if err != nil {
		return false
	}
	w := Writer{Default: def}
	for _, tok := range in {
		if err = w.EncodeToken(tok); err != nil {
			break
		}
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		return false
	}
	out, err := readTokens(w.B, def)
	require.NoError(t, err, "reading back %s", w.B)
	assert.Equal(t, meaning(in), meaning(out), "%s", w.B)

	again := Writer{Default: def}
	for _, tok := range out {
		require.NoError(t, again.EncodeToken(tok), "writing again %s", w.B)
	}
	require.NoError(t, again.Close())
	assert.Equal(t, string(w.B), string(again.B), "written twice")
	return true
}

// readTokens reads data as one element inside an element that makes def
// the default namespace, and returns the element's tokens (copies).
func readTokens(data []byte, def string) ([]xml.Token, error) {
	d := xml.NewDecoder(io.MultiReader(strings.NewReader("<root xmlns='"+def+"'>"), bytes.NewReader(data), strings.NewReader("</root>")))
	d.Strict = true
	if _, err := d.Token(); err != nil {
		return nil, err
	}
	var toks []xml.Token
	depth, elems := 0, 0
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				elems++
			}
		case xml.EndElement:
			if depth == 0 {
				if elems != 1 {
					return nil, errors.New("not one element")
				}
				return toks, nil
			}
			depth--
		case xml.CharData:
			if depth == 0 {
				continue
			}
		case xml.Comment:
			continue
		default:
			return nil, errors.New("markup the Writer refuses")
		}
		toks = append(toks, xml.CopyToken(tok))
	}
}

// meaning returns tokens with namespace declarations left out and
// adjacent text merged: what must survive the Writer.
func meaning(toks []xml.Token) []xml.Token {
	var out []xml.Token
	for _, tok := range toks {
		switch t := tok.(type) {
		case xml.StartElement:
			s := xml.StartElement{Name: t.Name}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue
				}
				s.Attr = append(s.Attr, a)
			}
			out = append(out, s)
		case xml.CharData:
			if n := len(out); n > 0 {
				if prev, ok := out[n-1].(xml.CharData); ok {
					out[n-1] = append(prev[:len(prev):len(prev)], t...)
					continue
				}
			}
			out = append(out, t)
		default:
			out = append(out, tok)
		}
	}
	return out
}

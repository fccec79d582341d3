package xmlenc

import (
	"bytes"
	"encoding/xml"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzEscape checks that escaped text and attribute values read back
// exactly with encoding/xml, that only invalid input is refused, and that
// AppendEscaped always writes an attribute value that parses (and reads
// back exactly when the input is valid).
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "a&b", "<'\">", "a\r\nb\tc\rd", "\x00", "\uFFFE", "\xff", "日本語", "]]>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		valid := Valid(s) == nil
		var v struct {
			A string `xml:"a,attr"`
		}
		doc := append(AppendEscaped([]byte("<x a='"), s), "'/>"...)
		require.NoError(t, xml.Unmarshal(doc, &v), "%s", doc)
		if valid {
			assert.Equal(t, s, v.A, "%s", doc)
		}
		text, errText := AppendText([]byte("<a"), "")
		require.NoError(t, errText)
		text, errAttr := AppendAttr(text, "v", s)
		text = append(text, '>')
		text, errText = AppendText(text, s)
		text = append(text, "</a>"...)
		assert.Equal(t, valid, errText == nil, "text error %v", errText)
		assert.Equal(t, valid, errAttr == nil, "attribute error %v", errAttr)
		if !valid {
			return
		}
		d := xml.NewDecoder(bytes.NewReader(text))
		tok, err := d.Token()
		require.NoError(t, err, "%s", text)
		start := tok.(xml.StartElement)
		require.Len(t, start.Attr, 1)
		assert.Equal(t, s, start.Attr[0].Value, "%s", text)
		var got []byte
		for {
			tok, err := d.Token()
			require.NoError(t, err, "%s", text)
			if cd, ok := tok.(xml.CharData); ok {
				got = append(got, cd...)
				continue
			}
			break
		}
		assert.Equal(t, s, string(got), "%s", text)
	})
}

package xmlenc

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStartAttrText(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr error
		attr    string
		hasAttr bool
		text    string
		textErr error
	}{
		{name: "attribute and text", in: `<a x='1' p:x='2' xmlns:p='urn:p'>hi <b>there</b>!</a>`, attr: "1", hasAttr: true, text: "hi there!"},
		{name: "only a prefixed attribute", in: `<a p:x='2' xmlns:p='urn:p'/>`},
		{name: "empty value", in: `<a x=''>t</a>`, hasAttr: true, text: "t"},
		{name: "cut short", in: `<a x='1'>hi <b>`, attr: "1", hasAttr: true, textErr: io.ErrUnexpectedEOF},
		{name: "text first", in: `hi<a/>`, wantErr: ErrNoStart},
		{name: "nothing", in: ``, wantErr: io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &tokensUntilError{d: xml.NewDecoder(strings.NewReader(tt.in))}
			start, err := Start(d)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			v, ok := Attr(start, "x")
			assert.Equal(t, tt.attr, v)
			assert.Equal(t, tt.hasAttr, ok)
			text, err := Text(d)
			if tt.textErr != nil {
				require.ErrorIs(t, err, tt.textErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.text, text)
			_, err = d.Token()
			assert.ErrorIs(t, err, io.EOF, "Text reads through the end and no further")
		})
	}
}

// tokensUntilError reads d's tokens and reports io.EOF where d fails, as
// a token stream that ends mid-element does (stanza.Raw's reader at the
// end of its bytes).
type tokensUntilError struct{ d *xml.Decoder }

func (r *tokensUntilError) Token() (xml.Token, error) {
	tok, err := r.d.Token()
	if err != nil {
		return nil, io.EOF
	}
	return tok, nil
}

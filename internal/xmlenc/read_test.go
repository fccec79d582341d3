package xmlenc

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"mellium.im/xmlstream"
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

func TestEachChild(t *testing.T) {
	errStop := errors.New("stop")
	tests := []struct {
		name    string
		in      string
		stopAt  string // fn returns errStop at the child of this name
		want    []string
		wantErr error
	}{
		{name: "no children", in: `<a>text</a>`},
		{name: "empty element", in: `<a/>`},
		{name: "children and text between", in: `<a>x<b n='1'/>y<c><d/></c>z</a>`, want: []string{"b", "c"}},
		{name: "namespaced child", in: `<a><p:b xmlns:p='urn:p'/></a>`, want: []string{"urn:p b"}},
		{name: "fn error stops the walk", in: `<a><b/><c/><d/></a>`, stopAt: "c", want: []string{"b", "c"}, wantErr: errStop},
		{name: "cut short after a child", in: `<a><b/>`, want: []string{"b"}, wantErr: io.ErrUnexpectedEOF},
		// fn's error (here xmlstream.Skip's) comes back as it is.
		{name: "cut short in a child", in: `<a><b><c>`, want: []string{"b"}, wantErr: io.EOF},
		{name: "cut short before any child", in: `<a>`, wantErr: io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &tokensUntilError{d: xml.NewDecoder(strings.NewReader(tt.in))}
			_, err := Start(d)
			require.NoError(t, err)
			var got []string
			err = EachChild(d, func(child xml.StartElement) error {
				name := child.Name.Local
				if child.Name.Space != "" {
					name = child.Name.Space + " " + name
				}
				got = append(got, name)
				if v, ok := Attr(child, "n"); ok {
					assert.Equal(t, "1", v, "the child's attributes are passed")
				}
				if name == tt.stopAt {
					return errStop
				}
				return xmlstream.Skip(d)
			})
			assert.Equal(t, tt.want, got)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			_, err = d.Token()
			assert.ErrorIs(t, err, io.EOF, "EachChild reads through the end and no further")
		})
	}
}

// TestEachChildCopies checks that the start element given to fn is a
// copy: a reader that reuses its tokens does not change what fn kept.
func TestEachChildCopies(t *testing.T) {
	d := xml.NewDecoder(strings.NewReader(`<a><b x='1'/><c x='2'/></a>`))
	_, err := Start(d)
	require.NoError(t, err)
	var kept []xml.StartElement
	err = EachChild(d, func(child xml.StartElement) error {
		kept = append(kept, child)
		return xmlstream.Skip(d)
	})
	require.NoError(t, err)
	require.Len(t, kept, 2)
	v, _ := Attr(kept[0], "x")
	assert.Equal(t, "1", v)
}

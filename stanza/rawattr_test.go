package stanza

import (
	"encoding/xml"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// oldAttr is Raw.Attr as it was before the start tag was scanned: the
// first token read with encoding/xml. The new one must agree with it on
// every Raw.
func oldAttr(r *Raw, local string) string {
	tok, err := r.TokenReader().Token()
	if err != nil {
		return ""
	}
	start, _ := tok.(xml.StartElement)
	for _, a := range start.Attr {
		if a.Name.Space == "" && a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// checkAttr checks that Attr gives want, as oldAttr does.
func checkAttr(t *testing.T, r *Raw, local, want string) {
	t.Helper()
	assert.Equal(t, want, r.Attr(local), "Attr(%q) of %s", local, r)
	assert.Equal(t, want, oldAttr(r, local), "oldAttr(%q) of %s", local, r)
}

func TestRawAttrCases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, xml string
		want      map[string]string // attribute: value; "" for absent
	}{
		{"plain", `<origin-id xmlns='urn:xmpp:sid:0' id='ktx72v49'/>`,
			map[string]string{"id": "ktx72v49", "by": "", "origin-id": ""}},
		{"entities", `<x xmlns='u' a='R&amp;J' b='&lt;&gt;' c='it&apos;s' d='&quot;q&quot;' e="'"/>`,
			map[string]string{"a": "R&J", "b": "<>", "c": "it's", "d": `"q"`, "e": "'"}},
		{"character references", `<x xmlns='u' t='a&#9;b' n='a&#xA;b' r='a&#xD;b' all='&#x9;&#10;&#13;&#x41;&#x10FFFF;'/>`,
			map[string]string{"t": "a\tb", "n": "a\nb", "r": "a\rb", "all": "\t\n\rA\U0010FFFF"}},
		{"normalised line ends", "<x xmlns='u' a='1\r\n2\r3'/>",
			map[string]string{"a": "1\n2\n3"}},
		{"non-ASCII value", `<x xmlns='u' a='Nejsi Romeo? ☂ 𝄞'/>`,
			map[string]string{"a": "Nejsi Romeo? ☂ 𝄞"}},
		{"empty values", `<x xmlns='u' a='' b="" c='x'/>`,
			map[string]string{"a": "", "b": "", "c": "x"}},
		{"prefixed with the same local name", `<x xmlns='u' xmlns:p='urn:p' p:id='not this' id='this'/>`,
			map[string]string{"id": "this", "p:id": ""}},
		{"only a prefixed one", `<x xmlns='u' xmlns:p='urn:p' p:id='not this' xml:lang='en'/>`,
			map[string]string{"id": "", "lang": "", "xml:lang": ""}},
		{"prefixed after", `<x xmlns='u' id='this' xmlns:p='urn:p' p:id='not this'/>`,
			map[string]string{"id": "this"}},
		{"declarations", `<x xmlns='urn:x' xmlns:p='urn:p' p:a='1'/>`,
			map[string]string{"xmlns": "", "p": "", "a": ""}},
		{"no namespace", `<x xmlns='' a='1'/>`,
			map[string]string{"xmlns": "", "a": "1"}},
		{"attributes of children", `<x xmlns='u' a='top'><y id='child' a='child'/><z xmlns='v' b='2'>text</z></x>`,
			map[string]string{"a": "top", "id": "", "b": ""}},
		{"end tag", `<x xmlns='u'>text</x>`,
			map[string]string{"x": "", "xmlns": ""}},
		{"names with punctuation", `<x.y-z_1 xmlns='u' a.b-c_2='1' _='2'/>`,
			map[string]string{"a.b-c_2": "1", "_": "2", "a": ""}},
		{"non-ASCII names", `<příliš xmlns='u' žluťoučký='kůň' id='1'/>`,
			map[string]string{"žluťoučký": "kůň", "id": "1"}},
		{"element named xmlns", `<xmlns xmlns='urn:x' a='1'/>`,
			map[string]string{"xmlns": "urn:x", "a": "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := mustRaw(t, tt.xml)
			for local, want := range tt.want {
				checkAttr(t, r, local, want)
			}
			checkAttr(t, r, "", "")
			checkAttr(t, r, "absent", "")
		})
	}
}

// TestRawAttrZero checks the zero Raw.
func TestRawAttrZero(t *testing.T) {
	t.Parallel()
	checkAttr(t, &Raw{}, "id", "")
	checkAttr(t, &Raw{}, "xmlns", "")
}

// TestRawAttrFifthEditionNames checks an element whose names xmlenc's
// Writer accepts (XML 1.0, fifth edition) and encoding/xml's Decoder does
// not: Attr falls back on the Decoder, and gives what it always gave.
func TestRawAttrFifthEditionNames(t *testing.T) {
	t.Parallel()
	for _, start := range []xml.StartElement{
		{Name: xml.Name{Space: "u", Local: "\U00010000"}, Attr: []xml.Attr{{Name: xml.Name{Local: "id"}, Value: "1"}}},
		{Name: xml.Name{Space: "u", Local: "x"}, Attr: []xml.Attr{{Name: xml.Name{Local: "id"}, Value: "1"}, {Name: xml.Name{Local: "\U00010000"}, Value: "2"}}},
	} {
		r, err := ReadRaw(readerFunc(func() (xml.Token, error) { return xml.EndElement{Name: start.Name}, nil }), start)
		require.NoError(t, err)
		_, ok := scanAttr(r.data, "id")
		assert.False(t, ok, "scanAttr took on %s", r)
		checkAttr(t, r, "id", oldAttr(r, "id"))
		checkAttr(t, r, "\U00010000", oldAttr(r, "\U00010000"))
	}
}

// TestScanAttrRefuses checks that scanAttr gives up on start tags that
// the Writer does not write, so that Attr reads them with encoding/xml.
func TestScanAttrRefuses(t *testing.T) {
	t.Parallel()
	for _, data := range []string{
		`x`,
		`<`,
		`<x`,
		`<x a='1'`,
		`<x a='1`,
		`<x  a='1'>`,
		`<x a="1">`,
		`<x a = '1'>`,
		`<x a>`,
		`<x a='1'/ >`,
		`<p:x a='1'>`,
		`<1x a='1'>`,
		`<x 1a='1'>`,
		`<x :a='1'>`,
		`<x a:='1'>`,
		`<x a:b:c='1'>`,
		`<x a='1' a='2'>`,
		`<x xmlns:p='' p:a='1'>`,
		`<x a='&#65;'>`,
		`<x a='&amp'>`,
		`<x a='&unknown;'>`,
		"<x a='1'\t>",
		`<x a='é' é='1'>`,
	} {
		_, ok := scanAttr(data, "a")
		assert.False(t, ok, "scanAttr took on %s", data)
	}
	_, ok := scanAttr(`<x a='1'>`, "xmlns")
	assert.False(t, ok, "scanAttr took on local xmlns")
}

// TestRawAttrAllocs checks that a value without references costs no
// allocation, and one with references a single one.
func TestRawAttrAllocs(t *testing.T) {
	r := mustRaw(t, `<stanza-id xmlns='urn:xmpp:sid:0' by='room@muc.example' id='5f3dbc5e-e1d3-4077-a492-693f3769c7ad'/>`)
	e := mustRaw(t, `<x xmlns='u' a='R&amp;J'/>`)
	var v string
	assert.Zero(t, testing.AllocsPerRun(100, func() { v = r.Attr("id") }))
	assert.Equal(t, "5f3dbc5e-e1d3-4077-a492-693f3769c7ad", v)
	assert.Zero(t, testing.AllocsPerRun(100, func() { v = r.Attr("absent") }))
	assert.Equal(t, 1.0, testing.AllocsPerRun(100, func() { v = e.Attr("a") }))
	assert.Equal(t, "R&J", v)
}

// TestRawAttrSharing checks that a value shares the element's memory
// only when the element is small.
func TestRawAttrSharing(t *testing.T) {
	t.Parallel()
	inside := func(r *Raw, v string) bool {
		p, start := uintptr(unsafe.Pointer(unsafe.StringData(v))), uintptr(unsafe.Pointer(unsafe.StringData(r.data)))
		return p >= start && p < start+uintptr(len(r.data))
	}
	small := mustRaw(t, `<x xmlns='u' id='abc'/>`)
	assert.True(t, inside(small, small.Attr("id")))
	big := mustRaw(t, `<x xmlns='u' id='abc'>`+strings.Repeat("y", maxSharedAttr)+`</x>`)
	v := big.Attr("id")
	assert.Equal(t, "abc", v)
	assert.False(t, inside(big, v), "a value of a big element keeps it alive")
}

// BenchmarkRawAttr reads attributes of a stanza-id, as im does, with
// encoding/xml ("decoder", the former Attr) and with Attr.
func BenchmarkRawAttr(b *testing.B) {
	r, err := ParseRaw([]byte(`<stanza-id xmlns='urn:xmpp:sid:0' by='room@muc.example' id='5f3dbc5e-e1d3-4077-a492-693f3769c7ad'/>`))
	require.NoError(b, err)
	e, err := ParseRaw([]byte(`<x xmlns='u' a='Romeo &amp; Juliet'/>`))
	require.NoError(b, err)
	for _, bc := range []struct {
		name string
		attr func(*Raw, string) string
	}{{"decoder", oldAttr}, {"Attr", (*Raw).Attr}} {
		b.Run(bc.name+"/id", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if bc.attr(r, "id") == "" {
					b.Fatal("no id")
				}
			}
		})
		b.Run(bc.name+"/escaped", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if bc.attr(e, "a") == "" {
					b.Fatal("no a")
				}
			}
		})
		b.Run(bc.name+"/absent", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if bc.attr(r, "absent") != "" {
					b.Fatal("absent found")
				}
			}
		})
	}
}

// attrNames returns the local names of the attributes of data's first
// start tag, as written (prefixed ones too), and its name.
func attrNames(data string) []string {
	tok, err := xml.NewDecoder(strings.NewReader(data)).RawToken()
	if err != nil {
		return nil
	}
	start, ok := tok.(xml.StartElement)
	if !ok {
		return nil
	}
	names := []string{start.Name.Local}
	for _, a := range start.Attr {
		names = append(names, a.Name.Local)
		if a.Name.Space != "" {
			names = append(names, a.Name.Space+":"+a.Name.Local)
		}
	}
	return names
}

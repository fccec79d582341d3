package xmlenc

import (
	"encoding/xml"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/ns"
)

func start(space, local string, attrs ...xml.Attr) xml.StartElement {
	return xml.StartElement{Name: xml.Name{Space: space, Local: local}, Attr: attrs}
}

func end(space, local string) xml.EndElement {
	return xml.EndElement{Name: xml.Name{Space: space, Local: local}}
}

func attr(space, local, value string) xml.Attr {
	return xml.Attr{Name: xml.Name{Space: space, Local: local}, Value: value}
}

func TestWriter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		def     string
		toks    []xml.Token
		want    string
		wantErr string
	}{
		{
			name: "root always declares",
			def:  "jabber:client",
			toks: []xml.Token{start("jabber:client", "x"), end("jabber:client", "x")},
			want: `<x xmlns='jabber:client'/>`,
		},
		{
			name: "empty space inherits",
			def:  "jabber:client",
			toks: []xml.Token{start("urn:a", "q"), start("", "item", attr("", "jid", "a@b")), xml.CharData("t"), end("", "item"), end("urn:a", "q")},
			want: `<q xmlns='urn:a'><item jid='a@b'>t</item></q>`,
		},
		{
			name: "resolved child in same namespace",
			toks: []xml.Token{start("urn:a", "q"), start("urn:a", "i"), end("urn:a", "i"), end("urn:a", "q")},
			want: `<q xmlns='urn:a'><i/></q>`,
		},
		{
			name: "child in other namespace",
			toks: []xml.Token{start("urn:a", "q"), start("urn:b", "i"), end("urn:b", "i"), end("urn:a", "q")},
			want: `<q xmlns='urn:a'><i xmlns='urn:b'/></q>`,
		},
		{
			name: "explicit empty namespace",
			toks: []xml.Token{start("urn:a", "q"), start("", "i", attr("", "xmlns", "")), end("", "i"), end("urn:a", "q")},
			want: `<q xmlns='urn:a'><i xmlns=''/></q>`,
		},
		{
			name: "prefixed attribute gets a declaration",
			toks: []xml.Token{start("urn:a", "q", attr("urn:b", "x", "1"), attr(ns.XML, "lang", "en")), end("urn:a", "q")},
			want: `<q xmlns='urn:a' xmlns:ns1='urn:b' ns1:x='1' xml:lang='en'/>`,
		},
		{
			name: "declared prefix reused",
			toks: []xml.Token{start("urn:a", "q", attr("xmlns", "b", "urn:b")), start("urn:a", "i", attr("urn:b", "x", "1")), end("urn:a", "i"), end("urn:a", "q")},
			want: `<q xmlns='urn:a' xmlns:b='urn:b'><i b:x='1'/></q>`,
		},
		{
			name: "declaration after the attribute that uses it",
			toks: []xml.Token{start("urn:a", "q", attr("urn:b", "x", "1"), attr("xmlns", "b", "urn:b")), end("urn:a", "q")},
			want: `<q xmlns='urn:a' xmlns:b='urn:b' b:x='1'/>`,
		},
		{
			name: "made-up prefix avoids the element's own declarations",
			toks: []xml.Token{start("urn:a", "q", attr("urn:b", "x", "1"), attr("xmlns", "ns1", "urn:c")), end("urn:a", "q")},
			want: `<q xmlns='urn:a' xmlns:ns1='urn:c' xmlns:ns2='urn:b' ns2:x='1'/>`,
		},
		{
			name: "prefix rebound by the element is not used",
			toks: []xml.Token{
				start("urn:a", "q", attr("xmlns", "p", "urn:b")),
				start("urn:a", "i", attr("urn:b", "x", "1"), attr("xmlns", "p", "urn:c")), end("urn:a", "i"),
				end("urn:a", "q"),
			},
			want: `<q xmlns='urn:a' xmlns:p='urn:b'><i xmlns:p='urn:c' xmlns:ns1='urn:b' ns1:x='1'/></q>`,
		},
		{
			name: "made-up declarations before other attributes",
			toks: []xml.Token{start("urn:a", "q", attr("", "a", "1"), attr("urn:b", "x", "2"), attr("urn:c", "y", "3")), end("urn:a", "q")},
			want: `<q xmlns='urn:a' xmlns:ns1='urn:b' xmlns:ns2='urn:c' a='1' ns1:x='2' ns2:y='3'/>`,
		},
		{
			name: "one prefix per namespace",
			toks: []xml.Token{start("urn:a", "q", attr("urn:b", "x", "1"), attr("urn:b", "y", "2")), end("urn:a", "q")},
			want: `<q xmlns='urn:a' xmlns:ns1='urn:b' ns1:x='1' ns1:y='2'/>`,
		},
		{
			name: "older binding shadowed in part",
			toks: []xml.Token{
				start("urn:a", "q", attr("xmlns", "p", "urn:b"), attr("xmlns", "r", "urn:b")),
				start("urn:a", "i", attr("xmlns", "r", "urn:c"), attr("urn:b", "x", "1")), end("urn:a", "i"),
				end("urn:a", "q"),
			},
			want: `<q xmlns='urn:a' xmlns:p='urn:b' xmlns:r='urn:b'><i xmlns:r='urn:c' xmlns:ns1='urn:b' ns1:x='1'/></q>`,
		},
		{
			name: "no namespace below a prefixed element",
			toks: []xml.Token{start("urn:p", "a", attr("xmlns", "p", "urn:p"), attr("", "xmlns", "")), start("", "b"), start("", "c"), end("", "c"), end("", "b"), end("urn:p", "a")},
			want: `<a xmlns='urn:p' xmlns:p='urn:p'><b xmlns=''><c/></b></a>`,
		},
		{
			name: "comment dropped",
			toks: []xml.Token{start("urn:a", "q"), xml.Comment("c"), end("urn:a", "q")},
			want: `<q xmlns='urn:a'/>`,
		},
		{
			name: "whitespace outside dropped",
			toks: []xml.Token{xml.CharData(" \n"), start("urn:a", "q"), end("urn:a", "q")},
			want: `<q xmlns='urn:a'/>`,
		},
		{name: "proc inst", toks: []xml.Token{xml.ProcInst{Target: "x"}}, wantErr: "processing instruction"},
		{name: "directive", toks: []xml.Token{start("u", "q"), xml.Directive("DOCTYPE")}, wantErr: "directive"},
		{name: "bad element name", toks: []xml.Token{start("u", "a b")}, wantErr: "invalid element name"},
		{name: "injected name", toks: []xml.Token{start("u", "a><script")}, wantErr: "invalid element name"},
		{name: "bad attribute name", toks: []xml.Token{start("u", "a", attr("", "x='1'", "v"))}, wantErr: "invalid attribute name"},
		{name: "duplicate attribute", toks: []xml.Token{start("u", "a", attr("", "x", "1"), attr("", "x", "2"))}, wantErr: "duplicate"},
		{name: "duplicate namespaced attribute", toks: []xml.Token{start("u", "a", attr("urn:b", "x", "1"), attr("urn:b", "x", "2"))}, wantErr: "duplicate"},
		{name: "duplicate xml:lang", toks: []xml.Token{start("u", "a", attr("xml", "lang", "en"), attr(ns.XML, "lang", "de"))}, wantErr: "duplicate"},
		{name: "duplicate declaration", toks: []xml.Token{start("u", "a", attr("xmlns", "p", "urn:b"), attr("xmlns", "p", "urn:c"))}, wantErr: "duplicate"},
		{name: "duplicate in a wide element", toks: []xml.Token{wideStart(scanMax+10, attr("", "a3", "again"))}, wantErr: `duplicate attribute "a3"`},
		{name: "duplicate xml:lang in a wide element", toks: []xml.Token{wideStart(scanMax+10, attr("xml", "lang", "en"), attr(ns.XML, "lang", "de"))}, wantErr: "duplicate"},
		{name: "bad text", toks: []xml.Token{start("u", "a"), xml.CharData("\x00")}, wantErr: "not allowed"},
		{name: "bad attribute value", toks: []xml.Token{start("u", "a", attr("", "x", "\uFFFF"))}, wantErr: "not allowed"},
		{name: "text outside", toks: []xml.Token{xml.CharData("x")}, wantErr: "outside"},
		{name: "end without start", toks: []xml.Token{end("u", "a")}, wantErr: "without start"},
		{name: "mismatched end", toks: []xml.Token{start("u", "a"), end("u", "b")}, wantErr: "does not match"},
		{name: "unclosed", toks: []xml.Token{start("u", "a")}, wantErr: "not closed"},
		{name: "empty prefix declaration", toks: []xml.Token{start("u", "a", attr("xmlns", "p", ""))}, wantErr: "namespace declaration"},
		{name: "xmlns prefix declared", toks: []xml.Token{start("u", "a", attr("xmlns", "xmlns", "urn:x"))}, wantErr: "namespace declaration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := Writer{Default: tt.def}
			var err error
			for _, tok := range tt.toks {
				if err = w.EncodeToken(tok); err != nil {
					break
				}
			}
			if err == nil {
				err = w.Close()
			}
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.Error(t, w.EncodeToken(xml.CharData("x")), "errors are sticky")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(w.B))
		})
	}
}

// TestWriterDeep checks that depth costs no recursion.
func TestWriterDeep(t *testing.T) {
	t.Parallel()
	const depth = 100000
	w := Writer{}
	for range depth {
		require.NoError(t, w.EncodeToken(start("u", "a")))
	}
	assert.Equal(t, depth, w.Depth())
	for range depth {
		require.NoError(t, w.EncodeToken(end("u", "a")))
	}
	require.NoError(t, w.Close())
	assert.True(t, strings.HasPrefix(string(w.B), "<a xmlns='u'><a><a>"))
}

// wideStart returns a start element with n attributes a0, a1, … followed
// by extra.
func wideStart(n int, extra ...xml.Attr) xml.StartElement {
	s := start("u", "a")
	for i := range n {
		s.Attr = append(s.Attr, attr("", "a"+strconv.Itoa(i), ""))
	}
	s.Attr = append(s.Attr, extra...)
	return s
}

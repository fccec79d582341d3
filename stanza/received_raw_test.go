package stanza_test

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/wire"
	"github.com/parleyim/parley/stanza"
)

// Received Raws: extensions decoded from the wire.Reader's nodes keep
// their bytes as received, with the declarations they inherit added to
// their start tag. Each must stand on its own: its String parse alone
// (no undeclared prefix, no attribute twice) to the tokens its
// TokenReader gives, which are those the token path (stanza.Decoder
// over encoding/xml) gives, and it must survive being sent again.

const rawHeader = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' xmlns:h='urn:header' version='1.0' xml:lang='en'>"

// decodeTree decodes the stanza in stream (a header, one stanza) through
// wire.Reader, whose nodes the decoder reads.
func decodeTree(t *testing.T, stream string) stanza.Stanza {
	t.Helper()
	r := wire.NewReader(strings.NewReader(stream), wire.Limits{})
	h, err := r.ReadHeader()
	require.NoError(t, err)
	start, err := r.NextElement()
	require.NoError(t, err)
	st, err := stanza.Decoder{Lang: h.Lang}.Decode(r, start)
	require.NoError(t, err)
	return st
}

// decodeTokens decodes the same with encoding/xml's tokens.
func decodeTokens(t *testing.T, stream string) stanza.Stanza {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(stream))
	var start xml.StartElement
	for depth := 0; depth < 2; {
		tok, err := d.Token()
		require.NoError(t, err)
		if s, ok := tok.(xml.StartElement); ok {
			start = s
			depth++
		}
	}
	st, err := stanza.Decoder{Lang: "en"}.Decode(d, start)
	require.NoError(t, err)
	return st
}

// extensions returns a message's or a presence's extensions, or an iq's
// payload, as Raws.
func extensions(t *testing.T, st stanza.Stanza) []*stanza.Raw {
	t.Helper()
	var ps []stanza.Payload
	switch s := st.(type) {
	case *stanza.Message:
		ps = s.Extensions
	case *stanza.Presence:
		ps = s.Extensions
	case *stanza.IQ:
		ps = []stanza.Payload{s.Payload}
	}
	var raws []*stanza.Raw
	for _, p := range ps {
		r, ok := p.(*stanza.Raw)
		require.True(t, ok, "payload %T", p)
		raws = append(raws, r)
	}
	return raws
}

// tokenString is a token in a comparable form.
func tokenString(tok xml.Token) string {
	switch tok := tok.(type) {
	case xml.StartElement:
		return fmt.Sprintf("<{%s}%s %v>", tok.Name.Space, tok.Name.Local, tok.Attr)
	case xml.EndElement:
		return fmt.Sprintf("</{%s}%s>", tok.Name.Space, tok.Name.Local)
	case xml.CharData:
		return fmt.Sprintf("%q", string(tok))
	}
	return fmt.Sprintf("%T", tok)
}

// readerTokens reads tr to its end.
func readerTokens(t *testing.T, tr xml.TokenReader) []string {
	t.Helper()
	var out []string
	for {
		tok, err := tr.Token()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		out = append(out, tokenString(tok))
	}
}

// standalone parses s, one element, alone with encoding/xml (strictly),
// and returns its tokens without the namespace declarations; it fails
// the test where s uses a prefix it does not declare or has an
// attribute twice, which encoding/xml does not check.
func standalone(t *testing.T, s string) []string {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	var out []string
	declared := []map[string]bool{{"xml": true}}
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "%s", s)
		switch tok := tok.(type) {
		case xml.StartElement:
			scope := map[string]bool{}
			for p := range declared[len(declared)-1] {
				scope[p] = true
			}
			seen := map[xml.Name]bool{}
			for _, a := range tok.Attr {
				require.False(t, seen[a.Name], "attribute %v twice in %s", a.Name, s)
				seen[a.Name] = true
				if a.Name.Space == "xmlns" {
					scope[a.Name.Local] = true
				}
			}
			declared = append(declared, scope)
			if tok.Name.Space != "" {
				require.True(t, scope[tok.Name.Space], "prefix %s undeclared in %s", tok.Name.Space, s)
			}
			for _, a := range tok.Attr {
				if a.Name.Space != "" && a.Name.Space != "xmlns" {
					require.True(t, scope[a.Name.Space], "prefix %s undeclared in %s", a.Name.Space, s)
				}
			}
		case xml.EndElement:
			declared = declared[:len(declared)-1]
		}
	}
	// Again, resolving names, leaving out declarations as TokenReader does.
	d = xml.NewDecoder(strings.NewReader(s))
	d.Strict = true
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		switch tt := tok.(type) {
		case xml.StartElement:
			var attrs []xml.Attr
			for _, a := range tt.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns" && tt.Name.Space != "") {
					continue
				}
				attrs = append(attrs, a)
			}
			tt.Attr = attrs
			tok = tt
		case xml.CharData, xml.EndElement:
		default:
			continue
		}
		out = append(out, tokenString(tok))
	}
}

// attrsOf returns the attributes in no namespace of a Raw's start tag, as
// its tokens give them.
func attrsOf(t *testing.T, r *stanza.Raw) []xml.Attr {
	t.Helper()
	tok, err := r.TokenReader().Token()
	require.NoError(t, err)
	var out []xml.Attr
	for _, a := range tok.(xml.StartElement).Attr {
		if a.Name.Space == "" && a.Name.Local != "xmlns" {
			out = append(out, a)
		}
	}
	return out
}

func TestReceivedRawStandsAlone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, stanza string
		raws         int
	}{
		{"unknown child in jabber:client", "<message to='a@b'><foo a='1'><bar>t</bar></foo></message>", 1},
		{"prefixed, declared on the stanza", "<message xmlns:p='urn:p'><p:x p:a='1'><p:y/></p:x></message>", 1},
		{"the stream header's prefix", "<message><h:x h:a='1' b='2'><h:y/><z/></h:x></message>", 1},
		{"the stream prefix", "<message><stream:x a='1'/></message>", 1},
		{"default namespace redeclared inside", "<message><x xmlns='urn:x'><y xmlns='urn:y' a='1'><z/></y><w/></x></message>", 1},
		{"default namespace undeclared inside", "<message><x xmlns='urn:x'><y xmlns=''><z/></y></x></message>", 1},
		{"unknown child undeclaring inside", "<message><foo><bar xmlns=''/></foo></message>", 1},
		{"xml:lang", "<message><x xmlns='urn:x' xml:lang='de'><y xml:lang='fr'>t</y></x></message>", 1},
		{"a prefix redeclared within", "<message xmlns:p='urn:a'><p:x p:b='0'><p:y xmlns:p='urn:b' p:z='1'><p:v/></p:y><p:w p:c='2'/></p:x></message>", 1},
		{"the raw's own prefix redeclared within", "<message><p:x xmlns:p='urn:a'><p:y xmlns:p='urn:b'/></p:x></message>", 1},
		{"an outer prefix and the default", "<message xmlns:p='urn:p'><x xmlns='urn:x' p:a='1'><p:y/></x></message>", 1},
		{"two bound to one namespace", "<message xmlns:p='urn:p' xmlns:q='urn:p'><x xmlns='urn:x' p:a='1' q:b='2'><q:y/></x></message>", 1},
		{"nested stanza-level declarations", "<message xmlns:p='urn:p'><body>hi</body><p:x/><q:y xmlns:q='urn:q'><p:z/></q:y><x xmlns='urn:x'/></message>", 3},
		{"iq payload with a header prefix", "<iq type='set' id='1'><h:q><h:item h:jid='a@b'/></h:q></iq>", 1},
		{"error condition with an outer prefix", "<message type='error' xmlns:p='urn:p'><error type='cancel'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><p:app p:a='1'/></error></message>", 0},
		{"the xml prefix declared", "<message xmlns:xml='http://www.w3.org/XML/1998/namespace'><x xmlns='urn:x' xml:lang='de'/></message>", 1},
		{"the stream prefix rebound on the stanza", "<message xmlns:stream='urn:other'><stream:x stream:a='1'/></message>", 1},
		{"the default rebound on the stanza", "<message xmlns='jabber:client' xmlns:c='jabber:client'><foo c:a='1'><c:bar/></foo></message>", 1},
		{"a declaration with a reference", "<message xmlns:p='urn:a&amp;b'><p:x/></message>", 1},
		{"a deep extension using outer prefixes at every level", "<message xmlns:a='urn:a' xmlns:b='urn:b'><a:x><b:y a:k='1'><a:z b:k='2'/></b:y></a:x></message>", 1},
		{"text with references", "<message><x xmlns='urn:x' a='&lt;&amp;'>&lt;b&gt;&#x20AC;</x></message>", 1},
	}
	// Many outer declarations used (past the scan, a set is used).
	var decls, uses strings.Builder
	for i := range 40 {
		fmt.Fprintf(&decls, " xmlns:p%d='urn:%d'", i, i%7)
		fmt.Fprintf(&uses, "<p%d:y p%d:a='%d'/>", i, (i+1)%40, i)
	}
	tests = append(tests, struct {
		name, stanza string
		raws         int
	}{"many outer declarations", "<message" + decls.String() + "><x xmlns='urn:x'>" + uses.String() + "</x></message>", 1})
	// As many as are compared by scanning, and one more: each used once,
	// then all again (the repeats found by the scan or by the set), and
	// a subtree that uses only its own declarations.
	for _, n := range []int{16, 17} {
		decls.Reset()
		uses.Reset()
		for i := range n {
			fmt.Fprintf(&decls, " xmlns:p%d='urn:%d'", i, i)
			fmt.Fprintf(&uses, "<p%d:y/>", i)
		}
		for i := range n {
			fmt.Fprintf(&uses, "<z p%d:a='%d'/>", n-1-i, i)
		}
		uses.WriteString("<q:w xmlns:q='urn:q'><q:v q:a='1'/></q:w>")
		tests = append(tests, struct {
			name, stanza string
			raws         int
		}{fmt.Sprintf("%d outer declarations", n), "<message" + decls.String() + "><x xmlns='urn:x'>" + uses.String() + "</x></message>", 1})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stream := rawHeader + tt.stanza
			tree, toks := decodeTree(t, stream), decodeTokens(t, stream)
			treeRaws, tokRaws := extensions(t, tree), extensions(t, toks)
			if m, ok := tree.(*stanza.Message); ok && m.Error != nil {
				r, ok := m.Error.App.(*stanza.Raw)
				require.True(t, ok)
				treeRaws = append(treeRaws, r)
				tokRaws = append(tokRaws, toks.(*stanza.Message).Error.App.(*stanza.Raw))
			} else {
				require.Len(t, treeRaws, tt.raws)
			}
			require.Len(t, tokRaws, len(treeRaws))
			for i, r := range treeRaws {
				want := readerTokens(t, tokRaws[i].TokenReader())
				got := readerTokens(t, r.TokenReader())
				assert.Equal(t, want, got, "TokenReader, against the token path")
				assert.Equal(t, want, standalone(t, r.String()), "String alone: %s", r.String())
				assert.Equal(t, tokRaws[i].Name(), r.Name())
				for _, a := range attrsOf(t, tokRaws[i]) {
					assert.Equal(t, a.Value, r.Attr(a.Name.Local), "Attr(%q)", a.Name.Local)
				}
				assert.Equal(t, "", r.Attr("absent"))

				// Sent again in a new message, and read back both ways.
				b, err := (&stanza.Message{Extensions: []stanza.Payload{r}}).AppendXML(nil)
				require.NoError(t, err)
				again := rawHeader + string(b)
				for _, st := range []stanza.Stanza{decodeTree(t, again), decodeTokens(t, again)} {
					back := extensions(t, st)
					require.Len(t, back, 1, "%s", b)
					assert.Equal(t, want, readerTokens(t, back[0].TokenReader()), "sent again: %s", b)
				}
			}
		})
	}
}

func TestReceivedRawAttr(t *testing.T) {
	t.Parallel()
	st := decodeTree(t, rawHeader+"<message><x xmlns='urn:x' a=\"dq\" b = 'ws'\n\tc\t=\"t\ta\nb\r\nc\" d='&amp;&#65;&#x42;&lt;&gt;&quot;&apos;' e=\"it's\" f='say \"hi\"' g='&#9;&#10;&#13;' h='' p:i='no' xmlns:p='urn:p' i='yes'/></message>")
	raws := extensions(t, st)
	require.Len(t, raws, 1)
	r := raws[0]
	for name, want := range map[string]string{
		"a": "dq",
		"b": "ws",
		"c": "t a b c", // a tab, a line feed and a CR LF (one line end) normalised to spaces
		"d": "&AB<>\"'",
		"e": "it's",
		"f": `say "hi"`,
		"g": "\t\n\r", // references keep their characters
		"h": "",
		"i": "yes",
		"j": "",
	} {
		assert.Equal(t, want, r.Attr(name), "Attr(%q)", name)
	}
	assert.Equal(t, "", r.Attr("xmlns"), "a declaration is no attribute")
}

// TestReceivedRawSpaceInValue: a value written with a tab or line end is a
// value with spaces (XML 1.0 §3.3.3). A received Raw whose bytes say
// otherwise is written anew, so that Attr, TokenReader and String agree
// on it; one whose values need no normalising keeps its bytes.
func TestReceivedRawSpaceInValue(t *testing.T) {
	t.Parallel()
	st := decodeTree(t, rawHeader+"<message><x xmlns='urn:x' a='t\tv\r\nw'><y b='1\n2'/></x><z xmlns='urn:z' c='&#9;kept'/></message>")
	raws := extensions(t, st)
	require.Len(t, raws, 2)
	x, z := raws[0], raws[1]
	assert.Equal(t, "t v w", x.Attr("a"))
	toks := readerTokens(t, x.TokenReader())
	assert.Contains(t, toks[0], "{{ a} t v w}", "TokenReader's value is Attr's")
	assert.Contains(t, strings.Join(toks, " "), "{{ b} 1 2}", "also in a child")
	assert.NotContains(t, x.String(), "\t")
	assert.Equal(t, standalone(t, x.String()), toks, "String parses to the same tokens")
	assert.Equal(t, "\tkept", z.Attr("c"), "a reference keeps its character")
	assert.Equal(t, `<z xmlns='urn:z' c='&#9;kept'/>`, z.String(), "nothing to normalise: the bytes as received")
}

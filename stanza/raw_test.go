package stanza

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"mellium.im/xmlstream"

	"github.com/parleyim/parley/internal/ns"
)

type rosterQuery struct {
	XMLName xml.Name     `xml:"jabber:iq:roster query"`
	Ver     string       `xml:"ver,attr,omitempty"`
	Items   []rosterItem `xml:"item"`
}

type rosterItem struct {
	JID          string   `xml:"jid,attr"`
	Name         string   `xml:"name,attr,omitempty"`
	Subscription string   `xml:"subscription,attr,omitempty"`
	Groups       []string `xml:"group"`
}

func TestRawDecode(t *testing.T) {
	t.Parallel()
	s, err := decodeString(t, `<iq id='p1' type='set'><r:query xmlns:r='jabber:iq:roster' ver='v2'><r:item jid='nurse@example.com' name='Nurse' subscription='both'><r:group>Friends</r:group><r:group>Servants</r:group></r:item></r:query></iq>`)
	require.NoError(t, err)
	raw, ok := s.(*IQ).Raw()
	require.True(t, ok)
	assert.Equal(t, xml.Name{Space: "jabber:iq:roster", Local: "query"}, raw.Name())
	var q rosterQuery
	require.NoError(t, raw.Decode(&q))
	assert.Equal(t, rosterQuery{
		XMLName: xml.Name{Space: "jabber:iq:roster", Local: "query"},
		Ver:     "v2",
		Items:   []rosterItem{{JID: "nurse@example.com", Name: "Nurse", Subscription: "both", Groups: []string{"Friends", "Servants"}}},
	}, q)

	var wrong struct {
		XMLName xml.Name `xml:"urn:other query"`
	}
	err = raw.Decode(&wrong)
	assert.ErrorContains(t, err, "stanza: decoding <query xmlns='jabber:iq:roster'>")
}

func TestRawTokenReader(t *testing.T) {
	t.Parallel()
	raw := mustRaw(t, `<a xmlns='urn:a' xmlns:p='urn:p' p:x='1' xml:lang='en'><b xmlns=''>t</b><c/></a>`)
	toks, err := xmlstream.ReadAll(raw.TokenReader())
	require.NoError(t, err)
	want := []xml.Token{
		xml.StartElement{Name: xml.Name{Space: "urn:a", Local: "a"}, Attr: []xml.Attr{
			{Name: xml.Name{Space: "urn:p", Local: "x"}, Value: "1"},
			{Name: xml.Name{Space: ns.XML, Local: "lang"}, Value: "en"},
		}},
		xml.StartElement{Name: xml.Name{Local: "b"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: ""}}},
		xml.CharData("t"),
		xml.EndElement{Name: xml.Name{Local: "b"}},
		xml.StartElement{Name: xml.Name{Space: "urn:a", Local: "c"}, Attr: []xml.Attr{}},
		xml.EndElement{Name: xml.Name{Space: "urn:a", Local: "c"}},
		xml.EndElement{Name: xml.Name{Space: "urn:a", Local: "a"}},
	}
	assert.Equal(t, want, toks)

	var buf bytes.Buffer
	enc := xml.NewEncoder(&buf)
	n, err := raw.WriteXML(enc)
	require.NoError(t, err)
	require.NoError(t, enc.Flush())
	assert.Equal(t, len(want), n)
	again := mustRaw(t, buf.String())
	assert.Equal(t, meaning(t, raw), meaning(t, again), buf.String())
}

func TestParseRaw(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr string
	}{
		{name: "default namespace", in: `<x/>`, want: `<x xmlns='jabber:client'/>`},
		{name: "whitespace and comment around", in: " <x xmlns='u'/> <!-- c -->\n", want: `<x xmlns='u'/>`},
		{name: "prefixed element", in: `<p:x xmlns:p='urn:p'><p:y/></p:x>`, want: `<x xmlns='urn:p' xmlns:p='urn:p'><y/></x>`},
		{name: "empty", in: ` `, wantErr: "no element"},
		{name: "two elements", in: `<a/><b/>`, wantErr: "more than one"},
		{name: "text", in: `<a/>x`, wantErr: "text outside"},
		{name: "processing instruction inside", in: `<a><?pi x?></a>`, wantErr: "processing instruction"},
		{name: "not well-formed", in: `<a>`, wantErr: "stanza: reading"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := ParseRaw([]byte(tt.in))
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, r.String())
			b, err := r.AppendXML([]byte("<"))
			require.NoError(t, err)
			assert.Equal(t, "<"+tt.want, string(b))
		})
	}
}

func TestMarshal(t *testing.T) {
	t.Parallel()
	raw, err := Marshal(rosterQuery{Items: []rosterItem{{JID: "a@b", Groups: []string{"G<1>"}}}})
	require.NoError(t, err)
	assert.Equal(t, `<query xmlns='jabber:iq:roster'><item jid='a@b'><group>G&lt;1&gt;</group></item></query>`, raw.String())

	_, err = Marshal(make(chan int))
	assert.ErrorContains(t, err, "stanza: marshalling chan int")
}

// TestReadRawDeep checks that nesting costs no recursion and that the
// reader is left after the element.
func TestReadRawDeep(t *testing.T) {
	t.Parallel()
	const depth = 50000
	in := `<message><x xmlns='u'>` + strings.Repeat("<y>", depth) + strings.Repeat("</y>", depth) + `</x></message><next/>`
	d, start, ok := firstStart([]byte(in))
	require.True(t, ok)
	s, err := Decoder{}.Decode(d, start)
	require.NoError(t, err)
	raw, ok := s.(*Message).Extension(xml.Name{Space: "u", Local: "x"})
	require.True(t, ok)
	want := `<x xmlns='u'>` + strings.Repeat("<y>", depth-1) + "<y/>" + strings.Repeat("</y>", depth-1) + `</x>`
	assert.True(t, want == raw.String(), "raw element differs")
	tok, err := d.Token()
	require.NoError(t, err)
	assert.Equal(t, "next", tok.(xml.StartElement).Name.Local)
}

// TestReadRawUnusable checks that an element Raw cannot hold makes the
// stanza invalid and leaves the reader in step.
func TestReadRawUnusable(t *testing.T) {
	t.Parallel()
	d, start, ok := firstStart([]byte(`<message id='m'><x xmlns='u'><?pi x?><y/></x><body>b</body></message><next/>`))
	require.True(t, ok)
	_, err := Decoder{}.Decode(d, start)
	var inv *InvalidError
	require.ErrorAs(t, err, &inv)
	assert.Equal(t, BadRequest, inv.Reply.Condition)
	tok, err := d.Token()
	require.NoError(t, err)
	assert.Equal(t, "next", tok.(xml.StartElement).Name.Local)

	_, err = ReadRaw(readerFunc(func() (xml.Token, error) { return nil, io.EOF }), xml.StartElement{Name: xml.Name{Space: "u", Local: "x"}})
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

// TestRawDoesNotRetainInput checks that a Raw holds a copy of its element,
// not the buffer it was read from.
func TestRawDoesNotRetainInput(t *testing.T) {
	t.Parallel()
	big := strings.Repeat(" ", 1<<20)
	s, err := decodeString(t, `<message><x xmlns='u'/>`+big+`</message>`)
	require.NoError(t, err)
	raw := s.(*Message).Extensions[0].(*Raw)
	assert.LessOrEqual(t, len(raw.data), 64)
}

func TestRawAttrAndText(t *testing.T) {
	t.Parallel()
	r, err := ParseRaw([]byte("<item xmlns='jabber:iq:roster' jid='romeo@example.net' xmlns:x='urn:x' x:jid='other' name='R&amp;J'><group>Friends</group> and <group>Lovers</group></item>"))
	require.NoError(t, err)
	assert.Equal(t, "romeo@example.net", r.Attr("jid"), "the attribute in no namespace, not x:jid")
	assert.Equal(t, "R&J", r.Attr("name"))
	assert.Equal(t, "", r.Attr("missing"))
	assert.Equal(t, "Friends and Lovers", r.Text())
}

package wire_test

import (
	"bytes"
	"encoding/xml"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/wire"
	"github.com/parleyim/parley/stanza"
)

// inPlaceCases are elements whose texts references or line ends change:
// inPlace says whether the reader writes them over their own bytes (every
// one is a text stanza's decoders read as text), or keeps the element's
// bytes as received and the decoded text beside them.
var inPlaceCases = []struct {
	name, el string
	inPlace  bool
}{
	{"body, subject and thread", "<message type='chat'><body>a &amp; b &#x20AC; &#128512; &lt;3</body><subject>s&quot;</subject><thread>t&apos;1</thread></message>", true},
	{"body beside a plain extension", "<message><body>x &amp; y</body><x xmlns='urn:x' a='1'>plain<y/></x><request xmlns='urn:xmpp:receipts'/></message>", true},
	{"line ends and CDATA", "<message><body>a\r\nb\rc<![CDATA[d\r\ne &amp;]]>f&#13;</body></message>", true},
	{"text right in the stanza", "<message>\r\n<body>b</body>\r\n</message>", true},
	{"presence", "<presence><show>away&#x20;</show><status xml:lang='de'>da &amp; dort</status><status>here</status><priority>&#49;0</priority></presence>", true},
	{"extension text", "<message><body>x &amp; y</body><x xmlns='urn:x'>p &amp; q</x></message>", false},
	{"body of another namespace", "<message><body xmlns='urn:other'>a &amp; b</body></message>", false},
	{"presence child in a message", "<message><status>a &amp; b</status></message>", false},
	{"body in a presence", "<presence><body>a &amp; b</body></presence>", false},
	{"attribute value", "<message id='m&amp;1'><body>x &amp; y</body></message>", false},
	{"error text", "<message type='error'><body>x &amp; y</body><error type='cancel'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>t &amp; u</text></error></message>", false},
	{"grandchild", "<message><body>x<b>y &amp; z</b></body></message>", false},
	{"iq", "<iq type='set' id='1'><query xmlns='urn:q'>a &amp; b</query></iq>", false},
}

// TestDecodedTextInPlace checks which elements have their decoded text
// written over their bytes, and that the reading agrees with encoding/xml's
// either way: Raws (compared by their tokens) keep their bytes.
func TestDecodedTextInPlace(t *testing.T) {
	t.Parallel()
	for _, c := range inPlaceCases {
		t.Run(c.name, func(t *testing.T) {
			data := []byte(agreeHeader + c.el + "</stream:stream>")
			r := wire.NewReader(bytes.NewReader(data), wire.Limits{})
			_, err := r.ReadHeader()
			require.NoError(t, err)
			_, err = r.NextName()
			require.NoError(t, err)
			el := r.XMLTree()
			require.NotNil(t, el)
			assert.Equal(t, c.inPlace, el.Decoded == "", "decoded text in place")

			want, err := readXML(data)
			require.NoError(t, err)
			got, err := readWire(data)
			require.NoError(t, err)
			for _, d := range compare(want, got) {
				t.Error(d)
			}
		})
	}
}

// TestInPlaceKeepsRawBytes: beside a body decoded in place, an extension's
// Raw holds its bytes exactly as received.
func TestInPlaceKeepsRawBytes(t *testing.T) {
	t.Parallel()
	const ext = "<x xmlns='urn:x' a='1'>plain &gt; text? no: plain<y/></x>"
	data := []byte(agreeHeader + "<message><body>a &amp; b</body>" + ext + "<thread>t&amp;</thread></message>")
	r := wire.NewReader(bytes.NewReader(data), wire.Limits{})
	h, err := r.ReadHeader()
	require.NoError(t, err)
	name, err := r.NextName()
	require.NoError(t, err)
	st, err := stanza.Decoder{Lang: h.Lang}.Decode(r, xml.StartElement{Name: name})
	require.NoError(t, err)
	m := st.(*stanza.Message)
	assert.Equal(t, "a & b", m.Body)
	assert.Equal(t, "t&", m.Thread.ID)
	require.Len(t, m.Extensions, 1)
	assert.Equal(t, ext, m.Extensions[0].(*stanza.Raw).String())
}

package stanza

import (
	"bytes"
	"encoding/xml"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var fuzzSeeds = []string{
	`<message from='juliet@example.com/balcony' to='romeo@example.net' type='chat' xml:lang='en' id='k1'><body>Art thou not Romeo?</body><body xml:lang='cs'>Nejsi Romeo?</body><thread parent='p1'>t1</thread></message>`,
	`<message type='error' id='m2'><error type='cancel' by='example.net'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>xmpp:romeo@afterwards.example</gone><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>moved</text></error></message>`,
	`<message><x:foo xmlns:x='urn:x' xmlns:y='urn:y' y:a='1' b='2'><bar xmlns=''><baz/></bar>text</x:foo><subject>s</subject></message>`,
	`<presence xml:lang='en'><show>dnd</show><status>busy</status><status xml:lang='de'>beschäftigt</status><priority>-1</priority><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='http://parley.example' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/></presence>`,
	`<presence type='subscribe' to='juliet@example.com'/>`,
	`<presence><priority>128</priority></presence>`,
	`<iq type='set' id='r1'><query xmlns='jabber:iq:roster'><item jid='nurse@example.com' name='Nurse' subscription='both'><group>Friends</group></item></query></iq>`,
	`<iq type='error' id='r2' from='example.com'><query xmlns='jabber:iq:roster'/><error type='wait'><resource-constraint xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><app xmlns='urn:app'/></error></iq>`,
	`<iq type='result' id='r3'/>`,
	`<iq type='get'/>`,
	`<stream:error><see-other-host xmlns='urn:ietf:params:xml:ns:xmpp-streams'>[2001:db8::1]:5222</see-other-host><text xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>moved</text></stream:error>`,
	"<message><body>a\r\nb&#xD;\t&amp;&lt;&#x10FFFF;</body></message>",
}

// fuzzStanza checks that decode never panics and that every accepted
// input survives encode and decode unchanged, on both encoding paths.
func fuzzStanza(f *testing.F, decode func(d *xml.Decoder, start xml.StartElement) (Stanza, error)) {
	for _, s := range append(fuzzSeeds, wideFuzzSeeds()...) {
		f.Add([]byte(s))
	}
	addCorpusSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		d, start, ok := firstStart(data)
		if !ok {
			return
		}
		s1, err := decode(d, start)
		if err != nil {
			return
		}
		b, err := s1.AppendXML(nil)
		require.NoError(t, err, "encoding %#v", s1)
		d2, start2, ok := firstStart(b)
		require.True(t, ok, "re-reading %s", b)
		s2, err := decode(d2, start2)
		require.NoError(t, err, "re-decoding %s", b)
		assert.Equal(t, s1, s2, "append path: %s", b)

		var buf bytes.Buffer
		enc := xml.NewEncoder(&buf)
		_, err = s1.WriteXML(enc)
		require.NoError(t, err)
		require.NoError(t, enc.Flush())
		d3, start3, ok := firstStart(buf.Bytes())
		require.True(t, ok, "re-reading %s", buf.Bytes())
		s3, err := decode(d3, start3)
		require.NoError(t, err, "re-decoding %s", buf.Bytes())
		assert.Equal(t, canon(t, s1), canon(t, s3), "token path: %s", buf.Bytes())
	})
}

func FuzzDecodeMessage(f *testing.F) {
	fuzzStanza(f, func(d *xml.Decoder, start xml.StartElement) (Stanza, error) {
		m, err := DecodeMessage(d, start)
		if err != nil {
			return nil, err
		}
		return m, nil
	})
}

func FuzzDecodePresence(f *testing.F) {
	fuzzStanza(f, func(d *xml.Decoder, start xml.StartElement) (Stanza, error) {
		p, err := DecodePresence(d, start)
		if err != nil {
			return nil, err
		}
		return p, nil
	})
}

func FuzzDecodeIQ(f *testing.F) {
	fuzzStanza(f, func(d *xml.Decoder, start xml.StartElement) (Stanza, error) {
		iq, err := DecodeIQ(d, start)
		if err != nil {
			return nil, err
		}
		return iq, nil
	})
}

func FuzzDecode(f *testing.F) {
	fuzzStanza(f, func(d *xml.Decoder, start xml.StartElement) (Stanza, error) {
		return Decoder{}.Decode(d, start)
	})
}

func FuzzDecodeStreamError(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	addCorpusSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		d, start, ok := firstStart(data)
		if !ok {
			return
		}
		e1, err := DecodeStreamError(d, start)
		if err != nil {
			return
		}
		b, err := e1.AppendXML(nil)
		require.NoError(t, err, "encoding %#v", e1)
		d2, start2, ok := firstStart(b)
		require.True(t, ok, "re-reading %s", b)
		e2, err := DecodeStreamError(d2, start2)
		require.NoError(t, err)
		assert.Equal(t, e1, e2, "append path: %s", b)

		var buf bytes.Buffer
		enc := xml.NewEncoder(&buf)
		_, err = e1.WriteXML(enc)
		require.NoError(t, err)
		require.NoError(t, enc.Flush())
		d3, start3, ok := firstStart(buf.Bytes())
		require.True(t, ok)
		e3, err := DecodeStreamError(d3, start3)
		require.NoError(t, err)
		assert.Equal(t, canon(t, e1), canon(t, e3), "token path: %s", buf.Bytes())
	})
}

// absentAttrs are names FuzzRawAttr asks for besides those of the start
// tag.
var absentAttrs = []string{"", "id", "xmlns", "xml:lang", "lang", "a", "p:a"}

// FuzzRawAttr checks that Attr agrees with encoding/xml's reading of the
// start tag (oldAttr) on every Raw that ParseRaw makes.
func FuzzRawAttr(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	for _, s := range []string{
		`<origin-id xmlns='urn:xmpp:sid:0' id='ktx72v49'/>`,
		`<x xmlns='u' a='&amp;&lt;&gt;&apos;&quot;&#9;&#xA;&#xD;' b='' xmlns:p='urn:p' p:a='no'><y a='child'/></x>`,
		`<x xmlns='' a='1'/>`,
		`<xmlns xmlns='urn:x' a='1'/>`,
		`<příliš xmlns='u' žluťoučký='kůň'/>`,
		"<x a='1\r\n2\t3&#13;'/>",
	} {
		f.Add([]byte(s))
	}
	addCorpusSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRaw(data)
		if err != nil {
			return
		}
		for _, local := range append(attrNames(r.data), absentAttrs...) {
			assert.Equal(t, oldAttr(r, local), r.Attr(local), "Attr(%q) of %s", local, r)
		}
	})
}

// FuzzRawAttrTokens checks Attr on Raws built from tokens, whose names
// and values encoding/xml has not vetted: an element with an attribute
// in no namespace and one of the same name in a namespace.
func FuzzRawAttrTokens(f *testing.F) {
	f.Add("urn:x", "x", "id", "v")
	f.Add("", "xmlns", "xmlns", "")
	f.Add("u", "\U00010000", "a", "R&J\r\n")
	f.Add("u", "x", "\U00010000", "'\"<>")
	f.Fuzz(func(t *testing.T, space, name, attr, value string) {
		start := xml.StartElement{Name: xml.Name{Space: space, Local: name}, Attr: []xml.Attr{
			{Name: xml.Name{Space: "urn:p", Local: attr}, Value: value + "p"},
			{Name: xml.Name{Local: attr}, Value: value},
		}}
		r, err := ReadRaw(readerFunc(func() (xml.Token, error) { return xml.EndElement{Name: start.Name}, nil }), start)
		if err != nil {
			return
		}
		for _, local := range append([]string{name, attr}, absentAttrs...) {
			assert.Equal(t, oldAttr(r, local), r.Attr(local), "Attr(%q) of %s", local, r)
		}
	})
}

package stanza

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

func TestDecodeMessageRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want *Message
	}{
		{
			name: "missing type is normal",
			in:   `<message><body>x</body></message>`,
			want: &Message{Type: MessageNormal, Body: "x"},
		},
		{
			name: "unknown type is normal",
			in:   `<message type='shout'><body>x</body></message>`,
			want: &Message{Type: MessageNormal, Body: "x"},
		},
		{
			name: "body in the stanza's language is the body",
			in:   `<message xml:lang='en'><body xml:lang='de'>Hallo</body><body xml:lang='en'>Hello</body></message>`,
			want: &Message{Header: Header{Lang: "en"}, Type: MessageNormal, Body: "Hello", AltBodies: []Text{{Lang: "de", Value: "Hallo"}}},
		},
		{
			name: "body with a language in a stanza without one is an alternative",
			in:   `<message><body xml:lang='en'>Hello</body></message>`,
			want: &Message{Type: MessageNormal, AltBodies: []Text{{Lang: "en", Value: "Hello"}}},
		},
		{
			name: "first non-empty default body wins",
			in:   `<message><body/><body>one</body><body>two</body></message>`,
			want: &Message{Type: MessageNormal, Body: "one"},
		},
		{
			name: "body in another namespace is an extension",
			in:   `<message><body xmlns='urn:other'>x</body></message>`,
			want: &Message{Type: MessageNormal, Extensions: []Payload{mustRaw(t, `<body xmlns='urn:other'>x</body>`)}},
		},
		{
			name: "unknown jabber:client child is an extension",
			in:   `<message><foo a='1'/></message>`,
			want: &Message{Type: MessageNormal, Extensions: []Payload{mustRaw(t, `<foo xmlns='jabber:client' a='1'/>`)}},
		},
		{
			name: "markup inside body is dropped, text kept",
			in:   `<message><body>a<b xmlns='urn:x'>b</b>c</body></message>`,
			want: &Message{Type: MessageNormal, Body: "ac"},
		},
		{
			name: "entities and character references",
			in:   `<message><body>&lt;&amp;&gt;&apos;&quot;&#x1F600;&#13;</body></message>`,
			want: &Message{Type: MessageNormal, Body: "<&>'\"😀\r"},
		},
		{
			name: "unknown stanza attributes are dropped",
			in:   `<message foo='bar' xmlns:x='urn:x' x:y='z'/>`,
			want: &Message{Type: MessageNormal},
		},
		{
			name: "first thread wins",
			in:   `<message><thread>a</thread><thread parent='p'>b</thread></message>`,
			want: &Message{Type: MessageNormal, Thread: Thread{ID: "a"}},
		},
		{
			name: "error type without error child",
			in:   `<message type='error'/>`,
			want: &Message{Type: MessageError, Error: &Error{Type: ErrorCancel, Condition: UndefinedCondition}},
		},
		{
			name: "whitespace between children",
			in:   "<message>\n  <body>x</body>\n</message>",
			want: &Message{Type: MessageNormal, Body: "x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeString(t, tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDecodePresenceRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want *Presence
	}{
		{name: "missing priority is 0", in: `<presence/>`, want: &Presence{}},
		{name: "empty priority is 0", in: `<presence><priority/></presence>`, want: &Presence{}},
		{name: "priority with spaces", in: `<presence><priority> -5 </priority></presence>`, want: &Presence{Priority: -5}},
		{name: "unknown show is none", in: `<presence><show>sleeping</show></presence>`, want: &Presence{}},
		{name: "show with spaces", in: `<presence><show> xa </show></presence>`, want: &Presence{Show: ShowXA}},
		{name: "first show wins", in: `<presence><show>away</show><show>dnd</show></presence>`, want: &Presence{Show: ShowAway}},
		{
			name: "statuses",
			in:   `<presence xml:lang='en'><status xml:lang='fr'>occupé</status><status>busy</status></presence>`,
			want: &Presence{Header: Header{Lang: "en"}, Status: "busy", AltStatuses: []Text{{Lang: "fr", Value: "occupé"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeString(t, tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDecodeError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want *Error
	}{
		{
			name: "missing condition",
			in:   `<error type='cancel'/>`,
			want: &Error{Type: ErrorCancel, Condition: UndefinedCondition},
		},
		{
			name: "RFC 3920 condition reads as undefined",
			in:   `<error type='auth'><payment-required xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`,
			want: &Error{Type: ErrorAuth, Condition: UndefinedCondition},
		},
		{
			name: "missing type takes the default",
			in:   `<error><forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`,
			want: &Error{Type: ErrorAuth, Condition: Forbidden},
		},
		{
			name: "unknown type takes the default",
			in:   `<error type='panic'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`,
			want: &Error{Type: ErrorCancel, Condition: Conflict},
		},
		{
			name: "malformed by is dropped",
			in:   `<error type='wait' by='@'><remote-server-timeout xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`,
			want: &Error{Type: ErrorWait, Condition: RemoteServerTimeout},
		},
		{
			name: "condition in the wrong namespace is the app condition",
			in:   `<error type='cancel'><item-not-found xmlns='urn:other'/></error>`,
			want: &Error{Type: ErrorCancel, Condition: UndefinedCondition, App: mustRaw(t, `<item-not-found xmlns='urn:other'/>`)},
		},
		{
			name: "URI only for gone and redirect",
			in:   `<error type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>xmpp:x@y</conflict></error>`,
			want: &Error{Type: ErrorCancel, Condition: Conflict},
		},
		{
			name: "first condition wins",
			in:   `<error type='cancel'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'> xmpp:a@b </gone><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`,
			want: &Error{Type: ErrorCancel, Condition: Gone, URI: "xmpp:a@b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeString(t, `<message type='error'>`+tt.in+`</message>`)
			require.NoError(t, err)
			require.IsType(t, &Message{}, got)
			assert.Equal(t, tt.want, got.(*Message).Error)
		})
	}
}

// TestDecodeInvalid checks the stanza-level faults: the error says which
// stanza and why, carries the reply, and the reader is left right after
// the stanza.
func TestDecodeInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		in         string
		kind, id   string
		typ        string
		cond       Condition
		reason     string
		answerable bool
	}{
		{name: "iq without id", in: `<iq type='get'><query xmlns='jabber:iq:roster'/></iq>`, kind: "iq", typ: "get", cond: BadRequest, reason: "no id"},
		{name: "iq without type", in: `<iq id='i1'><query xmlns='jabber:iq:roster'/></iq>`, kind: "iq", id: "i1", cond: BadRequest, reason: "unknown iq type", answerable: true},
		{name: "iq unknown type", in: `<iq id='i1' type='put'><query xmlns='jabber:iq:roster'/></iq>`, kind: "iq", id: "i1", typ: "put", cond: BadRequest, reason: "unknown iq type", answerable: true},
		{name: "get without payload", in: `<iq id='i2' type='get'/>`, kind: "iq", id: "i2", typ: "get", cond: BadRequest, reason: "exactly one payload", answerable: true},
		{name: "set with two payloads", in: `<iq id='i3' type='set'><a xmlns='urn:a'/><b xmlns='urn:b'><c/></b></iq>`, kind: "iq", id: "i3", typ: "set", cond: BadRequest, reason: "exactly one payload", answerable: true},
		{name: "result with two payloads", in: `<iq id='i4' type='result'><a xmlns='urn:a'/><b xmlns='urn:b'/></iq>`, kind: "iq", id: "i4", typ: "result", cond: BadRequest, reason: "at most one payload"},
		{name: "malformed from", in: `<iq id='i5' type='get' from='juliet@'><query xmlns='jabber:iq:roster'/></iq>`, kind: "iq", id: "i5", typ: "get", cond: JIDMalformed, reason: "malformed from", answerable: true},
		{name: "malformed to", in: `<message id='m1' to='a@'><body>x</body></message>`, kind: "message", id: "m1", cond: JIDMalformed, reason: "malformed to", answerable: true},
		{name: "priority too high", in: `<presence id='p1'><priority>128</priority><status>s</status></presence>`, kind: "presence", id: "p1", cond: BadRequest, reason: "priority", answerable: true},
		{name: "priority too low", in: `<presence><priority>-129</priority></presence>`, kind: "presence", cond: BadRequest, reason: "priority", answerable: true},
		{name: "priority not a number", in: `<presence><priority>high</priority></presence>`, kind: "presence", cond: BadRequest, reason: "priority", answerable: true},
		{name: "unknown presence type", in: `<presence type='online'/>`, kind: "presence", typ: "online", cond: BadRequest, reason: "unknown presence type", answerable: true},
		{name: "error stanza is not answered", in: `<presence type='error' from='a@'/>`, kind: "presence", typ: "error", cond: JIDMalformed, reason: "malformed from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, start, ok := firstStart([]byte(tt.in + `<next/>`))
			require.True(t, ok)
			s, err := Decoder{}.Decode(d, start)
			assert.Nil(t, s)
			var inv *InvalidError
			require.ErrorAs(t, err, &inv)
			assert.Equal(t, tt.kind, inv.Kind)
			assert.Equal(t, tt.id, inv.ID)
			assert.Equal(t, tt.typ, inv.Type)
			assert.Contains(t, inv.Reason, tt.reason)
			require.NotNil(t, inv.Reply)
			assert.Equal(t, tt.cond, inv.Reply.Condition)
			assert.ErrorIs(t, err, tt.cond)
			assert.Equal(t, tt.answerable, inv.Answerable())
			assert.Contains(t, err.Error(), "stanza: invalid "+tt.kind)

			tok, err := d.Token()
			require.NoError(t, err)
			require.IsType(t, xml.StartElement{}, tok, "reader not in step")
			assert.Equal(t, "next", tok.(xml.StartElement).Name.Local)
		})
	}
}

func TestDecodeKeepsGoodFrom(t *testing.T) {
	t.Parallel()
	_, err := decodeString(t, `<iq type='get' id='x' from='juliet@example.com/balcony' to='a@'><q xmlns='u'/></iq>`)
	var inv *InvalidError
	require.ErrorAs(t, err, &inv)
	assert.Equal(t, juliet, inv.From)
	assert.True(t, inv.To.IsZero())
	assert.Error(t, inv.Err)
}

func TestDecodeNotAStanza(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`<features xmlns='http://etherx.jabber.org/streams'><x/></features>`,
		`<message xmlns='jabber:server'><body>x</body></message>`,
		`<foo/>`,
	} {
		d, start, ok := firstStart([]byte(in + `<next/>`))
		require.True(t, ok)
		_, err := Decoder{}.Decode(d, start)
		assert.ErrorIs(t, err, StreamUnsupportedStanzaType, in)
		assert.False(t, isInvalid(err))
		tok, err := d.Token()
		require.NoError(t, err)
		assert.Equal(t, "next", tok.(xml.StartElement).Name.Local, in)
	}
}

// TestDecodeReaderErrors checks that XML-level faults come back as they
// are, never as an InvalidError.
func TestDecodeReaderErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
	}{
		{name: "truncated", in: `<message><body>hi`},
		{name: "truncated extension", in: `<message><x xmlns='u'><y>`},
		{name: "truncated iq", in: `<iq id='1' type='get'><q xmlns='u'>`},
		{name: "mismatched tags", in: `<message><body>hi</subject></message>`},
		{name: "bad character reference", in: `<message><body>&#0;</body></message>`},
		{name: "truncated error", in: `<iq id='1' type='error'><error type='cancel'><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := decodeString(t, tt.in)
			require.Error(t, err)
			assert.False(t, isInvalid(err), "%v", err)
			assert.True(t, strings.HasPrefix(err.Error(), "stanza: "), err.Error())
		})
	}
}

func TestDecodeEOFInsideStanza(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`<message><body>hi</body>`, `<iq id='1' type='get'><q xmlns='u'>`, `<presence><status>`} {
		d, start, ok := firstStart([]byte(in))
		require.True(t, ok)
		toks, _ := xmlstream.ReadAll(d)
		i := 0
		src := readerFunc(func() (xml.Token, error) {
			if i == len(toks) {
				return nil, io.EOF
			}
			i++
			return toks[i-1], nil
		})
		_, err := Decoder{}.Decode(src, start)
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF, in)
		assert.False(t, isInvalid(err))
	}
}

// TestDecodeReaderError checks that a failing reader's error is wrapped.
func TestDecodeReaderError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	r := readerFunc(func() (xml.Token, error) { return nil, boom })
	for _, local := range []string{"message", "presence", "iq"} {
		_, err := Decoder{}.Decode(r, xml.StartElement{Name: xml.Name{Space: NS, Local: local}})
		assert.ErrorIs(t, err, boom, local)
		assert.False(t, isInvalid(err))
	}
	_, err := DecodeStreamError(r, xml.StartElement{Name: xml.Name{Space: NSStream, Local: "error"}})
	assert.ErrorIs(t, err, boom)
}

type readerFunc func() (xml.Token, error)

func (f readerFunc) Token() (xml.Token, error) { return f() }

// TestDecodeDoesNotKeepReaderBuffers checks that decoded values survive
// the reader overwriting the bytes of the tokens it returned.
func TestDecodeDoesNotKeepReaderBuffers(t *testing.T) {
	t.Parallel()
	d, start, ok := firstStart([]byte(`<message><body>hello</body><x xmlns='u'>text</x></message>`))
	require.True(t, ok)
	var handed []xml.CharData
	r := readerFunc(func() (xml.Token, error) {
		tok, err := d.Token()
		if cd, ok := tok.(xml.CharData); ok {
			handed = append(handed, cd)
		}
		return tok, err
	})
	s, err := Decoder{}.Decode(r, start)
	require.NoError(t, err)
	for _, cd := range handed {
		for i := range cd {
			cd[i] = '#'
		}
	}
	m := s.(*Message)
	assert.Equal(t, "hello", m.Body)
	raw, ok := m.Extension(xml.Name{Space: "u", Local: "x"})
	require.True(t, ok)
	assert.Equal(t, `<x xmlns='u'>text</x>`, raw.String())
}

func TestDecodeLangInherits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, lang     string
		wantLang, wantBody string
		wantAlt            []Text
	}{
		{"inherits the stream's", "<message xmlns='jabber:client'><body xml:lang='fr'>salut</body><body xml:lang='en'>hi</body></message>", "en", "en", "hi", []Text{{Lang: "fr", Value: "salut"}}},
		{"own lang wins", "<message xmlns='jabber:client' xml:lang='de'><body>hallo</body><body xml:lang='en'>hi</body></message>", "en", "de", "hallo", []Text{{Lang: "en", Value: "hi"}}},
		{"no stream lang", "<message xmlns='jabber:client'><body xml:lang='en'>hi</body></message>", "", "", "", []Text{{Lang: "en", Value: "hi"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := xml.NewDecoder(strings.NewReader(tt.in))
			tok, err := d.Token()
			require.NoError(t, err)
			st, err := Decoder{Lang: tt.lang}.Decode(d, tok.(xml.StartElement))
			require.NoError(t, err)
			m := st.(*Message)
			assert.Equal(t, tt.wantLang, m.Lang)
			assert.Equal(t, tt.wantBody, m.Body)
			assert.Equal(t, tt.wantAlt, m.AltBodies)
		})
	}
}

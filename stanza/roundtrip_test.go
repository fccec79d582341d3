package stanza

import (
	"bytes"
	"encoding/xml"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/jid"
)

var (
	juliet   = jid.MustParse("juliet@example.com/balcony")
	romeo    = jid.MustParse("romeo@example.net")
	services = jid.MustParse("example.com")
)

type roundTrip struct {
	name string
	in   Stanza
	xml  string // the AppendXML output, when checked
	want Stanza // what decoding gives back, when not in
}

// checkRoundTrips encodes each case on both paths, compares the bytes and
// decodes them back.
func checkRoundTrips(t *testing.T, tests []roundTrip) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := tt.want
			if want == nil {
				want = tt.in
			}
			b, err := tt.in.AppendXML([]byte("prefix"))
			require.NoError(t, err)
			require.True(t, bytes.HasPrefix(b, []byte("prefix")))
			b = b[len("prefix"):]
			if tt.xml != "" {
				assert.Equal(t, tt.xml, string(b))
			}
			got, err := decodeString(t, string(b))
			require.NoError(t, err, "decoding %s", b)
			assert.Equal(t, want, got, "append path: %s", b)

			var buf bytes.Buffer
			enc := xml.NewEncoder(&buf)
			n, err := tt.in.WriteXML(enc)
			require.NoError(t, err)
			require.NoError(t, enc.Flush())
			assert.Positive(t, n)
			got, err = decodeString(t, buf.String())
			require.NoError(t, err, "decoding %s", buf.String())
			assert.Equal(t, canon(t, want), canon(t, got), "token path: %s", buf.String())
		})
	}
}

func TestMessageRoundTrip(t *testing.T) {
	t.Parallel()
	checkRoundTrips(t, []roundTrip{
		{
			name: "empty",
			in:   &Message{},
			xml:  `<message/>`,
			want: &Message{Type: MessageNormal},
		},
		{
			name: "chat with body",
			in: &Message{
				Header: Header{ID: "ktx72v49", From: juliet, To: romeo, Lang: "en"},
				Type:   MessageChat,
				Body:   "Art thou not Romeo, and a Montague?",
			},
			xml: `<message id='ktx72v49' from='juliet@example.com/balcony' to='romeo@example.net' type='chat' xml:lang='en'><body>Art thou not Romeo, and a Montague?</body></message>`,
		},
		{
			name: "normal is written without type",
			in:   &Message{Type: MessageNormal, Body: "x"},
			xml:  `<message><body>x</body></message>`,
		},
		{name: "groupchat", in: &Message{Type: MessageGroupChat, Body: "x"}},
		{name: "headline", in: &Message{Type: MessageHeadline, Subject: "news"}},
		{
			name: "languages",
			in: &Message{
				Header:      Header{Lang: "en"},
				Type:        MessageChat,
				Subject:     "I implore you!",
				AltSubjects: []Text{{Lang: "cs", Value: "Úpěnlivě prosím!"}},
				Body:        "Wherefore art thou, Romeo?",
				AltBodies:   []Text{{Lang: "cs", Value: "Proč se jmenuješ Romeo?"}, {Lang: "de", Value: ""}},
			},
			xml: `<message type='chat' xml:lang='en'><subject>I implore you!</subject><subject xml:lang='cs'>Úpěnlivě prosím!</subject><body>Wherefore art thou, Romeo?</body><body xml:lang='cs'>Proč se jmenuješ Romeo?</body><body xml:lang='de'/></message>`,
		},
		{
			name: "thread with parent",
			in:   &Message{Type: MessageChat, Body: "b", Thread: Thread{ID: "e0ffe42b28561960c6b12b944a092794b9683a38", Parent: "7edac73ab41e45c4aafa7b2d7b749080"}},
			xml:  `<message type='chat'><body>b</body><thread parent='7edac73ab41e45c4aafa7b2d7b749080'>e0ffe42b28561960c6b12b944a092794b9683a38</thread></message>`,
		},
		{name: "thread without parent", in: &Message{Type: MessageChat, Thread: Thread{ID: "t"}}},
		{
			name: "escaping",
			in:   &Message{Header: Header{ID: `a'b"c<&>`}, Type: MessageChat, Body: "1 < 2 && 3 > 2 'q' \"d\"\r\n\ttab", Thread: Thread{ID: "t", Parent: "a\tb\nc"}},
			xml:  `<message id='a&apos;b&quot;c&lt;&amp;&gt;' type='chat'><body>1 &lt; 2 &amp;&amp; 3 &gt; 2 &apos;q&apos; &quot;d&quot;&#xD;` + "\n\ttab" + `</body><thread parent='a&#x9;b&#xA;c'>t</thread></message>`,
		},
		{
			name: "error",
			in: &Message{
				Header: Header{ID: "m1", From: romeo, To: juliet},
				Type:   MessageError,
				Body:   "original",
				Error:  &Error{Type: ErrorCancel, Condition: Gone, URI: "xmpp:romeo@afterwards.example", By: services, Text: "moved", TextLang: "en"},
			},
			xml: `<message id='m1' from='romeo@example.net' to='juliet@example.com/balcony' type='error'><body>original</body><error type='cancel' by='example.com'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>xmpp:romeo@afterwards.example</gone><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>moved</text></error></message>`,
		},
		{
			name: "extensions in order",
			in: &Message{
				Type: MessageChat,
				Body: "b",
				Extensions: []Payload{
					mustRaw(t, `<active xmlns='http://jabber.org/protocol/chatstates'/>`),
					mustRaw(t, `<request xmlns='urn:xmpp:receipts'/>`),
					mustRaw(t, `<body xmlns='urn:other'>not the body</body>`),
				},
			},
			xml: `<message type='chat'><body>b</body><active xmlns='http://jabber.org/protocol/chatstates'/><request xmlns='urn:xmpp:receipts'/><body xmlns='urn:other'>not the body</body></message>`,
		},
	})
}

func TestPresenceRoundTrip(t *testing.T) {
	t.Parallel()
	checkRoundTrips(t, []roundTrip{
		{name: "available", in: &Presence{}, xml: `<presence/>`},
		{
			name: "full",
			in: &Presence{
				Header:      Header{ID: "pres1", From: juliet, Lang: "en"},
				Show:        ShowDND,
				Status:      "Wooing Juliet",
				AltStatuses: []Text{{Lang: "cs", Value: "Dvořím se Julii"}},
				Priority:    1,
				Extensions:  []Payload{mustRaw(t, `<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='http://parley.example' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/>`)},
			},
			xml: `<presence id='pres1' from='juliet@example.com/balcony' xml:lang='en'><show>dnd</show><status>Wooing Juliet</status><status xml:lang='cs'>Dvořím se Julii</status><priority>1</priority><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='http://parley.example' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/></presence>`,
		},
		{name: "show away", in: &Presence{Show: ShowAway}},
		{name: "show chat", in: &Presence{Show: ShowChat}},
		{name: "show xa", in: &Presence{Show: ShowXA}},
		{name: "priority min", in: &Presence{Priority: -128}, xml: `<presence><priority>-128</priority></presence>`},
		{name: "priority max", in: &Presence{Priority: 127}, xml: `<presence><priority>127</priority></presence>`},
		{name: "unavailable", in: &Presence{Type: PresenceUnavailable}, xml: `<presence type='unavailable'/>`},
		{name: "subscribe", in: &Presence{Type: PresenceSubscribe, Header: Header{To: romeo, ID: "sub1"}}, xml: `<presence id='sub1' to='romeo@example.net' type='subscribe'/>`},
		{name: "subscribed", in: &Presence{Type: PresenceSubscribed, Header: Header{To: romeo}}},
		{name: "unsubscribe", in: &Presence{Type: PresenceUnsubscribe, Header: Header{To: romeo}}},
		{name: "unsubscribed", in: &Presence{Type: PresenceUnsubscribed, Header: Header{To: romeo}}},
		{name: "probe", in: &Presence{Type: PresenceProbe, Header: Header{To: romeo}}},
		{
			name: "error",
			in:   &Presence{Type: PresenceError, Error: &Error{Type: ErrorModify, Condition: JIDMalformed}},
			xml:  `<presence type='error'><error type='modify'><jid-malformed xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>`,
		},
	})
}

func TestIQRoundTrip(t *testing.T) {
	t.Parallel()
	roster := `<query xmlns='jabber:iq:roster'><item jid='nurse@example.com' name='Nurse' subscription='both'><group>Friends</group></item></query>`
	checkRoundTrips(t, []roundTrip{
		{
			name: "get",
			in:   &IQ{Header: Header{ID: "bv1bs71f", From: juliet}, Type: IQGet, Payload: mustRaw(t, `<query xmlns='jabber:iq:roster'/>`)},
			xml:  `<iq id='bv1bs71f' from='juliet@example.com/balcony' type='get'><query xmlns='jabber:iq:roster'/></iq>`,
		},
		{
			name: "set",
			in:   &IQ{Header: Header{ID: "a78b4q6ha463"}, Type: IQSet, Payload: mustRaw(t, roster)},
			xml:  `<iq id='a78b4q6ha463' type='set'>` + roster + `</iq>`,
		},
		{name: "empty result", in: &IQ{Header: Header{ID: "r", To: juliet}, Type: IQResult}, xml: `<iq id='r' to='juliet@example.com/balcony' type='result'/>`},
		{name: "result with payload", in: &IQ{Header: Header{ID: "r"}, Type: IQResult, Payload: mustRaw(t, roster)}},
		{
			name: "error with payload and app condition",
			in: &IQ{
				Header:  Header{ID: "e"},
				Type:    IQError,
				Payload: mustRaw(t, `<query xmlns='jabber:iq:roster'/>`),
				Error: &Error{
					Type: ErrorModify, Condition: BadRequest,
					Text: "too many", TextLang: "en", AltTexts: []Text{{Lang: "de", Value: "zu viele"}},
					App: mustRaw(t, `<too-many-items xmlns='urn:example:app'/>`),
				},
			},
			xml: `<iq id='e' type='error'><query xmlns='jabber:iq:roster'/><error type='modify'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>too many</text><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='de'>zu viele</text><too-many-items xmlns='urn:example:app'/></error></iq>`,
		},
		{
			name: "error defaults its type",
			in:   &IQ{Header: Header{ID: "e"}, Type: IQError, Error: &Error{Condition: ServiceUnavailable}},
			xml:  `<iq id='e' type='error'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`,
			want: &IQ{Header: Header{ID: "e"}, Type: IQError, Error: &Error{Type: ErrorCancel, Condition: ServiceUnavailable}},
		},
		{
			name: "redirect",
			in:   &IQ{Header: Header{ID: "e"}, Type: IQError, Error: &Error{Type: ErrorModify, Condition: Redirect, URI: "xmpp:characters@conference.example.org"}},
		},
	})
}

func TestEveryConditionRoundTrips(t *testing.T) {
	t.Parallel()
	var tests []roundTrip
	for c, typ := range defaultTypes {
		tests = append(tests, roundTrip{
			name: string(c),
			in:   &IQ{Header: Header{ID: "x"}, Type: IQError, Error: &Error{Type: typ, Condition: c, Text: string(c)}},
		})
	}
	require.Len(t, tests, 22)
	checkRoundTrips(t, tests)
}

// TestTokenPathNames checks the names WriteXML uses.
func TestTokenPathNames(t *testing.T) {
	t.Parallel()
	var toks []xml.Token
	w := tokenRecorder(func(tok xml.Token) { toks = append(toks, xml.CopyToken(tok)) })
	m := &Message{Header: Header{Lang: "en"}, Body: "b"}
	n, err := m.WriteXML(w)
	require.NoError(t, err)
	assert.Equal(t, len(toks), n)
	require.Len(t, toks, 5)
	assert.Equal(t, xml.StartElement{
		Name: xml.Name{Space: NS, Local: "message"},
		Attr: []xml.Attr{{Name: xml.Name{Space: ns.XML, Local: "lang"}, Value: "en"}},
	}, toks[0])
	require.IsType(t, xml.StartElement{}, toks[1])
	assert.Equal(t, xml.Name{Space: NS, Local: "body"}, toks[1].(xml.StartElement).Name)
	assert.Empty(t, toks[1].(xml.StartElement).Attr)
	assert.Equal(t, xml.CharData("b"), toks[2])
	assert.Equal(t, xml.EndElement{Name: xml.Name{Space: NS, Local: "message"}}, toks[4])
}

type tokenRecorder func(xml.Token)

func (r tokenRecorder) EncodeToken(t xml.Token) error {
	r(t)
	return nil
}

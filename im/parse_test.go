package im

import (
	"encoding/xml"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

// names returns the names of the Raw payloads in ps, and "?" for others.
func names(ps []stanza.Payload) []string {
	var out []string
	for _, p := range ps {
		if r, ok := p.(*stanza.Raw); ok {
			out = append(out, r.Name().Space+" "+r.Name().Local)
		} else {
			out = append(out, "?")
		}
	}
	return out
}

// parseCase is a message and what Parse reads from it: want, and the names
// of the elements left in Other.
type parseCase struct {
	name  string
	xml   string
	want  Extensions
	other []string
}

// runParseCases parses each case's message and checks the result; with
// malformed, Parse must also return a fault.
func runParseCases(t *testing.T, cases []parseCase, malformed bool) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(mustDecode(t, tc.xml))
			if malformed {
				require.Error(t, err)
				assert.ErrorIs(t, err, ErrMalformed)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tc.other, names(got.Other))
			got.Other = nil
			assert.Equal(t, tc.want, got)
		})
	}
}

var stamp = time.Date(2002, 9, 10, 23, 8, 25, 0, time.UTC)

func TestParse(t *testing.T) {
	t.Parallel()
	runParseCases(t, []parseCase{
		{
			name: "chat message with receipt request, chat state and origin-id",
			xml: `<message from='romeo@example.net/orchard' id='m1' type='chat'><body>Hi</body>` +
				`<request xmlns='urn:xmpp:receipts'/><active xmlns='http://jabber.org/protocol/chatstates'/><origin-id xmlns='urn:xmpp:sid:0' id='o1'/></message>`,
			want: Extensions{ReceiptRequest: true, ChatState: Active, OriginID: "o1"},
		},
		{
			name: "receipt",
			xml:  `<message from='romeo@example.net/orchard' id='a1'><received xmlns='urn:xmpp:receipts' id='m1'/></message>`,
			want: Extensions{Receipt: "m1"},
		},
		{
			name: "receipt without id takes the message's (early XEP-0184)",
			xml:  `<message from='romeo@example.net/orchard' id='m1'><received xmlns='urn:xmpp:receipts'/></message>`,
			want: Extensions{Receipt: "m1"},
		},
		{
			name: "request and receipt in one message",
			xml:  `<message id='m2'><received xmlns='urn:xmpp:receipts' id='m1'/><request xmlns='urn:xmpp:receipts'/></message>`,
			want: Extensions{ReceiptRequest: true, Receipt: "m1"},
		},
		{name: "composing", xml: `<message><composing xmlns='http://jabber.org/protocol/chatstates'/></message>`, want: Extensions{ChatState: Composing}},
		{name: "paused", xml: `<message><paused xmlns='http://jabber.org/protocol/chatstates'/></message>`, want: Extensions{ChatState: Paused}},
		{name: "inactive", xml: `<message><inactive xmlns='http://jabber.org/protocol/chatstates'/></message>`, want: Extensions{ChatState: Inactive}},
		{name: "gone", xml: `<message><gone xmlns='http://jabber.org/protocol/chatstates'/></message>`, want: Extensions{ChatState: Gone}},
		{
			name:  "unknown element in the chat states namespace",
			xml:   `<message><typing xmlns='http://jabber.org/protocol/chatstates'/></message>`,
			other: []string{NSChatStates + " typing"},
		},
		{
			name: "delay from offline storage",
			xml:  `<message><body>Hi</body><delay xmlns='urn:xmpp:delay' from='example.com' stamp='2002-09-10T23:08:25Z'>Offline Storage</delay></message>`,
			want: Extensions{Delays: []Delay{{From: jid.MustParse("example.com"), Stamp: stamp, Reason: "Offline Storage"}}},
		},
		{
			name: "delay without from or reason",
			xml:  `<message><delay xmlns='urn:xmpp:delay' stamp='2002-09-10T23:08:25Z'/></message>`,
			want: Extensions{Delays: []Delay{{Stamp: stamp}}},
		},
		{
			name: "stanza-ids",
			xml: `<message><stanza-id xmlns='urn:xmpp:sid:0' id='s1' by='juliet@example.com'/>` +
				`<stanza-id xmlns='urn:xmpp:sid:0' id='s2' by='room@muc.example.com'/><origin-id xmlns='urn:xmpp:sid:0' id='o1'/></message>`,
			want: Extensions{OriginID: "o1", StanzaIDs: []StanzaID{
				{ID: "s1", By: jid.MustParse("juliet@example.com")},
				{ID: "s2", By: jid.MustParse("room@muc.example.com")},
			}},
		},
		{
			name:  "other elements of known namespaces",
			xml:   `<message><referenced-stanza xmlns='urn:xmpp:sid:0' id='r'/><x xmlns='urn:xmpp:delay'/><y xmlns='urn:xmpp:receipts'/></message>`,
			other: []string{NSSID + " referenced-stanza", NSDelay + " x", NSReceipts + " y"},
		},
		{
			name:  "legacy jabber:x:delay is not read",
			xml:   `<message><x xmlns='jabber:x:delay' from='example.com' stamp='20020910T23:08:25'/></message>`,
			other: []string{"jabber:x:delay x"},
		},
		{
			name:  "no body, only unknown extensions",
			xml:   `<message from='romeo@example.net/orchard' type='chat'><x xmlns='urn:example:a'/><y xmlns='urn:example:b'>text</y></message>`,
			other: []string{"urn:example:a x", "urn:example:b y"},
		},
		{name: "nothing", xml: `<message from='romeo@example.net/orchard'/>`},
		{
			name: "the extensions of an error message",
			xml: `<message id='m1' type='error'><request xmlns='urn:xmpp:receipts'/>` +
				`<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`,
			want: Extensions{ReceiptRequest: true},
		},
	}, false)
}

// TestParseDuplicates: the first of a one-of-a-kind extension is read and
// the later ones stay in Other; delays and stanza-ids are all read.
func TestParseDuplicates(t *testing.T) {
	t.Parallel()
	runParseCases(t, []parseCase{
		{
			name:  "two chat states",
			xml:   `<message><composing xmlns='http://jabber.org/protocol/chatstates'/><gone xmlns='http://jabber.org/protocol/chatstates'/></message>`,
			want:  Extensions{ChatState: Composing},
			other: []string{NSChatStates + " gone"},
		},
		{
			name:  "two receipt requests",
			xml:   `<message id='m1'><request xmlns='urn:xmpp:receipts'/><request xmlns='urn:xmpp:receipts'/></message>`,
			want:  Extensions{ReceiptRequest: true},
			other: []string{NSReceipts + " request"},
		},
		{
			name:  "two receipts",
			xml:   `<message><received xmlns='urn:xmpp:receipts' id='a'/><received xmlns='urn:xmpp:receipts' id='b'/></message>`,
			want:  Extensions{Receipt: "a"},
			other: []string{NSReceipts + " received"},
		},
		{
			name:  "two origin-ids",
			xml:   `<message><origin-id xmlns='urn:xmpp:sid:0' id='a'/><origin-id xmlns='urn:xmpp:sid:0' id='b'/></message>`,
			want:  Extensions{OriginID: "a"},
			other: []string{NSSID + " origin-id"},
		},
		{
			name: "two delays",
			xml: `<message><delay xmlns='urn:xmpp:delay' from='room@muc.example.com' stamp='2002-09-10T23:08:25Z'/>` +
				`<delay xmlns='urn:xmpp:delay' from='example.com' stamp='2002-09-10T23:08:26Z'/></message>`,
			want: Extensions{Delays: []Delay{
				{From: jid.MustParse("room@muc.example.com"), Stamp: stamp},
				{From: jid.MustParse("example.com"), Stamp: stamp.Add(time.Second)},
			}},
		},
		{
			name: "two stanza-ids by the same entity",
			xml:  `<message><stanza-id xmlns='urn:xmpp:sid:0' id='a' by='juliet@example.com'/><stanza-id xmlns='urn:xmpp:sid:0' id='b' by='juliet@example.com'/></message>`,
			want: Extensions{StanzaIDs: []StanzaID{
				{ID: "a", By: jid.MustParse("juliet@example.com")},
				{ID: "b", By: jid.MustParse("juliet@example.com")},
			}},
		},
	}, false)
}

func TestParseMalformed(t *testing.T) {
	t.Parallel()
	runParseCases(t, []parseCase{
		{
			name:  "receipt without id in a message without id",
			xml:   `<message><received xmlns='urn:xmpp:receipts'/><request xmlns='urn:xmpp:receipts'/></message>`,
			want:  Extensions{ReceiptRequest: true},
			other: []string{NSReceipts + " received"},
		},
		{
			name:  "a malformed first receipt hides a second one",
			xml:   `<message><received xmlns='urn:xmpp:receipts' id=''/><received xmlns='urn:xmpp:receipts' id='b'/></message>`,
			other: []string{NSReceipts + " received", NSReceipts + " received"},
		},
		{
			name:  "delay without stamp",
			xml:   `<message><delay xmlns='urn:xmpp:delay' from='example.com'/><active xmlns='http://jabber.org/protocol/chatstates'/></message>`,
			want:  Extensions{ChatState: Active},
			other: []string{NSDelay + " delay"},
		},
		{
			name:  "delay from an invalid jid",
			xml:   `<message><delay xmlns='urn:xmpp:delay' from='a@b@c' stamp='2002-09-10T23:08:25Z'/></message>`,
			other: []string{NSDelay + " delay"},
		},
		{
			name: "one malformed delay among good ones",
			xml: `<message><delay xmlns='urn:xmpp:delay' stamp='2002-09-10T23:08:25Z'/><delay xmlns='urn:xmpp:delay' stamp='yesterday'/>` +
				`<delay xmlns='urn:xmpp:delay' stamp='2002-09-10T23:08:26Z'/></message>`,
			want:  Extensions{Delays: []Delay{{Stamp: stamp}, {Stamp: stamp.Add(time.Second)}}},
			other: []string{NSDelay + " delay"},
		},
		{
			name:  "origin-id without id",
			xml:   `<message><origin-id xmlns='urn:xmpp:sid:0'/></message>`,
			other: []string{NSSID + " origin-id"},
		},
		{
			name:  "stanza-id without id",
			xml:   `<message><stanza-id xmlns='urn:xmpp:sid:0' by='juliet@example.com'/></message>`,
			other: []string{NSSID + " stanza-id"},
		},
		{
			name:  "stanza-id without by",
			xml:   `<message><stanza-id xmlns='urn:xmpp:sid:0' id='s1'/></message>`,
			other: []string{NSSID + " stanza-id"},
		},
		{
			name:  "stanza-id by an invalid jid",
			xml:   `<message><stanza-id xmlns='urn:xmpp:sid:0' id='s1' by='@example.com'/></message>`,
			other: []string{NSSID + " stanza-id"},
		},
	}, true)
}

// TestParseJoinsFaults: every fault is reported, not just the first.
func TestParseJoinsFaults(t *testing.T) {
	t.Parallel()
	_, err := Parse(mustDecode(t, `<message><delay xmlns='urn:xmpp:delay' stamp='x'/><origin-id xmlns='urn:xmpp:sid:0'/></message>`))
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrMalformed)
	assert.Contains(t, err.Error(), "stamp")
	assert.Contains(t, err.Error(), "origin-id")
}

// TestParseForwarded: a carbon-looking <received/> sent by a contact is
// not unwrapped. The message stays the contact's, and what the forwarded
// message carries (its sender, its body, its receipt request, chat state
// and delay, and the forwarding delay) is not the outer message's
// (CVE-2017-5589 class).
func TestParseForwarded(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, from, typ, wrapper string
	}{
		{"received from a contact", "mallory@evil.example/x", "chat", "received"},
		{"sent from a contact", "mallory@evil.example/x", "chat", "sent"},
		{"groupchat-typed wrapper", "mallory@evil.example/x", "groupchat", "received"},
		{"normal-typed wrapper", "mallory@evil.example/x", "normal", "sent"},
		// Not unwrapped even from the account itself: unwrapping, with
		// its checks, is a feature of its own.
		{"from the account's bare JID", "juliet@example.com", "chat", "received"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := mustDecode(t, `<message from='`+tc.from+`' to='juliet@example.com/balcony' type='`+tc.typ+`'>`+
				`<`+tc.wrapper+` xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>`+
				`<delay xmlns='urn:xmpp:delay' stamp='2002-09-10T23:08:25Z'/>`+
				`<message xmlns='jabber:client' from='romeo@example.net/orchard' to='juliet@example.com/balcony' type='chat' id='f1'>`+
				`<body>Meet me at the gate</body><request xmlns='urn:xmpp:receipts'/><composing xmlns='http://jabber.org/protocol/chatstates'/>`+
				`<origin-id xmlns='urn:xmpp:sid:0' id='o1'/><stanza-id xmlns='urn:xmpp:sid:0' id='s1' by='juliet@example.com'/>`+
				`</message></forwarded></`+tc.wrapper+`></message>`)
			x, err := Parse(m)
			require.NoError(t, err)
			assert.Equal(t, jid.MustParse(tc.from), m.From, "the message is its sender's")
			assert.Empty(t, m.Body)
			assert.Equal(t, []string{"urn:xmpp:carbons:2 " + tc.wrapper}, names(x.Other), "the wrapper stays as it came")
			x.Other = nil
			assert.Equal(t, Extensions{}, x, "nothing inside the wrapper is read as the outer message's")
			id, ok := x.TrustedStanzaID(jid.MustParse("juliet@example.com/balcony"), true)
			assert.False(t, ok)
			assert.Empty(t, id)
		})
	}
}

// TestParseBuilt: a message built with this package's values, or
// pointers to them, parses without encoding.
func TestParseBuilt(t *testing.T) {
	t.Parallel()
	d := Delay{Stamp: stamp}
	s := StanzaID{ID: "s1", By: jid.MustParse("juliet@example.com")}
	state, origin, receipt, req := Gone, OriginID("o1"), Receipt("r1"), ReceiptRequest{}
	want := Extensions{ReceiptRequest: true, Receipt: "r1", ChatState: Gone, Delays: []Delay{d}, OriginID: "o1", StanzaIDs: []StanzaID{s}}
	for _, tc := range []struct {
		name string
		exts []stanza.Payload
	}{
		{"values", []stanza.Payload{req, receipt, state, d, origin, s}},
		{"pointers", []stanza.Payload{&req, &receipt, &state, &d, &origin, &s}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			x, err := Parse(&stanza.Message{Extensions: tc.exts})
			require.NoError(t, err)
			assert.Equal(t, want, x)
		})
	}
	t.Run("nil pointers and a nil message", func(t *testing.T) {
		t.Parallel()
		var nd *Delay
		var nr *stanza.Raw
		x, err := Parse(&stanza.Message{Extensions: []stanza.Payload{nd, nr}})
		require.NoError(t, err)
		assert.Len(t, x.Other, 2)
		x, err = Parse(nil)
		require.NoError(t, err)
		assert.Equal(t, Extensions{}, x)
	})
}

// TestPayloadsRoundTrip: a message built with Payloads parses back to the
// same Extensions, Other included.
func TestPayloadsRoundTrip(t *testing.T) {
	t.Parallel()
	x := Extensions{
		ReceiptRequest: true, Receipt: "r1", ChatState: Paused, OriginID: "o1",
		Delays:    []Delay{{From: jid.MustParse("example.com"), Stamp: stamp.Add(123456789 * time.Nanosecond), Reason: "Offline <Storage> & more"}, {Stamp: stamp}},
		StanzaIDs: []StanzaID{{ID: "s1", By: jid.MustParse("juliet@example.com")}},
		Other:     []stanza.Payload{mustRaw(t, `<x xmlns='urn:example:x' a='1'><y/></x>`)},
	}
	m := &stanza.Message{Header: stanza.Header{ID: "m1"}, Type: stanza.MessageChat, Extensions: x.Payloads()}
	got, err := Parse(mustDecode(t, encode(t, m)))
	require.NoError(t, err)
	require.Len(t, got.Other, 1)
	assert.Equal(t, x.Other[0].(*stanza.Raw).String(), got.Other[0].(*stanza.Raw).String())
	got.Other, x.Other = nil, nil
	assert.Equal(t, x, got)
	assert.Empty(t, Extensions{}.Payloads())
}

func TestWriteXML(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		p    stanza.Payload
		want string
	}{
		{"request", ReceiptRequest{}, `<request xmlns='urn:xmpp:receipts'/>`},
		{"receipt", Receipt("m&1"), `<received xmlns='urn:xmpp:receipts' id='m&amp;1'/>`},
		{"active", Active, `<active xmlns='http://jabber.org/protocol/chatstates'/>`},
		{"composing", Composing, `<composing xmlns='http://jabber.org/protocol/chatstates'/>`},
		{"paused", Paused, `<paused xmlns='http://jabber.org/protocol/chatstates'/>`},
		{"inactive", Inactive, `<inactive xmlns='http://jabber.org/protocol/chatstates'/>`},
		{"gone", Gone, `<gone xmlns='http://jabber.org/protocol/chatstates'/>`},
		{
			"delay",
			Delay{From: jid.MustParse("example.com"), Stamp: time.Date(2002, 9, 10, 23, 8, 25, 500_000_000, time.FixedZone("", 2*3600)), Reason: "Offline"},
			`<delay xmlns='urn:xmpp:delay' from='example.com' stamp='2002-09-10T21:08:25.5Z'>Offline</delay>`,
		},
		{"delay, stamp only", Delay{Stamp: stamp}, `<delay xmlns='urn:xmpp:delay' stamp='2002-09-10T23:08:25Z'/>`},
		{"origin-id", OriginID("o1"), `<origin-id xmlns='urn:xmpp:sid:0' id='o1'/>`},
		{"stanza-id", StanzaID{ID: "s1", By: jid.MustParse("juliet@example.com")}, `<stanza-id xmlns='urn:xmpp:sid:0' id='s1' by='juliet@example.com'/>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := &stanza.Message{Extensions: []stanza.Payload{tc.p}}
			assert.Equal(t, "<message>"+tc.want+"</message>", encode(t, m))
			// The same through tokens.
			var w tokenRecorder
			n, err := tc.p.WriteXML(&w)
			require.NoError(t, err)
			assert.Equal(t, len(w), n)
		})
	}
}

func TestWriteXMLRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		p    stanza.Payload
	}{
		{"receipt without id", Receipt("")},
		{"no chat state", NoChatState},
		{"chat state out of range", ChatState(6)},
		{"delay without stamp", Delay{From: jid.MustParse("example.com")}},
		{"delay stamp after 9999", Delay{Stamp: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"delay stamp before 0000", Delay{Stamp: time.Date(-1, 12, 31, 23, 0, 0, 0, time.UTC)}},
		{"origin-id without id", OriginID("")},
		{"stanza-id without id", StanzaID{By: jid.MustParse("juliet@example.com")}},
		{"stanza-id without by", StanzaID{ID: "s1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var w tokenRecorder
			n, err := tc.p.WriteXML(&w)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "im: ")
			assert.Zero(t, n)
			assert.Empty(t, w)
		})
	}
}

// tokenRecorder is a token writer that keeps what it is given.
type tokenRecorder []xml.Token

func (r *tokenRecorder) EncodeToken(t xml.Token) error {
	*r = append(*r, xml.CopyToken(t))
	return nil
}

func TestChatStateString(t *testing.T) {
	t.Parallel()
	for s, want := range map[ChatState]string{
		NoChatState: "none", Active: "active", Composing: "composing", Paused: "paused",
		Inactive: "inactive", Gone: "gone", 6: "invalid", 255: "invalid",
	} {
		assert.Equal(t, want, s.String())
	}
}

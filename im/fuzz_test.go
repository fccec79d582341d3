package im

import (
	"encoding/xml"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/stanza"
)

var parseSeeds = []string{
	`<message from='romeo@example.net/orchard' id='m1' type='chat'><body>Hi</body><request xmlns='urn:xmpp:receipts'/>` +
		`<active xmlns='http://jabber.org/protocol/chatstates'/><origin-id xmlns='urn:xmpp:sid:0' id='o1'/></message>`,
	`<message id='m1'><received xmlns='urn:xmpp:receipts'/><received xmlns='urn:xmpp:receipts' id='x'/><request xmlns='urn:xmpp:receipts'/></message>`,
	`<message><composing xmlns='http://jabber.org/protocol/chatstates'/><gone xmlns='http://jabber.org/protocol/chatstates'/><typing xmlns='http://jabber.org/protocol/chatstates'/></message>`,
	`<message><delay xmlns='urn:xmpp:delay' from='example.com' stamp='2002-09-10T23:08:25.123+02:00'>Offline Storage</delay>` +
		`<delay xmlns='urn:xmpp:delay' stamp='0000-01-01T00:00:00-00:01'/><delay xmlns='urn:xmpp:delay' from='a@b@c' stamp='2002-09-10T23:08:25Z'><x/>r</delay></message>`,
	`<message><stanza-id xmlns='urn:xmpp:sid:0' id='s1' by='juliet@example.com'/><stanza-id xmlns='urn:xmpp:sid:0' id='s2'/>` +
		`<origin-id xmlns='urn:xmpp:sid:0' id='o'/><origin-id xmlns='urn:xmpp:sid:0'/></message>`,
	`<message from='mallory@evil.example/x' type='chat'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>` +
		`<delay xmlns='urn:xmpp:delay' stamp='2002-09-10T23:08:25Z'/><message xmlns='jabber:client' from='romeo@example.net/orchard' type='chat'>` +
		`<body>b</body><request xmlns='urn:xmpp:receipts'/></message></forwarded></received></message>`,
	`<message type='error' id='e'><error type='cancel'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error><paused xmlns='http://jabber.org/protocol/chatstates'/></message>`,
	`<message><x xmlns='jabber:x:delay' stamp='20020910T23:08:25'/><y xmlns='urn:example'/></message>`,
}

// FuzzParse decodes arbitrary bytes as a message, as the session's reader
// would, and parses its extensions: nothing panics, every fault wraps
// ErrMalformed, and what parses is written again (Extensions.Payloads),
// decoded and parsed to the same value.
func FuzzParse(f *testing.F) {
	for _, s := range parseSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, ok := decode(data)
		if !ok {
			return
		}
		x, err := Parse(m)
		if err != nil {
			require.ErrorIs(t, err, ErrMalformed)
			return
		}
		again := *m
		again.Extensions = x.Payloads()
		b, err := again.AppendXML(nil)
		require.NoError(t, err)
		m2, ok := decode(b)
		require.True(t, ok, "%s does not decode", b)
		y, err := Parse(m2)
		require.NoError(t, err, "%s", b)
		require.Len(t, y.Other, len(x.Other))
		for i := range x.Other {
			assert.Equal(t, x.Other[i].(*stanza.Raw).String(), y.Other[i].(*stanza.Raw).String())
		}
		x.Other, y.Other = nil, nil
		assert.Equal(t, x, y, "%s", b)
	})
}

// FuzzParseStamp: parseStamp never panics, whatever it accepts time.Parse
// accepts as RFC 3339 with the same instant, and a Delay with that stamp
// writes a stamp that reads back the same.
func FuzzParseStamp(f *testing.F) {
	for _, s := range []string{
		"2002-09-10T23:08:25Z", "2002-09-10T23:08:25.123456789123-05:30", "0000-01-01T00:00:00+00:01",
		"9999-12-31T23:59:59-23:59", "2002-02-29T00:00:00Z", "2002-09-10T23:08:25,5Z", "2002-09-10T23:08:25+24:00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseStamp(s)
		if err != nil {
			require.ErrorIs(t, err, ErrMalformed)
			return
		}
		std, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err, "time.Parse refuses %q", s)
		assert.True(t, std.Equal(got), "%q: %v, time.Parse says %v", s, got, std)
		var w tokenRecorder
		_, err = Delay{Stamp: got}.WriteXML(&w)
		require.NoError(t, err)
		require.NotEmpty(t, w)
		back, err := parseStamp(attr(w[0].(xml.StartElement), "stamp"))
		require.NoError(t, err)
		assert.Equal(t, got, back)
	})
}

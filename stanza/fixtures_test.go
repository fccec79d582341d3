package stanza

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
)

// TestRFCFixtures decodes the examples of RFC 6120, RFC 6121 and XEP-0115
// kept in testdata/rfc, checks every field, and round-trips them.
func TestRFCFixtures(t *testing.T) {
	t.Parallel()
	j := jid.MustParse
	tests := map[string]any{
		"rfc6120-8.2.3-roster-get.xml": &IQ{
			Header:  Header{ID: "rg1", From: j("juliet@example.com/balcony")},
			Type:    IQGet,
			Payload: mustRaw(t, `<query xmlns='jabber:iq:roster'/>`),
		},
		"rfc6120-8.3.2-service-unavailable.xml": &IQ{
			Header: Header{ID: "rg1", From: j("im.example.com"), To: j("juliet@im.example.com/balcony")},
			Type:   IQError,
			Error:  &Error{Type: ErrorCancel, Condition: ServiceUnavailable},
		},
		"rfc6120-8.3.2-app-condition.xml": &Message{
			Header: Header{ID: "ng2rx1a8", From: j("romeo@example.net/orchard"), To: j("juliet@example.com/balcony")},
			Type:   MessageError,
			Error: &Error{
				Type: ErrorModify, Condition: UndefinedCondition,
				Text: "Some special application diagnostic information!", TextLang: "en",
				App: mustRaw(t, `<special-application-condition xmlns='http://example.org/ns'/>`),
			},
		},
		"rfc6120-8.3.3.5-gone.xml": &Message{
			Header: Header{ID: "sj2b371v", From: j("romeo@example.net"), To: j("juliet@capulet.com")},
			Type:   MessageError,
			Error:  &Error{Type: ErrorCancel, Condition: Gone, By: j("example.net"), URI: "xmpp:romeo@afterwards.example.net"},
		},
		"rfc6120-8.3.3.14-redirect.xml": &IQ{
			Header: Header{ID: "cv2ry61c", From: j("characters@muc.example.com"), To: j("juliet@example.com/balcony")},
			Type:   IQError,
			Error:  &Error{Type: ErrorModify, Condition: Redirect, By: j("characters@muc.example.com"), URI: "xmpp:characters@conference.example.org"},
		},
		"rfc6121-2.1.6-roster-push.xml": &IQ{
			Header:  Header{ID: "a78b4q6ha463", To: j("juliet@example.com/chamber")},
			Type:    IQSet,
			Payload: mustRaw(t, "<query xmlns='jabber:iq:roster'>\n    <item jid='nurse@example.com'/>\n  </query>"),
		},
		"rfc6121-3.1.1-subscribe.xml": &Presence{
			Header: Header{ID: "xk3h1v69", To: j("juliet@example.com")},
			Type:   PresenceSubscribe,
		},
		"rfc6121-4.7-presence.xml": &Presence{
			Header:      Header{From: j("juliet@example.com/balcony"), Lang: "en"},
			Show:        ShowDND,
			Status:      "Wooing Romeo",
			AltStatuses: []Text{{Lang: "cs", Value: "Dvořím se Romeovi"}},
			Priority:    1,
		},
		"rfc6121-5.2.3-bodies.xml": &Message{
			Header:    Header{ID: "b4vs9km4", From: j("juliet@example.com/balcony"), To: j("romeo@example.net"), Lang: "en"},
			Type:      MessageChat,
			Body:      "Wherefore art thou, Romeo?",
			AltBodies: []Text{{Lang: "cs", Value: "Proč se jmenuješ Romeo?"}},
		},
		"rfc6121-5.2.5-thread.xml": &Message{
			Header: Header{ID: "ktx72v49", From: j("juliet@example.com/balcony"), To: j("romeo@example.net"), Lang: "en"},
			Type:   MessageChat,
			Body:   "Art thou not Romeo, and a Montague?",
			Thread: Thread{ID: "7edac73ab41e45c4aafa7b2d7b749080", Parent: "e0ffe42b28561960c6b12b944a092794b9683a38"},
		},
		"rfc6120-4.9.3.19-see-other-host.xml": &StreamError{
			Condition: StreamSeeOtherHost,
			Host:      "[2001:41D0:1:A49b::1]:9222",
		},
		"rfc6120-4.9.4-app-condition.xml": &StreamError{
			Condition: StreamNotWellFormed,
			Text:      "Some special application diagnostic information!", TextLang: "en",
			App: mustRaw(t, `<escape-your-data xmlns='http://example.org/ns'/>`),
		},
		"xep0115-caps.xml": &Presence{
			Header:     Header{From: j("romeo@montague.lit/orchard")},
			Extensions: []Payload{mustRaw(t, `<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='http://code.google.com/p/exodus' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/>`)},
		},
	}
	files, err := filepath.Glob("testdata/rfc/*.xml")
	require.NoError(t, err)
	require.Len(t, files, len(tests), "every fixture has an expectation")
	for _, file := range files {
		name := filepath.Base(file)
		want, ok := tests[name]
		require.True(t, ok, name)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			got := decodeAny(t, data)
			assert.Equal(t, want, got)

			b, err := got.(interface{ AppendXML([]byte) ([]byte, error) }).AppendXML(nil)
			require.NoError(t, err)
			assert.Equal(t, got, decodeAny(t, b), "round trip through %s", b)
		})
	}
}

// decodeAny decodes a stanza or a stream error.
func decodeAny(t *testing.T, data []byte) any {
	t.Helper()
	d, start, ok := firstStart(data)
	require.True(t, ok)
	if start.Name.Space == NSStream {
		e, err := DecodeStreamError(d, start)
		require.NoError(t, err)
		return e
	}
	s, err := Decoder{}.Decode(d, start)
	require.NoError(t, err)
	return s
}

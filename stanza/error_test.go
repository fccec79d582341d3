package stanza

import (
	"encoding/xml"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConditions(t *testing.T) {
	t.Parallel()
	all := []Condition{BadRequest, Conflict, FeatureNotImplemented, Forbidden, Gone,
		InternalServerError, ItemNotFound, JIDMalformed, NotAcceptable, NotAllowed,
		NotAuthorized, PolicyViolation, RecipientUnavailable, Redirect, RegistrationRequired,
		RemoteServerNotFound, RemoteServerTimeout, ResourceConstraint, ServiceUnavailable,
		SubscriptionRequired, UndefinedCondition, UnexpectedRequest}
	assert.Len(t, all, 22)
	for _, c := range all {
		assert.True(t, c.Known(), c)
		assert.True(t, DefaultType(c).valid(), c)
		assert.Equal(t, "stanza: "+string(c), c.Error())
	}
	assert.False(t, Condition("payment-required").Known())
	assert.Equal(t, ErrorCancel, DefaultType("payment-required"))
	assert.Equal(t, ErrorModify, DefaultType(BadRequest))
	assert.Equal(t, ErrorAuth, DefaultType(Forbidden))
	assert.Equal(t, ErrorWait, DefaultType(ResourceConstraint))
}

func TestErrorIs(t *testing.T) {
	t.Parallel()
	e := &Error{Type: ErrorCancel, Condition: ItemNotFound, Text: "no such node"}
	wrapped := fmt.Errorf("disco: fetching items: %w", e)
	tests := []struct {
		name   string
		target error
		want   bool
	}{
		{name: "its condition", target: ItemNotFound, want: true},
		{name: "other condition", target: Forbidden},
		{name: "same condition and type", target: &Error{Type: ErrorCancel, Condition: ItemNotFound}, want: true},
		{name: "same condition any type", target: &Error{Condition: ItemNotFound}, want: true},
		{name: "same condition other type", target: &Error{Type: ErrorWait, Condition: ItemNotFound}},
		{name: "stream condition", target: StreamConflict},
		{name: "unrelated", target: errors.New("x")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, errors.Is(wrapped, tt.target))
		})
	}
	var got *Error
	require.ErrorAs(t, wrapped, &got)
	assert.Equal(t, "stanza: cancel item-not-found: no such node", e.Error())
	assert.Equal(t, "stanza: wait undefined-condition", (&Error{Type: ErrorWait}).Error())
	assert.ErrorIs(t, &Error{}, UndefinedCondition)
}

func TestNewError(t *testing.T) {
	t.Parallel()
	assert.Equal(t, &Error{Type: ErrorModify, Condition: JIDMalformed, Text: "bad"}, NewError(JIDMalformed, "bad"))
}

func TestEncodeRefusesBadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		e    *Error
	}{
		{name: "unknown condition", e: &Error{Condition: "payment-required"}},
		{name: "unknown type", e: &Error{Type: "fatal", Condition: Conflict}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			iq := &IQ{Header: Header{ID: "1"}, Type: IQError, Error: tt.e}
			b, err := iq.AppendXML([]byte("x"))
			assert.Error(t, err)
			assert.Equal(t, "x", string(b))
			_, err = iq.WriteXML(tokenRecorder(func(xml.Token) { t.Error("token written") }))
			assert.Error(t, err)
		})
	}
}

func TestReplies(t *testing.T) {
	t.Parallel()
	req := &IQ{Header: Header{ID: "q1", From: juliet, To: services, Lang: "en"}, Type: IQGet, Payload: mustRaw(t, `<query xmlns='http://jabber.org/protocol/disco#info'/>`)}
	res := req.Result(nil)
	assert.Equal(t, &IQ{Header: Header{ID: "q1", From: services, To: juliet}, Type: IQResult}, res)
	e := NewError(ServiceUnavailable, "")
	er := req.ErrorReply(e)
	assert.Equal(t, &IQ{Header: Header{ID: "q1", From: services, To: juliet}, Type: IQError, Error: e}, er)
	b, err := er.AppendXML(nil)
	require.NoError(t, err)
	assert.Equal(t, `<iq id='q1' from='example.com' to='juliet@example.com/balcony' type='error'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`, string(b))
}

func TestStreamConditions(t *testing.T) {
	t.Parallel()
	all := []StreamCondition{StreamBadFormat, StreamBadNamespacePrefix, StreamConflict,
		StreamConnectionTimeout, StreamHostGone, StreamHostUnknown, StreamImproperAddressing,
		StreamInternalServerError, StreamInvalidFrom, StreamInvalidNamespace, StreamInvalidXML,
		StreamNotAuthorized, StreamNotWellFormed, StreamPolicyViolation,
		StreamRemoteConnectionFailed, StreamReset, StreamResourceConstraint, StreamRestrictedXML,
		StreamSeeOtherHost, StreamSystemShutdown, StreamUndefinedCondition,
		StreamUnsupportedEncoding, StreamUnsupportedFeature, StreamUnsupportedStanzaType,
		StreamUnsupportedVersion}
	assert.Len(t, all, 25)
	seen := map[StreamCondition]bool{}
	for _, c := range all {
		assert.False(t, seen[c], c)
		seen[c] = true
		t.Run(string(c), func(t *testing.T) {
			t.Parallel()
			assert.True(t, c.Known())
			e := &StreamError{Condition: c, Text: "because", TextLang: "en"}
			b, err := e.AppendXML(nil)
			require.NoError(t, err)
			assert.Equal(t, `<stream:error><`+string(c)+` xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>because</text></stream:error>`, string(b))
			d, start, ok := firstStart(b)
			require.True(t, ok)
			assert.Equal(t, NSStream, start.Name.Space)
			got, err := DecodeStreamError(d, start)
			require.NoError(t, err)
			assert.Equal(t, e, got)
			assert.ErrorIs(t, got, c)
		})
	}
	assert.False(t, StreamCondition("xml-not-well-formed").Known())
}

func TestStreamError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want *StreamError
		xml  string
	}{
		{
			name: "see-other-host",
			in:   `<stream:error><see-other-host xmlns='urn:ietf:params:xml:ns:xmpp-streams'> [2001:41D0:1:A49b::1]:9222 </see-other-host></stream:error>`,
			want: &StreamError{Condition: StreamSeeOtherHost, Host: "[2001:41D0:1:A49b::1]:9222"},
			xml:  `<stream:error><see-other-host xmlns='urn:ietf:params:xml:ns:xmpp-streams'>[2001:41D0:1:A49b::1]:9222</see-other-host></stream:error>`,
		},
		{
			name: "app condition and texts",
			in:   `<stream:error><undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>Sorry</text><text xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='de'>Leider</text><escape-your-data xmlns='urn:example:app'/></stream:error>`,
			want: &StreamError{Condition: StreamUndefinedCondition, Text: "Sorry", TextLang: "en", AltTexts: []Text{{Lang: "de", Value: "Leider"}}, App: mustRaw(t, `<escape-your-data xmlns='urn:example:app'/>`)},
		},
		{
			name: "unknown condition",
			in:   `<stream:error><xml-not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>`,
			want: &StreamError{Condition: StreamUndefinedCondition},
			xml:  `<stream:error><undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>`,
		},
		{
			name: "other prefix",
			in:   `<s:error xmlns:s='http://etherx.jabber.org/streams'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></s:error>`,
			want: &StreamError{Condition: StreamConflict},
			xml:  `<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, start, ok := firstStart([]byte(tt.in))
			require.True(t, ok)
			got, err := DecodeStreamError(d, start)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			want := tt.xml
			if want == "" {
				want = tt.in
			}
			b, err := got.AppendXML(nil)
			require.NoError(t, err)
			assert.Equal(t, want, string(b))
		})
	}
	e := &StreamError{Condition: StreamSeeOtherHost, Host: "h.example:5222", Text: "moved"}
	assert.Equal(t, "stanza: stream error see-other-host h.example:5222: moved", e.Error())
	assert.ErrorIs(t, fmt.Errorf("session: %w", e), StreamSeeOtherHost)
	assert.ErrorIs(t, e, &StreamError{Condition: StreamSeeOtherHost})
	assert.NotErrorIs(t, e, StreamConflict)
	_, err := (&StreamError{Condition: "xml-not-well-formed"}).AppendXML(nil)
	assert.Error(t, err)
}

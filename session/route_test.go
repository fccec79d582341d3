package session

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/stanza"
)

// MessageTypes and PresenceTypes select by type, whatever the payload.
func TestRouteByTypes(t *testing.T) {
	chatState, err := stanza.ParseRaw([]byte(`<active xmlns='http://jabber.org/protocol/chatstates'/>`))
	require.NoError(t, err)
	msgTests := []struct {
		name  string
		route MessageRoute
		msg   *stanza.Message
		want  bool
	}{
		{"chat selects chat", MessageTypes(stanza.MessageChat), &stanza.Message{Type: stanza.MessageChat, Body: "hi"}, true},
		{"chat selects chat without body", MessageTypes(stanza.MessageChat), &stanza.Message{Type: stanza.MessageChat, Extensions: []stanza.Payload{chatState}}, true},
		{"chat does not select normal", MessageTypes(stanza.MessageChat), &stanza.Message{Type: stanza.MessageNormal, Body: "hi"}, false},
		{"chat does not select groupchat", MessageTypes(stanza.MessageChat), &stanza.Message{Type: stanza.MessageGroupChat, Body: "hi"}, false},
		{"chat does not select error", MessageTypes(stanza.MessageChat), &stanza.Message{Type: stanza.MessageError}, false},
		{"two types, second", MessageTypes(stanza.MessageChat, stanza.MessageNormal), &stanza.Message{Type: stanza.MessageNormal}, true},
		{"two types, other", MessageTypes(stanza.MessageChat, stanza.MessageNormal), &stanza.Message{Type: stanza.MessageHeadline}, false},
		{"no types selects all", MessageTypes(), &stanza.Message{Type: stanza.MessageHeadline}, true},
	}
	for _, tt := range msgTests {
		t.Run("message/"+tt.name, func(t *testing.T) {
			m := NewMux()
			m.HandleMessageFunc(tt.route, func(context.Context, *Session, *stanza.Message) {})
			assert.Equal(t, tt.want, len(m.messageHandlers(nil, tt.msg)) == 1)
		})
	}

	presTests := []struct {
		name  string
		route PresenceRoute
		p     *stanza.Presence
		want  bool
	}{
		{"subscribe selects subscribe", PresenceTypes(stanza.PresenceSubscribe), &stanza.Presence{Type: stanza.PresenceSubscribe}, true},
		{"subscribe does not select available", PresenceTypes(stanza.PresenceSubscribe), &stanza.Presence{}, false},
		{"available selects available", PresenceTypes(stanza.PresenceAvailable), &stanza.Presence{}, true},
		{"available does not select unavailable", PresenceTypes(stanza.PresenceAvailable), &stanza.Presence{Type: stanza.PresenceUnavailable}, false},
		{"no types selects all", PresenceTypes(), &stanza.Presence{Type: stanza.PresenceProbe}, true},
	}
	for _, tt := range presTests {
		t.Run("presence/"+tt.name, func(t *testing.T) {
			m := NewMux()
			m.HandlePresenceFunc(tt.route, func(context.Context, *Session, *stanza.Presence) {})
			assert.Equal(t, tt.want, len(m.presenceHandlers(nil, tt.p)) == 1)
		})
	}
}

// The route keeps its own copy of the types: changing the caller's slice
// afterwards does not change what a registered handler receives.
func TestRouteByTypesCopies(t *testing.T) {
	types := []stanza.MessageType{stanza.MessageChat}
	m := NewMux()
	m.HandleMessageFunc(MessageTypes(types...), func(context.Context, *Session, *stanza.Message) {})
	types[0] = stanza.MessageHeadline
	assert.Len(t, m.messageHandlers(nil, &stanza.Message{Type: stanza.MessageChat}), 1)
	assert.Empty(t, m.messageHandlers(nil, &stanza.Message{Type: stanza.MessageHeadline}))

	ptypes := []stanza.PresenceType{stanza.PresenceSubscribe}
	pm := NewMux()
	pm.HandlePresenceFunc(PresenceTypes(ptypes...), func(context.Context, *Session, *stanza.Presence) {})
	ptypes[0] = stanza.PresenceProbe
	assert.Len(t, pm.presenceHandlers(nil, &stanza.Presence{Type: stanza.PresenceSubscribe}), 1)
	assert.Empty(t, pm.presenceHandlers(nil, &stanza.Presence{Type: stanza.PresenceProbe}))
}

package session

import (
	"context"
	"encoding/xml"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/stanza"
)

// A second handler for the same iq type and payload panics, as with
// net/http.ServeMux, and the first stays registered; registrations that
// differ in type, name or specificity do not collide.
func TestMuxDuplicateIQRegistration(t *testing.T) {
	roster := xml.Name{Space: "jabber:iq:roster", Local: "query"}
	tests := []struct {
		name        string
		first, then iqKey
		panics      string // "" when the second registration is allowed
	}{
		{"same type and name", iqKey{stanza.IQSet, roster}, iqKey{stanza.IQSet, roster},
			"session: multiple registrations for iq set {jabber:iq:roster query}"},
		{"same type and namespace", iqKey{stanza.IQGet, xml.Name{Space: "urn:example"}}, iqKey{stanza.IQGet, xml.Name{Space: "urn:example"}},
			"session: multiple registrations for iq get {urn:example}"},
		{"other type", iqKey{stanza.IQSet, roster}, iqKey{stanza.IQGet, roster}, ""},
		{"name and its namespace", iqKey{stanza.IQSet, roster}, iqKey{stanza.IQSet, xml.Name{Space: roster.Space}}, ""},
		{"other name", iqKey{stanza.IQSet, roster}, iqKey{stanza.IQSet, xml.Name{Space: roster.Space, Local: "other"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMux()
			first := IQHandlerFunc(func(context.Context, *Session, *stanza.IQ) (stanza.Payload, error) { return nil, nil })
			second := IQHandlerFunc(func(context.Context, *Session, *stanza.IQ) (stanza.Payload, error) { return nil, stanza.Conflict })
			m.HandleIQ(tt.first.typ, tt.first.name, first)
			register := func() { m.HandleIQ(tt.then.typ, tt.then.name, second) }
			if tt.panics == "" {
				assert.NotPanics(t, register)
				return
			}
			assert.PanicsWithValue(t, tt.panics, register)
			h := m.iqHandler(tt.first.typ, tt.first.name)
			require.NotNil(t, h)
			_, err := h.HandleIQ(context.Background(), nil, nil)
			assert.NoError(t, err, "the first handler stays registered")
		})
	}
}

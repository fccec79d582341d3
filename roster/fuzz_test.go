package roster

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/stanza"
)

// FuzzParseQuery feeds the roster parser what the network could send: it
// must not panic, must refuse with ErrMalformed, and what it accepts must
// survive writing and reading back unchanged.
func FuzzParseQuery(f *testing.F) {
	f.Add([]byte(`<query xmlns='jabber:iq:roster' ver='ver11'><item jid='romeo@example.net' name='Romeo' subscription='both'><group>Friends</group></item><item jid='mercutio@example.com' subscription='from'/></query>`))
	f.Add([]byte(`<query xmlns='jabber:iq:roster' ver=''/>`))
	f.Add([]byte(`<query xmlns='jabber:iq:roster'><item jid='a@b' subscription='remove' ask='unsubscribe' approved='1'><group/><group>a</group><group>a</group></item></query>`))
	f.Add([]byte(`<query xmlns='jabber:iq:roster'><item jid='a@b/c' ask='subscribe' approved='true'><x xmlns='urn:x'/></item></query>`))
	f.Add([]byte(`<query xmlns='jabber:iq:roster'><item jid='a@b@c'/></query>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		raw, err := stanza.ParseRaw(data)
		if err != nil {
			return
		}
		q, err := ParseQuery(raw)
		if err != nil {
			require.ErrorIs(t, err, ErrMalformed)
			return
		}
		again, err := ParseQuery(render(t, q))
		require.NoError(t, err)
		if !q.Versioned {
			// A ver attribute is written only when present or non-empty.
			assert.Empty(t, q.Ver)
		}
		assert.Equal(t, q, again)
	})
}

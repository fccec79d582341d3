package roster

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
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

// FuzzLoad feeds Load what a damaged or hostile file could hold: it must
// not panic, must leave the cache as it was on error, and what it accepts
// must survive saving and loading back unchanged.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(`<roster xmlns='urn:parleyim:roster-cache:0' account='juliet@example.com'><query xmlns='jabber:iq:roster' ver='v1'><item jid='romeo@example.net' name='Romeo' subscription='both'><group>Friends</group></item></query></roster>`))
	f.Add([]byte(`<?xml version='1.0'?><roster xmlns='urn:parleyim:roster-cache:0'><query xmlns='jabber:iq:roster'/></roster>`))
	f.Add([]byte(`<roster xmlns='urn:parleyim:roster-cache:0'><query xmlns='jabber:iq:roster'><item jid='a@b'/><item jid='a@b'/></query></roster>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := NewCache()
		require.NoError(t, c.replace(jid.MustParse("x@y"), "v0", []Item{{JID: jid.MustParse("z@y")}}))
		if err := c.Load(bytes.NewReader(data)); err != nil {
			assert.Equal(t, "v0", c.Ver())
			assert.Equal(t, 1, c.Len())
			return
		}
		var buf bytes.Buffer
		require.NoError(t, c.Save(&buf))
		d := NewCache()
		require.NoError(t, d.Load(&buf), "reloading %s", buf.String())
		assert.Equal(t, c.Account(), d.Account())
		assert.Equal(t, c.Ver(), d.Ver())
		assert.Equal(t, c.Items(), d.Items())
	})
}

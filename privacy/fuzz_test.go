package privacy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/stanza"
)

// FuzzParseQuery feeds the privacy-list parser what the network could
// send: it must not panic, must refuse with ErrMalformed, and what it
// accepts must survive writing and reading back unchanged.
func FuzzParseQuery(f *testing.F) {
	f.Add([]byte(`<query xmlns='jabber:iq:privacy'><active name='private'/><default name='public'/><list name='public'/><list name='private'/></query>`))
	f.Add([]byte(`<query xmlns='jabber:iq:privacy'><active/><default/></query>`))
	f.Add([]byte(`<query xmlns='jabber:iq:privacy'><list name='l'><item type='jid' value='Tybalt@Example.COM/Home' action='deny' order='1'><message/><iq/><presence-in/><presence-out/></item><item type='group' value='g' action='allow' order='2'/><item type='subscription' value='both' action='deny' order='3'/><item action='allow' order='4'/></list></query>`))
	f.Add([]byte(`<query xmlns='jabber:iq:privacy' xmlns:x='urn:x'><list name='l'><item action='allow' order='01' x:type='jid' value='v'><x:message/></item></list></query>`))
	f.Add([]byte(`<query xmlns='jabber:iq:privacy'><list name='l'><item type='jid' value='a@b@c' action='deny' order='1'/></list></query>`))
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
		for _, l := range q.Lists {
			require.NotEmpty(t, l.Name)
			for _, it := range l.Items {
				require.NoError(t, it.Validate(), "a parsed item is valid")
			}
		}
		again, err := ParseQuery(render(t, q))
		require.NoError(t, err)
		assert.Equal(t, q, again)
	})
}

// FuzzParseBlocking does the same for the blocking parser.
func FuzzParseBlocking(f *testing.F) {
	f.Add([]byte(`<blocklist xmlns='urn:xmpp:blocking'><item jid='Romeo@Montague.net'/><item jid='montague.net/x'/></blocklist>`))
	f.Add([]byte(`<block xmlns='urn:xmpp:blocking'><item jid='a@b'/><x xmlns='urn:x'/></block>`))
	f.Add([]byte(`<unblock xmlns='urn:xmpp:blocking'/>`))
	f.Add([]byte(`<unblock xmlns='urn:xmpp:blocking'><item jid='a@@b'/></unblock>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		raw, err := stanza.ParseRaw(data)
		if err != nil {
			return
		}
		b, err := ParseBlocking(raw)
		if err != nil {
			require.ErrorIs(t, err, ErrMalformed)
			return
		}
		again, err := ParseBlocking(render(t, b))
		require.NoError(t, err)
		assert.Equal(t, b, again)
	})
}

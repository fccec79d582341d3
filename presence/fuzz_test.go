package presence

import (
	"bytes"
	"context"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/disco"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// savedRoster is juliet's roster as roster.Cache.Save writes it: romeo and
// nurse are contacts.
const savedRoster = `<roster xmlns='urn:parleyim:roster-cache:0' account='juliet@example.com'><query xmlns='jabber:iq:roster' ver='v1'>` +
	`<item jid='romeo@example.net' subscription='both'/><item jid='nurse@example.com' subscription='to'/></query></roster>`

var presenceSeeds = []string{
	`<presence from='romeo@example.net/orchard'><show>chat</show><status>hi</status><status xml:lang='it'>ciao</status><priority>5</priority>` +
		`<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v'/></presence>` +
		`<presence from='romeo@example.net/orchard' type='unavailable'/>`,
	`<presence from='romeo@example.net/a'/><presence from='romeo@example.net/b'/><presence from='romeo@example.net/c'/><presence from='romeo@example.net/d'/>` +
		`<presence from='romeo@example.net' type='unavailable'/>`,
	`<presence from='tybalt@example.org/x'/><presence from='juliet@example.com/phone'><priority>-128</priority></presence>`,
	`<presence from='romeo@example.net/m'><x xmlns='http://jabber.org/protocol/muc#user'/></presence>`,
	`<presence from='a@example.org/x' type='subscribe'/><presence from='b@example.org' type='subscribe'/><presence from='c@example.org' type='subscribe'/>` +
		`<presence from='d@example.org' type='subscribe'/><presence from='e@example.org' type='subscribe'/><presence from='a@example.org' type='unsubscribe'/>`,
	`<presence from='nurse@example.com/k'/><presence from='nurse@example.com' type='unsubscribed'/><presence from='nurse@example.com/k' type='error'><error type='cancel'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>`,
	`<presence from='juliet@example.com' type='subscribe'/><presence type='subscribed'/><presence from='romeo@example.net/p' type='probe'/>`,
	`<presence from='romeo@example.net/z'><show>sleeping</show><priority>999</priority></presence>`,
}

// FuzzHandlePresence feeds the Manager presence as the network could send
// it: nothing panics, and the tracker and the pending requests keep their
// bounds and rules whatever comes.
func FuzzHandlePresence(f *testing.F) {
	for _, s := range presenceSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		mux := session.NewMux()
		rs := roster.Handle(mux)
		require.NoError(t, rs.Cache().Load(strings.NewReader(savedRoster)))
		m := Handle(mux, rs, &Options{MaxResources: 3, MaxPending: 4})
		m.tracker.reset(account, t0, nil)
		// Every resource the tracker holds came with an Online event and
		// left with an Offline one: the events add up to its size.
		var online int
		m.HandleBroadcast(func(_ context.Context, _ *session.Session, e Event) {
			switch e.Op {
			case Online:
				online++
			case Offline:
				online--
			}
		})

		d := xml.NewDecoder(bytes.NewReader(append(append([]byte("<s xmlns='jabber:client'>"), data...), "</s>"...)))
		if _, err := d.Token(); err != nil {
			return
		}
		for range 64 {
			tok, err := d.Token()
			if err != nil {
				return
			}
			start, ok := tok.(xml.StartElement)
			if !ok {
				continue
			}
			st, err := stanza.Decoder{}.Decode(d, start)
			if err != nil {
				return // the session answers or drops it; the stream may be over
			}
			p, ok := st.(*stanza.Presence)
			if !ok {
				continue
			}
			m.HandlePresence(context.Background(), nil, p)
			c, ok := m.parsed.find(p) // from memory now, when it was parsed
			wantC, wantOK := disco.FindCaps(p)
			require.Equal(t, wantOK, ok, "caps found")
			require.Equal(t, wantC, c, "caps")
			checkInvariants(t, m)
			require.Equal(t, m.Tracker().Len(), online, "Online minus Offline events")
		}
	})
}

// checkInvariants checks what must hold of a Manager whatever it was fed.
func checkInvariants(t *testing.T, m *Manager) {
	t.Helper()
	tr := m.Tracker()
	n := 0
	for _, j := range tr.Online() {
		require.True(t, j.IsBare())
		_, contact := m.roster.Cache().Item(j)
		require.True(t, contact || j == account, "%s tracked but not a contact", j)
		rs := tr.Resources(j)
		require.NotEmpty(t, rs)
		require.LessOrEqual(t, len(rs), 3)
		best, ok := tr.Best(j)
		require.True(t, ok)
		assert.Equal(t, rs[0], best)
		for _, r := range rs {
			assert.Equal(t, j, r.JID.Bare())
			assert.True(t, r.Priority >= -128 && r.Priority <= 127)
			assert.Contains(t, showRanks[:], r.Show)
			got, ok := tr.Resource(r.JID)
			require.True(t, ok)
			assert.Equal(t, r, got)
		}
		n += len(rs)
	}
	assert.Equal(t, n, tr.Len())
	pending := m.Pending()
	require.LessOrEqual(t, len(pending), 4)
	for _, r := range pending {
		assert.True(t, r.From.IsBare())
		assert.NotEqual(t, account, r.From)
	}
}

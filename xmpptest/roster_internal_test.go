package xmpptest

import (
	"bytes"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/stanza"
)

// FuzzRosterSet feeds arbitrary roster queries to the reader of a
// client's roster set. It must not panic; what it accepts must keep the
// rules it checks (one item with a bare JID other than the owner's, groups
// not empty and not repeated) and survive being written and read back,
// since the server stores it and pushes it to every interested resource.
func FuzzRosterSet(f *testing.F) {
	for _, seed := range []string{
		"<query xmlns='jabber:iq:roster'><item jid='bob@example.test' name='Bob'><group>Friends</group><group>Work</group></item></query>",
		"<query xmlns='jabber:iq:roster'><item jid='bob@example.test' subscription='remove'/></query>",
		"<query xmlns='jabber:iq:roster'><item jid='x1@d'/><item jid='x2@d'/></query>",
		"<query xmlns='jabber:iq:roster'><item jid='alice@example.test'/></query>",
		"<query xmlns='jabber:iq:roster'><item jid='carol@d/r' ask='subscribe' approved='true' subscription='both'/></query>",
		"<query xmlns='jabber:iq:roster'><item jid='g@d'><group/><group>A</group><group>A</group><group> </group></item></query>",
		"<query xmlns='jabber:iq:roster' ver='3'><foo/><item jid='KARL@D' foo='bar'><x xmlns='urn:x'><group>inner</group></x></item></query>",
		"<query xmlns='jabber:iq:roster'><item jid='a@b@c'/></query>",
		"<query xmlns='urn:other'/>",
	} {
		f.Add([]byte(seed))
	}
	owner := jid.MustParse("alice@example.test")
	f.Fuzz(func(t *testing.T, data []byte) {
		raw, err := stanza.ParseRaw(data)
		if err != nil {
			return
		}
		it, _, serr := readRosterSet(raw, owner)
		if serr != nil {
			assert.NotEmpty(t, serr.Condition)
			return
		}
		require.False(t, it.JID.IsZero())
		assert.Empty(t, it.JID.Resourcepart())
		assert.NotEqual(t, owner, it.JID)
		assert.Equal(t, roster.SubscriptionNone, it.Subscription)
		assert.False(t, it.Ask || it.Approved)
		for i, g := range it.Groups {
			assert.NotEmpty(t, g)
			assert.False(t, slices.Contains(it.Groups[:i], g), "group %q twice", g)
		}
		// Stored and pushed: it must be written and read back unchanged.
		b, err := (&stanza.IQ{Header: stanza.Header{ID: "p"}, Type: stanza.IQSet, Payload: &roster.Query{Ver: "1-x", Items: []roster.Item{it}}}).AppendXML(nil)
		if err != nil {
			// A name or group the stanza encoder refuses (a character
			// XML cannot carry) was refused on the way in too.
			t.Fatalf("accepted an item that cannot be pushed: %v", err)
		}
		st, err := stanza.ParseRaw(b[bytes.Index(b, []byte("<query")):bytes.LastIndex(b, []byte("</iq>"))])
		require.NoError(t, err)
		q, err := roster.ParseQuery(st)
		require.NoError(t, err)
		require.Len(t, q.Items, 1)
		assert.True(t, q.Items[0].Equal(it), "%+v read back as %+v", it, q.Items[0])
	})
}

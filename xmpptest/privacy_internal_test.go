package xmpptest

import (
	"encoding/xml"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/privacy"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/stanza"
)

// TestJIDMatches checks the four levels of RFC 3921 §10.1 against
// addresses that share more or less with the item.
func TestJIDMatches(t *testing.T) {
	addrs := []string{"bob@d/r1", "bob@d/r2", "bob@d", "eve@d/r1", "eve@d", "d/r1", "d", "bob@e/r1", "e"}
	tests := []struct {
		pat  string
		want []string // the addrs it matches
	}{
		{"bob@d/r1", []string{"bob@d/r1"}},
		{"bob@d", []string{"bob@d/r1", "bob@d/r2", "bob@d"}},
		{"d/r1", []string{"bob@d/r1", "eve@d/r1", "d/r1"}},
		{"d", []string{"bob@d/r1", "bob@d/r2", "bob@d", "eve@d/r1", "eve@d", "d/r1", "d"}},
		{"BOB@D", []string{"bob@d/r1", "bob@d/r2", "bob@d"}},
	}
	for _, tt := range tests {
		var got []string
		for _, a := range addrs {
			if jidMatches(jid.MustParse(tt.pat), jid.MustParse(a)) {
				got = append(got, a)
			}
		}
		assert.Equal(t, tt.want, got, tt.pat)
	}
}

// parseList reads a <list/> the way a set does.
func parseList(t *testing.T, items ...string) *privList {
	t.Helper()
	raw, err := stanza.ParseRaw([]byte("<query xmlns='jabber:iq:privacy'><list name='l'>" + strings.Join(items, "") + "</list></query>"))
	require.NoError(t, err)
	_, l, serr := readPrivacySet(raw)
	require.Nil(t, serr)
	return newPrivList(l)
}

// TestListDenies checks order, allow and deny, the kinds an item covers
// and group and subscription matching against a roster.
func TestListDenies(t *testing.T) {
	b := &rosterBook{items: map[jid.JID]rosterEntry{}, removed: map[jid.JID]uint64{}}
	b.put(roster.Item{JID: jid.MustParse("friend@d"), Subscription: roster.SubscriptionBoth, Groups: []string{"Friends"}})
	b.put(roster.Item{JID: jid.MustParse("fan@d"), Subscription: roster.SubscriptionFrom, Groups: []string{"Fans", "Friends"}})
	b.put(roster.Item{JID: jid.MustParse("asked@d"), Ask: true})
	friend, fan, asked, stranger := jid.MustParse("friend@d/x"), jid.MustParse("fan@d/x"), jid.MustParse("asked@d/x"), jid.MustParse("who@e/x")

	type check struct {
		other jid.JID
		f     flow
		deny  bool
	}
	tests := []struct {
		name   string
		items  []string
		checks []check
	}{
		{"empty list allows", nil, []check{{stranger, flowMessageIn, false}, {friend, flowOtherOut, false}}},
		{"lowest order first, whatever the document order", []string{
			"<item action='deny' order='9'/>",
			"<item type='jid' value='friend@d' action='allow' order='3'/>",
		}, []check{{friend, flowMessageIn, false}, {fan, flowMessageIn, true}, {stranger, flowOtherOut, true}}},
		{"message covers incoming messages only", []string{
			"<item type='jid' value='who@e' action='deny' order='1'><message/></item>",
		}, []check{{stranger, flowMessageIn, true}, {stranger, flowIQIn, false}, {stranger, flowOtherOut, false}, {stranger, flowPresenceIn, false}}},
		{"iq, presence-in, presence-out", []string{
			"<item type='jid' value='who@e' action='deny' order='1'><iq/><presence-out/></item>",
			"<item type='jid' value='friend@d' action='deny' order='2'><presence-in/></item>",
		}, []check{
			{stranger, flowIQIn, true}, {stranger, flowPresenceOut, true}, {stranger, flowPresenceIn, false}, {stranger, flowMessageIn, false},
			{friend, flowPresenceIn, true}, {friend, flowPresenceOut, false}, {friend, flowOtherIn, false},
		}},
		{"no child covers everything, subscription presence too", []string{
			"<item type='jid' value='who@e' action='deny' order='1'/>",
		}, []check{{stranger, flowOtherIn, true}, {stranger, flowOtherOut, true}, {stranger, flowMessageIn, true}}},
		{"group", []string{
			"<item type='group' value='Friends' action='deny' order='1'/>",
		}, []check{{friend, flowMessageIn, true}, {fan, flowMessageIn, true}, {asked, flowMessageIn, false}, {stranger, flowMessageIn, false}}},
		{"subscription none covers strangers and pending items", []string{
			"<item type='subscription' value='none' action='deny' order='1'/>",
		}, []check{{stranger, flowMessageIn, true}, {asked, flowMessageIn, true}, {friend, flowMessageIn, false}, {fan, flowMessageIn, false}}},
		{"subscription from and both", []string{
			"<item type='subscription' value='from' action='deny' order='1'/>",
			"<item type='subscription' value='both' action='allow' order='2'/>",
			"<item action='deny' order='3'/>",
		}, []check{{fan, flowMessageIn, true}, {friend, flowMessageIn, false}, {stranger, flowMessageIn, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := parseList(t, tt.items...)
			for _, c := range tt.checks {
				assert.Equal(t, c.deny, l.denies(b, c.other, c.f), "%s flow %d", c.other, c.f)
			}
		})
	}
}

// TestReadPrivacySetErrors checks what a set is refused for, and what
// it lets through.
func TestReadPrivacySetErrors(t *testing.T) {
	for _, tt := range []struct {
		q    string
		text string // what the error's text holds
	}{
		{"<list name='l'><item action='deny'/></list>", "without order"},
		{"<list name='l'><item action='deny' order='x'/></list>", "not an unsigned integer"},
		{"<list name='l'><item action='deny' order='-1'/></list>", "not an unsigned integer"},
		{"<list name='l'><item action='deny' order='4294967296'/></list>", "not an unsigned integer"},
		{"<list name='l'><item action='maybe' order='1'/></list>", "not allow or deny"},
		{"<list name='l'><item order='1'/></list>", "not allow or deny"},
		{"<list name='l'><item action='deny' order='1'/><item action='allow' order='1'/></list>", "order 1 twice"},
		{"<list name='l'><item type='jid' value='a@b@c' action='deny' order='1'/></list>", "jid"},
		{"<list name='l'><item type='jid' action='deny' order='1'/></list>", "without a value"},
		{"<list name='l'><item type='group' action='deny' order='1'/></list>", "without a value"},
		{"<list name='l'><item type='group' value='' action='deny' order='1'/></list>", "empty group"},
		{"<list name='l'><item type='subscription' value='remove' action='deny' order='1'/></list>", "not none, to, from or both"},
		{"<list name='l'><item type='colour' value='red' action='deny' order='1'/></list>", "unknown type"},
		{"<list name='l'><foo/></list>", "unexpected <foo/>"},
		{"<list name='l'><item xmlns='urn:other' action='deny' order='1'/></list>", "unexpected <item/>"},
		{"<list><item action='deny' order='1'/></list>", "a list has a name"},
		{"<list name=''/>", "a list has a name"},
		{"<bogus/>", "unknown element <bogus/>"},
		{"<active><list name='x'/></active>", "unexpected <list/>"},
		{"", "exactly one"},
		{"<active/><active/>", "exactly one"},
		{"<active name='l'/><list name='l'/>", "exactly one"},
	} {
		raw, err := stanza.ParseRaw([]byte("<query xmlns='jabber:iq:privacy'>" + tt.q + "</query>"))
		require.NoError(t, err)
		_, _, serr := readPrivacySet(raw)
		if assert.NotNil(t, serr, tt.q) {
			assert.Equal(t, stanza.BadRequest, serr.Condition, tt.q)
			assert.Contains(t, serr.Text, tt.text, tt.q)
			assert.NotContains(t, serr.Text, "privacy:", "the client package's prefix is cut")
		}
	}
	// Passed over, as Prosody and ejabberd do: stanza kinds they do not
	// know, elements inside a kind, and a value without a type.
	for _, tt := range []struct {
		q     string
		kinds privacy.Kinds
	}{
		{"<list name='l'><item action='deny' order='1'><sms/></item></list>", 0},
		{"<list name='l'><item action='deny' order='1'><message><x/></message></item></list>", privacy.Message},
		{"<list name='l'><item action='deny' order='1'><iq xmlns='urn:other'/></item></list>", 0},
		{"<list name='l'><item value='x' action='deny' order='1'/></list>", 0},
	} {
		raw, err := stanza.ParseRaw([]byte("<query xmlns='jabber:iq:privacy'>" + tt.q + "</query>"))
		require.NoError(t, err)
		_, l, serr := readPrivacySet(raw)
		if assert.Nil(t, serr, tt.q) {
			assert.Equal(t, []privacy.Item{{Action: privacy.Deny, Order: 1, Kinds: tt.kinds}}, l.Items, tt.q)
		}
	}
	var b strings.Builder
	for i := range maxPrivacyItems + 1 {
		fmt.Fprintf(&b, "<item action='deny' order='%d'/>", i)
	}
	raw, err := stanza.ParseRaw([]byte("<query xmlns='jabber:iq:privacy'><list name='l'>" + b.String() + "</list></query>"))
	require.NoError(t, err)
	_, _, serr := readPrivacySet(raw)
	require.NotNil(t, serr)
	assert.Equal(t, stanza.ResourceConstraint, serr.Condition)
}

// FuzzPrivacyQuery feeds arbitrary privacy queries to the reader of a
// set. It must not panic, it refuses with bad-request or
// resource-constraint only, and a list it accepts must be written back
// (as a get answers it) into a query that reads back the same.
func FuzzPrivacyQuery(f *testing.F) {
	for _, seed := range []string{
		"<query xmlns='jabber:iq:privacy'><list name='l'><item type='jid' value='bob@d/r' action='deny' order='1'><message/><iq/></item><item action='allow' order='2'/></list></query>",
		"<query xmlns='jabber:iq:privacy'><list name='a&amp;b'><item type='group' value='&lt;G&gt;' action='deny' order='0'><presence-in/><presence-out/></item></list></query>",
		"<query xmlns='jabber:iq:privacy'><list name='l'><item type='subscription' value='none' action='deny' order='4294967295'/></list></query>",
		"<query xmlns='jabber:iq:privacy'><active name='x'/><default/></query>",
		"<query xmlns='jabber:iq:privacy'><list name='l'/></query>",
		"<query xmlns='jabber:iq:privacy'><list name='l'><item type='jid' value='D' action='allow' order='7'><message xmlns='urn:other'/></item></list></query>",
		"<query xmlns='jabber:iq:privacy'><list name='l'><item action='deny' order='2'/><item action='deny' order='1'><sms/></item></list></query>",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		raw, err := stanza.ParseRaw(data)
		if err != nil || raw.Name() != (xml.Name{Space: nsPrivacy, Local: "query"}) {
			return
		}
		ch, l, serr := readPrivacySet(raw)
		if serr != nil {
			require.Contains(t, []stanza.Condition{stanza.BadRequest, stanza.ResourceConstraint}, serr.Condition)
			return
		}
		if ch.Name.Local != "list" || len(l.Items) == 0 {
			return
		}
		pl := newPrivList(l)
		require.Len(t, pl.jids, len(pl.Items))
		for i, it := range pl.Items {
			if i > 0 {
				require.Less(t, pl.Items[i-1].Order, it.Order, "sorted, orders unique")
			}
			j, ok := it.JID()
			assert.Equal(t, j, pl.jids[i])
			assert.Equal(t, ok, it.Type == privacy.TypeJID)
		}
		raw2, err := stanza.Marshal(marshalled{&privacy.Query{Lists: []privacy.List{pl.List}}})
		require.NoError(t, err)
		_, l2, serr := readPrivacySet(raw2)
		require.Nil(t, serr, "%s", raw2)
		assert.Equal(t, pl.List, l2, "%s", raw2)
	})
}

// marshalled gives a payload to stanza.Marshal.
type marshalled struct{ p stanza.Payload }

func (m marshalled) MarshalXML(e *xml.Encoder, _ xml.StartElement) error {
	_, err := m.p.WriteXML(e)
	return err
}

// FuzzBlockItems feeds arbitrary block requests to their reader: no
// panic, jid-malformed or bad-request when it refuses, and every JID it
// returns is valid and named once, in the order first named.
func FuzzBlockItems(f *testing.F) {
	for _, seed := range []string{
		"<block xmlns='urn:xmpp:blocking'><item jid='bob@d'/><item jid='d/r'/><item jid='BOB@D'/></block>",
		"<unblock xmlns='urn:xmpp:blocking'/>",
		"<block xmlns='urn:xmpp:blocking'><item jid='a@b@c'/></block>",
		"<block xmlns='urn:xmpp:blocking'><item/><x/></block>",
		"<unblock xmlns='urn:xmpp:blocking'><x/><item jid='a@b'><y/></item></unblock>",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		raw, err := stanza.ParseRaw(data)
		if err != nil {
			return
		}
		if n := raw.Name(); n.Space != nsBlocking || (n.Local != "block" && n.Local != "unblock") {
			return // the server routes only these here
		}
		b, serr := readBlockItems(raw)
		if serr != nil {
			require.Contains(t, []stanza.Condition{stanza.JIDMalformed, stanza.BadRequest, stanza.ResourceConstraint}, serr.Condition)
			return
		}
		seen := map[jid.JID]bool{}
		for _, j := range b.JIDs {
			require.False(t, j.IsZero())
			require.False(t, seen[j], "%s twice", j)
			seen[j] = true
		}
		assert.Equal(t, raw.Name().Local, b.Command.String())
	})
}

package xmpptest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
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
	ch, serr := readPrivacyQuery(raw)
	require.Nil(t, serr)
	require.Len(t, ch, 1)
	l := &privList{name: "l", items: ch[0].items}
	sortItems(l.items)
	return l
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

// TestReadPrivacyQueryErrors checks what a set is refused for.
func TestReadPrivacyQueryErrors(t *testing.T) {
	for _, q := range []string{
		"<list name='l'><item action='deny'/></list>",
		"<list name='l'><item action='deny' order='x'/></list>",
		"<list name='l'><item action='deny' order='4294967296'/></list>",
		"<list name='l'><item action='maybe' order='1'/></list>",
		"<list name='l'><item order='1'/></list>",
		"<list name='l'><item action='deny' order='1'/><item action='allow' order='1'/></list>",
		"<list name='l'><item type='jid' value='a@b@c' action='deny' order='1'/></list>",
		"<list name='l'><item type='group' action='deny' order='1'/></list>",
		"<list name='l'><item type='subscription' value='remove' action='deny' order='1'/></list>",
		"<list name='l'><item type='colour' value='red' action='deny' order='1'/></list>",
		"<list name='l'><item value='x' action='deny' order='1'/></list>",
		"<list name='l'><item action='deny' order='1'><sms/></item></list>",
		"<list name='l'><item action='deny' order='1'><message><x/></message></item></list>",
		"<list name='l'><foo/></list>",
		"<bogus/>",
		"<active><list name='x'/></active>",
	} {
		raw, err := stanza.ParseRaw([]byte("<query xmlns='jabber:iq:privacy'>" + q + "</query>"))
		require.NoError(t, err)
		_, serr := readPrivacyQuery(raw)
		if assert.NotNil(t, serr, q) {
			assert.Equal(t, stanza.BadRequest, serr.Condition, q)
		}
	}
	var b strings.Builder
	for i := range maxPrivacyItems + 1 {
		fmt.Fprintf(&b, "<item action='deny' order='%d'/>", i)
	}
	raw, err := stanza.ParseRaw([]byte("<query xmlns='jabber:iq:privacy'><list name='l'>" + b.String() + "</list></query>"))
	require.NoError(t, err)
	_, serr := readPrivacyQuery(raw)
	require.NotNil(t, serr)
	assert.Equal(t, stanza.ResourceConstraint, serr.Condition)
}

// FuzzPrivacyQuery feeds arbitrary privacy queries to the reader of a
// set. It must not panic, and a list it accepts must be written back
// (as a get answers it) into a query that reads back the same.
func FuzzPrivacyQuery(f *testing.F) {
	for _, seed := range []string{
		"<query xmlns='jabber:iq:privacy'><list name='l'><item type='jid' value='bob@d/r' action='deny' order='1'><message/><iq/></item><item action='allow' order='2'/></list></query>",
		"<query xmlns='jabber:iq:privacy'><list name='a&amp;b'><item type='group' value='&lt;G&gt;' action='deny' order='0'><presence-in/><presence-out/></item></list></query>",
		"<query xmlns='jabber:iq:privacy'><list name='l'><item type='subscription' value='none' action='deny' order='4294967295'/></list></query>",
		"<query xmlns='jabber:iq:privacy'><active name='x'/><default/></query>",
		"<query xmlns='jabber:iq:privacy'><list name='l'/></query>",
		"<query xmlns='jabber:iq:privacy'><list name='l'><item type='jid' value='D' action='allow' order='7'><message xmlns='urn:other'/></item></list></query>",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		raw, err := stanza.ParseRaw(data)
		if err != nil {
			return
		}
		ch, serr := readPrivacyQuery(raw)
		if serr != nil || len(ch) != 1 || ch[0].local != "list" || len(ch[0].items) == 0 {
			return
		}
		l := &privList{name: ch[0].name, items: ch[0].items}
		sortItems(l.items)
		b := appendList([]byte("<query xmlns='jabber:iq:privacy'>"), l)
		b = append(b, "</query>"...)
		raw2, err := stanza.ParseRaw(b)
		require.NoError(t, err, "%s", b)
		ch2, serr := readPrivacyQuery(raw2)
		require.Nil(t, serr, "%s", b)
		require.Len(t, ch2, 1)
		assert.Equal(t, l.name, ch2[0].name)
		assert.Equal(t, l.items, ch2[0].items, "%s", b)
	})
}

// FuzzBlockItems feeds arbitrary block requests to their reader: no
// panic, and every JID it returns is valid and named once.
func FuzzBlockItems(f *testing.F) {
	for _, seed := range []string{
		"<block xmlns='urn:xmpp:blocking'><item jid='bob@d'/><item jid='d/r'/><item jid='BOB@D'/></block>",
		"<unblock xmlns='urn:xmpp:blocking'/>",
		"<block xmlns='urn:xmpp:blocking'><item jid='a@b@c'/></block>",
		"<block xmlns='urn:xmpp:blocking'><item/><x/></block>",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		raw, err := stanza.ParseRaw(data)
		if err != nil {
			return
		}
		js, serr := readBlockItems(raw)
		if serr != nil {
			return
		}
		seen := map[jid.JID]bool{}
		for _, j := range js {
			require.False(t, j.IsZero())
			require.False(t, seen[j], "%s twice", j)
			seen[j] = true
		}
	})
}

package privacy

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
)

func TestQueryWriteXML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		q    *Query
		want string
	}{
		{name: "names get", q: &Query{}, want: `<query xmlns='jabber:iq:privacy'/>`},
		{name: "list get", q: &Query{Lists: []List{{Name: "public"}}}, want: `<query xmlns='jabber:iq:privacy'><list name='public'/></query>`},
		{name: "set active", q: &Query{Active: "special", HasActive: true}, want: `<query xmlns='jabber:iq:privacy'><active name='special'/></query>`},
		{name: "decline active", q: &Query{HasActive: true}, want: `<query xmlns='jabber:iq:privacy'><active/></query>`},
		{name: "decline default", q: &Query{HasDefault: true}, want: `<query xmlns='jabber:iq:privacy'><default/></query>`},
		{name: "set default", q: &Query{Default: "d", HasDefault: true}, want: `<query xmlns='jabber:iq:privacy'><default name='d'/></query>`},
		{
			name: "RFC 3921 §10.13 list",
			q: &Query{Lists: []List{{Name: "special", Items: []Item{
				{Type: TypeJID, Value: "Juliet@Example.COM", Action: Allow, Order: 6},
				{Type: TypeJID, Value: "benvolio@example.org", Action: Allow, Order: 7, Kinds: Message},
				{Type: TypeGroup, Value: "Friends", Action: Deny, Order: 8, Kinds: IQ | PresenceIn},
				{Type: TypeSubscription, Value: "none", Action: Deny, Order: 9, Kinds: PresenceOut},
				{Action: Deny, Order: 42},
			}}}},
			want: `<query xmlns='jabber:iq:privacy'><list name='special'>` +
				`<item type='jid' value='juliet@example.com' action='allow' order='6'/>` +
				`<item type='jid' value='benvolio@example.org' action='allow' order='7'><message/></item>` +
				`<item type='group' value='Friends' action='deny' order='8'><iq/><presence-in/></item>` +
				`<item type='subscription' value='none' action='deny' order='9'><presence-out/></item>` +
				`<item action='deny' order='42'/></list></query>`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, render(t, tt.q).String())
		})
	}
}

func TestQueryWriteXMLRefuses(t *testing.T) {
	t.Parallel()
	for name, q := range map[string]*Query{
		"list without name": {Lists: []List{{}}},
		"invalid item":      {Lists: []List{{Name: "l", Items: []Item{{Order: 1}, {Type: TypeSubscription, Value: "maybe"}}}}},
		"bad jid":           {Lists: []List{{Name: "l", Items: []Item{{Type: TypeJID, Value: "@"}}}}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var toks tokens
			_, err := q.WriteXML(&toks)
			require.ErrorIs(t, err, ErrInvalid)
			assert.NotContains(t, toks.names(), "/query", "nothing is written after the error")
		})
	}
}

func TestParseQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		xml  string
		want *Query
		err  string // substring of the error; "" for success
	}{
		{
			name: "RFC 3921 §10.3 names result",
			xml: `<query xmlns='jabber:iq:privacy'><active name='private'/><default name='public'/>` +
				`<list name='public'/><list name='private'/><list name='special'/></query>`,
			want: &Query{Active: "private", HasActive: true, Default: "public", HasDefault: true,
				Lists: []List{{Name: "public"}, {Name: "private"}, {Name: "special"}}},
		},
		{
			name: "names result without active or default",
			xml:  `<query xmlns='jabber:iq:privacy'><active/><default/><list name='a'/></query>`,
			want: &Query{HasActive: true, HasDefault: true, Lists: []List{{Name: "a"}}},
		},
		{name: "empty", xml: `<query xmlns='jabber:iq:privacy'/>`, want: &Query{}},
		{
			name: "list result with every kind of item",
			xml: `<query xmlns='jabber:iq:privacy'><list name='l'>
				<item type='jid' value='Tybalt@Example.COM/Home' action='deny' order='1'><message/><iq/><presence-in/><presence-out/></item>
				<item type='group' value='Enemies' action='deny' order='2'><presence-out/><message/></item>
				<item type='subscription' value='from' action='allow' order='3'/>
				<item action='allow' order='4294967295' value='ignored'/>
			</list></query>`,
			want: &Query{Lists: []List{{Name: "l", Items: []Item{
				{Type: TypeJID, Value: "tybalt@example.com/Home", Action: Deny, Order: 1, Kinds: Message | IQ | PresenceIn | PresenceOut},
				{Type: TypeGroup, Value: "Enemies", Action: Deny, Order: 2, Kinds: PresenceOut | Message},
				{Type: TypeSubscription, Value: "from", Action: Allow, Order: 3},
				{Action: Allow, Order: 4294967295},
			}}}},
		},
		{
			name: "duplicate orders kept (List.Validate judges)",
			xml:  `<query xmlns='jabber:iq:privacy'><list name='l'><item action='allow' order='1'/><item action='deny' order='1'/></list></query>`,
			want: &Query{Lists: []List{{Name: "l", Items: []Item{{Order: 1}, {Action: Deny, Order: 1}}}}},
		},
		{
			name: "unknown children and attributes skipped",
			xml: `<query xmlns='jabber:iq:privacy' xmlns:x='urn:x'><x:list name='no'/><foo xmlns='urn:foo'><list name='no'/></foo>` +
				`<list name='l' x:name='other'><x:item action='bogus'/><item action='allow' order='1' x:type='jid'><x:message/><foo/></item></list></query>`,
			want: &Query{Lists: []List{{Name: "l", Items: []Item{{Order: 1}}}}},
		},
		{name: "not a privacy query", xml: `<query xmlns='jabber:iq:roster'/>`, err: "want a privacy query"},
		{name: "list without name", xml: `<query xmlns='jabber:iq:privacy'><list/></query>`, err: "list without a name"},
		{name: "list with empty name", xml: `<query xmlns='jabber:iq:privacy'><list name=''/></query>`, err: "list without a name"},
		{name: "no order", xml: `<query xmlns='jabber:iq:privacy'><list name='l'><item action='allow'/></list></query>`, err: "item without order"},
		{name: "negative order", xml: `<query xmlns='jabber:iq:privacy'><list name='l'><item action='allow' order='-1'/></list></query>`, err: `order "-1"`},
		{name: "order too large", xml: `<query xmlns='jabber:iq:privacy'><list name='l'><item action='allow' order='4294967296'/></list></query>`, err: `order "4294967296"`},
		{name: "no action", xml: `<query xmlns='jabber:iq:privacy'><list name='l'><item order='1'/></list></query>`, err: `action ""`},
		{name: "bad action", xml: `<query xmlns='jabber:iq:privacy'><list name='l'><item action='drop' order='1'/></list></query>`, err: `action "drop"`},
		{name: "unknown type", xml: `<query xmlns='jabber:iq:privacy'><list name='l'><item type='domain' value='x' action='deny' order='1'/></list></query>`, err: `unknown type "domain"`},
		{name: "type without value", xml: `<query xmlns='jabber:iq:privacy'><list name='l'><item type='jid' action='deny' order='1'/></list></query>`, err: "without a value"},
		{name: "bad jid", xml: `<query xmlns='jabber:iq:privacy'><list name='l'><item type='jid' value='a@b@c' action='deny' order='1'/></list></query>`, err: `jid "a@b@c"`},
		{name: "empty group", xml: `<query xmlns='jabber:iq:privacy'><list name='l'><item type='group' value='' action='deny' order='1'/></list></query>`, err: "empty group"},
		{name: "bad subscription", xml: `<query xmlns='jabber:iq:privacy'><list name='l'><item type='subscription' value='remove' action='deny' order='1'/></list></query>`, err: `subscription "remove"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q, err := ParseQuery(mustRaw(t, tt.xml))
			if tt.err != "" {
				require.ErrorIs(t, err, ErrMalformed)
				assert.ErrorContains(t, err, tt.err)
				assert.Nil(t, q)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, q)
		})
	}
	_, err := ParseQuery(nil)
	assert.ErrorIs(t, err, ErrMalformed)
}

// TestParseQueryItemError checks that a fault in an item reads from the
// package's name through the list and the item to the fault.
func TestParseQueryItemError(t *testing.T) {
	t.Parallel()
	for xml, want := range map[string]string{
		`<item action='drop' order='7'/>`:                          `privacy: malformed element: list "l": item 7: action "drop" is not allow or deny`,
		`<item action='deny' order='x'/>`:                          `privacy: malformed element: list "l": item order "x" is not an unsigned integer`,
		`<item type='jid' value='a@b@c' action='deny' order='2'/>`: `privacy: malformed element: list "l": item 2: jid "a@b@c": `,
	} {
		_, err := ParseQuery(mustRaw(t, `<query xmlns='jabber:iq:privacy'><list name='l'>`+xml+`</list></query>`))
		require.ErrorIs(t, err, ErrMalformed, xml)
		assert.True(t, strings.HasPrefix(err.Error(), want), "%s: got %q", xml, err)
	}
}

func TestBlockingWriteXML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		b    *Blocking
		want string
	}{
		{name: "blocklist get", b: &Blocking{}, want: `<blocklist xmlns='urn:xmpp:blocking'/>`},
		{
			name: "block",
			b:    &Blocking{Command: CommandBlock, JIDs: []jid.JID{jid.MustParse("romeo@montague.net"), jid.MustParse("iago@shakespeare.lit/x")}},
			want: `<block xmlns='urn:xmpp:blocking'><item jid='romeo@montague.net'/><item jid='iago@shakespeare.lit/x'/></block>`,
		},
		{name: "unblock all", b: &Blocking{Command: CommandUnblock}, want: `<unblock xmlns='urn:xmpp:blocking'/>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, render(t, tt.b).String())
		})
	}
	_, err := renderErr(&Blocking{Command: CommandBlock, JIDs: []jid.JID{{}}})
	assert.ErrorContains(t, err, "block item without a JID")
	_, err = renderErr(&Blocking{Command: 3})
	assert.ErrorContains(t, err, "out of range")
}

func TestParseBlocking(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		xml  string
		want *Blocking
		err  string
	}{
		{
			name: "blocklist result",
			xml:  `<blocklist xmlns='urn:xmpp:blocking'><item jid='Romeo@Montague.net'/><item jid='montague.net'/></blocklist>`,
			want: &Blocking{JIDs: []jid.JID{jid.MustParse("romeo@montague.net"), jid.MustParse("montague.net")}},
		},
		{name: "empty blocklist", xml: `<blocklist xmlns='urn:xmpp:blocking'/>`, want: &Blocking{}},
		{
			name: "block push",
			xml:  `<block xmlns='urn:xmpp:blocking'><item jid='a@b/c'/><foo xmlns='urn:x'><item jid='no@no'/></foo></block>`,
			want: &Blocking{Command: CommandBlock, JIDs: []jid.JID{jid.MustParse("a@b/c")}},
		},
		{name: "unblock all push", xml: `<unblock xmlns='urn:xmpp:blocking'/>`, want: &Blocking{Command: CommandUnblock}},
		{name: "wrong element", xml: `<blocked xmlns='urn:xmpp:blocking:errors'/>`, err: "want a blocking element"},
		{name: "wrong namespace", xml: `<block xmlns='urn:xmpp:blocking:1'/>`, err: "want a blocking element"},
		{name: "item without jid", xml: `<block xmlns='urn:xmpp:blocking'><item/></block>`, err: "block item without jid"},
		{name: "bad jid", xml: `<unblock xmlns='urn:xmpp:blocking'><item jid='a@@b'/></unblock>`, err: `unblock item jid "a@@b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := ParseBlocking(mustRaw(t, tt.xml))
			if tt.err != "" {
				require.ErrorIs(t, err, ErrMalformed)
				assert.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, b)
		})
	}
	_, err := ParseBlocking(nil)
	assert.ErrorIs(t, err, ErrMalformed)
}

package roster

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
)

func TestParseQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		xml  string
		want *Query
		err  string // substring of the error; "" for success
	}{
		{
			name: "RFC 6121 §2.1.4 result",
			xml: `<query xmlns='jabber:iq:roster' ver='ver11'>
				<item jid='romeo@example.net' name='Romeo' subscription='both'><group>Friends</group></item>
				<item jid='mercutio@example.com' name='Mercutio' subscription='from'/>
				<item jid='benvolio@example.net' name='Benvolio' subscription='both'/>
			</query>`,
			want: &Query{Ver: "ver11", Versioned: true, Items: []Item{
				{JID: jid.MustParse("romeo@example.net"), Name: "Romeo", Subscription: SubscriptionBoth, Groups: []string{"Friends"}},
				{JID: jid.MustParse("mercutio@example.com"), Name: "Mercutio", Subscription: SubscriptionFrom},
				{JID: jid.MustParse("benvolio@example.net"), Name: "Benvolio", Subscription: SubscriptionBoth},
			}},
		},
		{
			name: "get without ver",
			xml:  `<query xmlns='jabber:iq:roster'/>`,
			want: &Query{},
		},
		{
			name: "get with empty ver",
			xml:  `<query xmlns='jabber:iq:roster' ver=''/>`,
			want: &Query{Versioned: true},
		},
		{
			name: "every attribute",
			xml:  `<query xmlns='jabber:iq:roster'><item jid='Juliet@Example.COM' subscription='to' ask='subscribe' approved='true' name='J'><group>a</group><group></group><group>a</group></item></query>`,
			want: &Query{Items: []Item{{
				JID: jid.MustParse("juliet@example.com"), Name: "J", Subscription: SubscriptionTo,
				Ask: true, Approved: true, Groups: []string{"a", "", "a"},
			}}},
		},
		{
			name: "remove, approved 1, RFC 3921 ask unsubscribe",
			xml:  `<query xmlns='jabber:iq:roster'><item jid='nurse@example.com' subscription='remove' approved='1' ask='unsubscribe'/></query>`,
			want: &Query{Items: []Item{{JID: jid.MustParse("nurse@example.com"), Subscription: SubscriptionRemove, Approved: true}}},
		},
		{
			name: "explicit none and approved false",
			xml:  `<query xmlns='jabber:iq:roster'><item jid='a@b' subscription='none' approved='false'/></query>`,
			want: &Query{Items: []Item{{JID: jid.MustParse("a@b")}}},
		},
		{
			name: "unknown children and namespaced attributes skipped",
			xml: `<query xmlns='jabber:iq:roster' xmlns:x='urn:x'><x:item jid='x@y'/><foo xmlns='urn:foo'><item jid='z@y'/></foo>` +
				`<item jid='a@b' x:subscription='bogus'><x:group>no</x:group><group>g<b xmlns='urn:x'>h</b></group></item></query>`,
			want: &Query{Items: []Item{{JID: jid.MustParse("a@b"), Groups: []string{"gh"}}}},
		},
		{
			name: "item without jid",
			xml:  `<query xmlns='jabber:iq:roster'><item name='x'/></query>`,
			err:  "item without jid",
		},
		{
			name: "item with empty jid",
			xml:  `<query xmlns='jabber:iq:roster'><item jid=''/></query>`,
			err:  "item without jid",
		},
		{
			name: "item with invalid jid",
			xml:  `<query xmlns='jabber:iq:roster'><item jid='a@b@c'/></query>`,
			err:  `item jid "a@b@c"`,
		},
		{
			name: "unknown subscription",
			xml:  `<query xmlns='jabber:iq:roster'><item jid='a@b' subscription='Both'/></query>`,
			err:  `unknown subscription "Both"`,
		},
		{
			name: "unknown ask",
			xml:  `<query xmlns='jabber:iq:roster'><item jid='a@b' ask='yes'/></query>`,
			err:  `unknown ask "yes"`,
		},
		{
			name: "approved not a boolean",
			xml:  `<query xmlns='jabber:iq:roster'><item jid='a@b' approved='yes'/></query>`,
			err:  `approved "yes"`,
		},
		{
			name: "bad item after good ones",
			xml:  `<query xmlns='jabber:iq:roster'><item jid='a@b'/><item jid='c@d' subscription='x'/></query>`,
			err:  `item c@d: unknown subscription "x"`,
		},
		{
			name: "another namespace",
			xml:  `<query xmlns='jabber:iq:private'/>`,
			err:  "want a roster query",
		},
		{
			name: "another element",
			xml:  `<item xmlns='jabber:iq:roster' jid='a@b'/>`,
			err:  "want a roster query",
		},
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
}

func TestParseQueryNil(t *testing.T) {
	t.Parallel()
	_, err := ParseQuery(nil)
	assert.ErrorIs(t, err, ErrMalformed)
}

func TestQueryWriteXML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		q    *Query
		want string
	}{
		{name: "get", q: &Query{}, want: `<query xmlns='jabber:iq:roster'/>`},
		{name: "get with empty ver", q: &Query{Versioned: true}, want: `<query xmlns='jabber:iq:roster' ver=''/>`},
		{name: "ver without Versioned", q: &Query{Ver: "v1"}, want: `<query xmlns='jabber:iq:roster' ver='v1'/>`},
		{
			name: "full item",
			q: &Query{Ver: "2", Items: []Item{{
				JID: jid.MustParse("romeo@example.net"), Name: "Romeo & co", Subscription: SubscriptionBoth,
				Ask: true, Approved: true, Groups: []string{"Friends", ""},
			}}},
			want: `<query xmlns='jabber:iq:roster' ver='2'><item jid='romeo@example.net' name='Romeo &amp; co' subscription='both' ask='subscribe' approved='true'>` +
				`<group>Friends</group><group/></item></query>`,
		},
		{
			name: "none is not written",
			q:    &Query{Items: []Item{{JID: jid.MustParse("a@b")}}},
			want: `<query xmlns='jabber:iq:roster'><item jid='a@b'/></query>`,
		},
		{
			name: "remove",
			q:    &Query{Items: []Item{{JID: jid.MustParse("a@b"), Subscription: SubscriptionRemove}}},
			want: `<query xmlns='jabber:iq:roster'><item jid='a@b' subscription='remove'/></query>`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, render(t, tt.q).String())
		})
	}
}

func TestQueryWriteXMLInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		q    *Query
		err  string
	}{
		{name: "no jid", q: &Query{Items: []Item{{Name: "x"}}}, err: "roster: item without a JID"},
		{name: "bad subscription", q: &Query{Items: []Item{{JID: jid.MustParse("a@b"), Subscription: 9}}}, err: "roster: item a@b: invalid subscription 9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tt.q.WriteXML(&tokens{})
			assert.EqualError(t, err, tt.err)
		})
	}
}

func TestSubscriptionString(t *testing.T) {
	t.Parallel()
	for s, want := range map[Subscription]string{
		SubscriptionNone: "none", SubscriptionTo: "to", SubscriptionFrom: "from",
		SubscriptionBoth: "both", SubscriptionRemove: "remove", 7: "invalid",
	} {
		assert.Equal(t, want, s.String())
	}
}

func TestItemCloneEqual(t *testing.T) {
	t.Parallel()
	a := Item{JID: jid.MustParse("a@b"), Name: "A", Groups: []string{"x", "y"}}
	b := a.Clone()
	require.True(t, a.Equal(b))
	b.Groups[0] = "z"
	assert.Equal(t, "x", a.Groups[0], "Clone shares the groups")
	assert.False(t, a.Equal(b))
	assert.True(t, a.InGroup("y"))
	assert.False(t, a.InGroup("z"))
}

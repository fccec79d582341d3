package privacy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
)

func TestItemValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		it   Item
		err  string // substring of the error; "" for valid
	}{
		{name: "fall-through", it: Item{Action: Deny, Order: 9}},
		{name: "jid", it: Item{Type: TypeJID, Value: "tybalt@example.com/x", Order: 1}},
		{name: "domain jid", it: Item{Type: TypeJID, Value: "example.com", Kinds: Message | PresenceOut}},
		{name: "group", it: Item{Type: TypeGroup, Value: "Enemies", Action: Deny}},
		{name: "subscription none", it: Item{Type: TypeSubscription, Value: "none"}},
		{name: "subscription both", it: Item{Type: TypeSubscription, Value: "both"}},
		{name: "value without type", it: Item{Value: "x@y"}, err: "without a type"},
		{name: "jid that does not parse", it: Item{Type: TypeJID, Value: "a@b@c"}, err: `jid "a@b@c"`},
		{name: "empty jid", it: Item{Type: TypeJID}, err: `jid ""`},
		{name: "empty group", it: Item{Type: TypeGroup, Order: 3}, err: "item 3: empty group name"},
		{name: "subscription remove", it: Item{Type: TypeSubscription, Value: "remove"}, err: `subscription "remove"`},
		{name: "subscription empty", it: Item{Type: TypeSubscription}, err: `subscription ""`},
		{name: "type out of range", it: Item{Type: 9}, err: "type 9 out of range"},
		{name: "action out of range", it: Item{Action: 2}, err: "action 2 out of range"},
		{name: "kinds out of range", it: Item{Kinds: 1 << 5}, err: "stanza kinds 0x20"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.it.Validate()
			if tt.err == "" {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrInvalid)
			assert.ErrorContains(t, err, tt.err)
		})
	}
}

func TestListValidate(t *testing.T) {
	t.Parallel()
	ok := List{Name: "l", Items: []Item{{Type: TypeJID, Value: "a@b", Action: Deny, Order: 2}, {Order: 1}}}
	require.NoError(t, ok.Validate())
	assert.NoError(t, List{Name: "empty"}.Validate(), "an empty list is valid (it removes the list when set)")

	err := List{Items: ok.Items}.Validate()
	require.ErrorIs(t, err, ErrInvalid)
	assert.ErrorContains(t, err, "without a name")

	err = List{Name: "l", Items: []Item{{Order: 5}, {Type: TypeGroup, Value: "g", Order: 5}}}.Validate()
	require.ErrorIs(t, err, ErrInvalid)
	assert.ErrorContains(t, err, "order 5 twice")

	err = List{Name: "l", Items: []Item{{Order: 5}, {Type: TypeGroup, Order: 6}}}.Validate()
	require.ErrorIs(t, err, ErrInvalid)
	assert.ErrorContains(t, err, `list "l": `)
	assert.ErrorContains(t, err, "empty group")
}

func TestListSortedAndClone(t *testing.T) {
	t.Parallel()
	l := List{Name: "l", Items: []Item{{Order: 30}, {Order: 10, Action: Deny}, {Order: 20}}}
	s := l.Sorted()
	assert.Equal(t, []uint32{10, 20, 30}, []uint32{s[0].Order, s[1].Order, s[2].Order})
	assert.Equal(t, uint32(30), l.Items[0].Order, "Sorted leaves the list as it was")

	c := l.Clone()
	c.Items[0].Order = 99
	assert.Equal(t, uint32(30), l.Items[0].Order, "Clone shares no items")
}

func TestKindsCovers(t *testing.T) {
	t.Parallel()
	for _, k := range []Kinds{Message, IQ, PresenceIn, PresenceOut} {
		assert.True(t, Kinds(0).Covers(k), "no kinds covers %v", k)
		assert.True(t, k.Covers(k))
	}
	assert.False(t, Message.Covers(IQ))
	assert.False(t, (PresenceIn | PresenceOut).Covers(Message))
	assert.True(t, (PresenceIn | Message).Covers(Message))
}

func TestItemJID(t *testing.T) {
	t.Parallel()
	j, ok := Item{Type: TypeJID, Value: "Romeo@Example.NET/Orchard"}.JID()
	require.True(t, ok)
	assert.Equal(t, jid.MustParse("romeo@example.net/Orchard"), j)
	_, ok = Item{Type: TypeGroup, Value: "a@b"}.JID()
	assert.False(t, ok)
	_, ok = Item{Type: TypeJID, Value: "@"}.JID()
	assert.False(t, ok)
}

func TestStrings(t *testing.T) {
	t.Parallel()
	assert.Equal(t, []string{"", "jid", "group", "subscription", "invalid"},
		[]string{TypeNone.String(), TypeJID.String(), TypeGroup.String(), TypeSubscription.String(), Type(7).String()})
	assert.Equal(t, []string{"allow", "deny", "invalid"}, []string{Allow.String(), Deny.String(), Action(2).String()})
	assert.Equal(t, []string{"blocklist", "block", "unblock", "invalid"},
		[]string{CommandBlocklist.String(), CommandBlock.String(), CommandUnblock.String(), Command(3).String()})
}

package im

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/parleyim/parley/jid"
)

func TestTrustedStanzaID(t *testing.T) {
	t.Parallel()
	account := jid.MustParse("juliet@example.com/balcony")
	own := func(id string) StanzaID { return StanzaID{ID: id, By: jid.MustParse("juliet@example.com")} }
	by := func(id, by string) StanzaID { return StanzaID{ID: id, By: jid.MustParse(by)} }
	for _, tc := range []struct {
		name       string
		ids        []StanzaID
		advertised bool
		account    jid.JID
		want       string // "" for none
	}{
		{name: "by the account's bare JID, advertised", ids: []StanzaID{own("s1")}, advertised: true, account: account, want: "s1"},
		{name: "among others", ids: []StanzaID{by("m", "room@muc.example.com"), own("s1"), by("x", "mallory@evil.example")}, advertised: true, account: account, want: "s1"},
		{name: "the account given bare", ids: []StanzaID{own("s1")}, advertised: true, account: account.Bare(), want: "s1"},
		{name: "not advertised", ids: []StanzaID{own("s1")}, advertised: false, account: account},
		{name: "by the account's full JID", ids: []StanzaID{by("s1", "juliet@example.com/balcony")}, advertised: true, account: account},
		{name: "by the account's domain", ids: []StanzaID{by("s1", "example.com")}, advertised: true, account: account},
		{name: "by a contact", ids: []StanzaID{by("s1", "romeo@example.net")}, advertised: true, account: account},
		{name: "two by the account", ids: []StanzaID{own("s1"), own("s2")}, advertised: true, account: account},
		{name: "none", advertised: true, account: account},
		{name: "no account", ids: []StanzaID{own("s1")}, advertised: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			x := Extensions{StanzaIDs: tc.ids}
			id, ok := x.TrustedStanzaID(tc.account, tc.advertised)
			assert.Equal(t, tc.want, id)
			assert.Equal(t, tc.want != "", ok)
		})
	}
}

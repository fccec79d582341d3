package disco

import (
	"testing"

	"github.com/parleyim/parley/form"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
)

const complexXML = `<query xmlns='http://jabber.org/protocol/disco#info' node='http://psi-im.org#q07IKJEyjvHSyhy//CH0CxmKi8w='>
  <identity xml:lang='en' category='client' name='Psi 0.11' type='pc'/>
  <identity xml:lang='el' category='client' name='Ψ 0.11' type='pc'/>
  <feature var='http://jabber.org/protocol/caps'/>
  <feature var='http://jabber.org/protocol/disco#info'/>
  <feature var='http://jabber.org/protocol/disco#items'/>
  <feature var='http://jabber.org/protocol/muc'/>
  <x xmlns='jabber:x:data' type='result'>
    <field var='FORM_TYPE' type='hidden'><value>urn:xmpp:dataforms:softwareinfo</value></field>
    <field var='ip_version' type='text-multi'><value>ipv4</value><value>ipv6</value></field>
    <field var='os'><value>Mac</value></field>
    <field var='os_version'><value>10.5.1</value></field>
    <field var='software'><value>Psi</value></field>
    <field var='software_version'><value>0.11</value></field>
  </x>
</query>`

func TestParseInfo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		xml  string
		want *Info
		err  bool
	}{
		{
			name: "complex example of XEP-0115",
			xml:  complexXML,
			want: &Info{
				Node: "http://psi-im.org#q07IKJEyjvHSyhy//CH0CxmKi8w=",
				Identities: []Identity{
					{Category: "client", Type: "pc", Name: "Psi 0.11", Lang: "en"},
					{Category: "client", Type: "pc", Name: "Ψ 0.11", Lang: "el"},
				},
				Features: []string{NSCaps, NSInfo, NSItems, "http://jabber.org/protocol/muc"},
				Forms: []form.Form{{Type: "result", Fields: []form.Field{
					{Var: "FORM_TYPE", Type: "hidden", Values: []string{"urn:xmpp:dataforms:softwareinfo"}},
					{Var: "ip_version", Type: "text-multi", Values: []string{"ipv4", "ipv6"}},
					{Var: "os", Values: []string{"Mac"}},
					{Var: "os_version", Values: []string{"10.5.1"}},
					{Var: "software", Values: []string{"Psi"}},
					{Var: "software_version", Values: []string{"0.11"}},
				}}},
			},
		},
		{
			name: "empty",
			xml:  `<query xmlns='http://jabber.org/protocol/disco#info'/>`,
			want: &Info{},
		},
		{
			name: "unknown children skipped",
			xml:  `<query xmlns='http://jabber.org/protocol/disco#info'><foo xmlns='urn:x'><identity category='a' type='b'/></foo><feature var='a'><bar/></feature></query>`,
			want: &Info{Features: []string{"a"}},
		},
		{
			name: "identity in another namespace is not an identity",
			xml:  `<query xmlns='http://jabber.org/protocol/disco#info'><identity xmlns='urn:x' category='a' type='b'/></query>`,
			want: &Info{},
		},
		{
			name: "form with title, reported fields and a description, keeps empty values",
			xml:  `<query xmlns='http://jabber.org/protocol/disco#info'><x xmlns='jabber:x:data' type='result'><title>t</title><reported><field var='r'/></reported><field var='f'><value/><desc>d</desc></field></x></query>`,
			want: &Info{Forms: []form.Form{{Type: "result", Title: "t", Reported: []form.Field{{Var: "r"}}, Fields: []form.Field{{Var: "f", Desc: "d", Values: []string{""}}}}}},
		},
		{
			name: "identity without category",
			xml:  `<query xmlns='http://jabber.org/protocol/disco#info'><identity type='pc'/></query>`,
			err:  true,
		},
		{
			name: "identity without type",
			xml:  `<query xmlns='http://jabber.org/protocol/disco#info'><identity category='client'/></query>`,
			err:  true,
		},
		{
			name: "feature without var",
			xml:  `<query xmlns='http://jabber.org/protocol/disco#info'><feature/></query>`,
			err:  true,
		},
		{
			name: "items query",
			xml:  `<query xmlns='http://jabber.org/protocol/disco#items'/>`,
			err:  true,
		},
		{
			name: "wrong element",
			xml:  `<ping xmlns='urn:xmpp:ping'/>`,
			err:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			info, err := ParseInfo(mustRaw(t, tt.xml))
			if tt.err {
				assert.ErrorIs(t, err, ErrMalformed)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, info)
		})
	}
}

func TestParseInfoNil(t *testing.T) {
	t.Parallel()
	_, err := ParseInfo(nil)
	assert.ErrorIs(t, err, ErrMalformed)
	_, err = ParseItems(nil)
	assert.ErrorIs(t, err, ErrMalformed)
	_, err = ParseCaps(nil)
	assert.ErrorIs(t, err, ErrMalformed)
}

func TestParseComplexExampleVer(t *testing.T) {
	t.Parallel()
	info, err := ParseInfo(mustRaw(t, complexXML))
	require.NoError(t, err)
	ver, err := Ver(info, "sha-1")
	require.NoError(t, err)
	assert.Equal(t, "q07IKJEyjvHSyhy//CH0CxmKi8w=", ver)
}

func TestInfoRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		info *Info
	}{
		{name: "complex", info: complexInfo},
		{name: "simple with node", info: &Info{Node: "n#v", Identities: simpleInfo.Identities, Features: simpleInfo.Features}},
		{name: "escaping", info: &Info{Identities: []Identity{{Category: "c", Type: "t", Name: `<a & "b">`}}, Features: []string{"x'y"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseInfo(render(t, tt.info))
			require.NoError(t, err)
			assert.Equal(t, tt.info, got)
		})
	}
}

func TestParseItems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		xml  string
		want *Items
		err  bool
	}{
		{
			name: "items of a server",
			xml: `<query xmlns='http://jabber.org/protocol/disco#items' node='n'>
				<item jid='conference.example.com' name='Chatrooms'/>
				<item jid='pubsub.example.com' node='news'/>
				<set xmlns='http://jabber.org/protocol/rsm'><count>2</count></set>
			</query>`,
			want: &Items{Node: "n", Items: []Item{
				{JID: jid.MustParse("conference.example.com"), Name: "Chatrooms"},
				{JID: jid.MustParse("pubsub.example.com"), Node: "news"},
			}},
		},
		{name: "empty", xml: `<query xmlns='http://jabber.org/protocol/disco#items'/>`, want: &Items{}},
		{name: "item without jid", xml: `<query xmlns='http://jabber.org/protocol/disco#items'><item name='x'/></query>`, err: true},
		{name: "item with bad jid", xml: `<query xmlns='http://jabber.org/protocol/disco#items'><item jid='a@b@c'/></query>`, err: true},
		{name: "info query", xml: `<query xmlns='http://jabber.org/protocol/disco#info'/>`, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			items, err := ParseItems(mustRaw(t, tt.xml))
			if tt.err {
				assert.ErrorIs(t, err, ErrMalformed)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, items)
		})
	}
}

func TestItemsRoundTrip(t *testing.T) {
	t.Parallel()
	items := &Items{Node: "n", Items: []Item{
		{JID: jid.MustParse("a@example.com/r"), Node: "x", Name: "A"},
		{JID: jid.MustParse("example.com")},
	}}
	got, err := ParseItems(render(t, items))
	require.NoError(t, err)
	assert.Equal(t, items, got)
}

func TestParseCaps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		xml  string
		want Caps
		err  bool
	}{
		{
			name: "XEP-0115 example",
			xml:  `<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='http://code.google.com/p/exodus' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/>`,
			want: Caps{Hash: "sha-1", Node: "http://code.google.com/p/exodus", Ver: "QgayPKawpkPSDYmwT/WM94uAlu0="},
		},
		{name: "legacy", xml: `<c xmlns='http://jabber.org/protocol/caps' node='http://x' ver='1.0' ext='a b'/>`, err: true},
		{name: "no node", xml: `<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' ver='x'/>`, err: true},
		{name: "no ver", xml: `<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='x'/>`, err: true},
		{name: "wrong namespace", xml: `<c xmlns='urn:x' hash='sha-1' node='x' ver='y'/>`, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := ParseCaps(mustRaw(t, tt.xml))
			if tt.err {
				assert.ErrorIs(t, err, ErrMalformed)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, c)
			again, err := ParseCaps(render(t, c))
			require.NoError(t, err)
			assert.Equal(t, c, again)
		})
	}
}

func TestInfoHelpers(t *testing.T) {
	t.Parallel()
	assert.True(t, complexInfo.HasFeature("http://jabber.org/protocol/muc"))
	assert.False(t, complexInfo.HasFeature("urn:xmpp:ping"))
	assert.True(t, complexInfo.HasIdentity("client", "pc"))
	assert.False(t, complexInfo.HasIdentity("server", "im"))
	f, ok := complexInfo.Form("urn:xmpp:dataforms:softwareinfo")
	require.True(t, ok)
	os, ok := f.Field("os")
	require.True(t, ok)
	assert.Equal(t, []string{"Mac"}, os.Values)
	_, ok = complexInfo.Form("urn:x")
	assert.False(t, ok)
	var none *Info
	assert.False(t, none.HasFeature(NSInfo))
	assert.False(t, none.HasIdentity("client", "pc"))
	assert.Nil(t, none.Clone())
}

package disco

import (
	"testing"

	"github.com/parleyim/parley/form"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The worked examples of XEP-0115 §5.2 and §5.3.
var (
	simpleInfo = &Info{
		Identities: []Identity{{Category: "client", Type: "pc", Name: "Exodus 0.9.1"}},
		Features: []string{
			"http://jabber.org/protocol/disco#info",
			"http://jabber.org/protocol/disco#items",
			"http://jabber.org/protocol/muc",
			"http://jabber.org/protocol/caps",
		},
	}
	complexInfo = &Info{
		Identities: []Identity{
			{Category: "client", Type: "pc", Name: "Psi 0.11", Lang: "en"},
			{Category: "client", Type: "pc", Name: "Ψ 0.11", Lang: "el"},
		},
		Features: []string{
			"http://jabber.org/protocol/caps",
			"http://jabber.org/protocol/disco#info",
			"http://jabber.org/protocol/disco#items",
			"http://jabber.org/protocol/muc",
		},
		Forms: []form.Form{form.New(form.TypeResult, "urn:xmpp:dataforms:softwareinfo",
			form.Field{Var: "ip_version", Type: "text-multi", Values: []string{"ipv6", "ipv4"}},
			form.Field{Var: "os", Values: []string{"Mac"}},
			form.Field{Var: "software_version", Values: []string{"0.11"}},
			form.Field{Var: "os_version", Values: []string{"10.5.1"}},
			form.Field{Var: "software", Values: []string{"Psi"}},
		)},
	}
)

func TestVerXEPExamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		info  *Info
		input string
		ver   string
	}{
		{
			name:  "simple §5.2",
			info:  simpleInfo,
			input: "client/pc//Exodus 0.9.1<http://jabber.org/protocol/caps<http://jabber.org/protocol/disco#info<http://jabber.org/protocol/disco#items<http://jabber.org/protocol/muc<",
			ver:   "QgayPKawpkPSDYmwT/WM94uAlu0=",
		},
		{
			name: "complex §5.3",
			info: complexInfo,
			input: "client/pc/el/Ψ 0.11<client/pc/en/Psi 0.11<" +
				"http://jabber.org/protocol/caps<http://jabber.org/protocol/disco#info<http://jabber.org/protocol/disco#items<http://jabber.org/protocol/muc<" +
				"urn:xmpp:dataforms:softwareinfo<ip_version<ipv4<ipv6<os<Mac<os_version<10.5.1<software<Psi<software_version<0.11<",
			ver: "q07IKJEyjvHSyhy//CH0CxmKi8w=",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := VerificationInput(tt.info)
			require.NoError(t, err)
			assert.Equal(t, tt.input, s)
			ver, err := Ver(tt.info, "sha-1")
			require.NoError(t, err)
			assert.Equal(t, tt.ver, ver)
		})
	}
}

func TestVerDoesNotModifyInfo(t *testing.T) {
	t.Parallel()
	before := complexInfo.Clone()
	_, err := Ver(complexInfo, "sha-1")
	require.NoError(t, err)
	assert.Equal(t, before, complexInfo)
}

func TestVerRules(t *testing.T) {
	t.Parallel()
	id := Identity{Category: "client", Type: "pc"}
	tests := []struct {
		name string
		info *Info
		// err is the error wanted; with nil, sameAs names an Info that
		// must give the same ver.
		err    error
		sameAs *Info
	}{
		{
			name: "duplicate identity",
			info: &Info{Identities: []Identity{id, id}, Features: []string{NSInfo}},
			err:  ErrIllFormed,
		},
		{
			name: "same identity in two languages is fine",
			info: &Info{Identities: []Identity{id, {Category: "client", Type: "pc", Lang: "de"}}},
		},
		{
			name: "duplicate feature",
			info: &Info{Identities: []Identity{id}, Features: []string{NSInfo, NSItems, NSInfo}},
			err:  ErrIllFormed,
		},
		{
			name: "two forms of one FORM_TYPE",
			info: &Info{Identities: []Identity{id}, Forms: []form.Form{form.New(form.TypeResult, "urn:x"), form.New(form.TypeResult, "urn:x")}},
			err:  ErrIllFormed,
		},
		{
			name: "FORM_TYPE with different values",
			info: &Info{Identities: []Identity{id}, Forms: []form.Form{{Fields: []form.Field{{Var: form.TypeVar, Type: "hidden", Values: []string{"urn:a", "urn:b"}}}}}},
			err:  ErrIllFormed,
		},
		{
			name:   "FORM_TYPE with the same value twice",
			info:   &Info{Identities: []Identity{id}, Forms: []form.Form{{Fields: []form.Field{{Var: form.TypeVar, Type: "hidden", Values: []string{"urn:a", "urn:a"}}}}}},
			sameAs: &Info{Identities: []Identity{id}, Forms: []form.Form{form.New(form.TypeResult, "urn:a")}},
		},
		{
			name: "two FORM_TYPE fields",
			info: &Info{Identities: []Identity{id}, Forms: []form.Form{{Fields: []form.Field{
				{Var: form.TypeVar, Type: "hidden", Values: []string{"urn:a"}},
				{Var: form.TypeVar, Type: "hidden", Values: []string{"urn:a"}},
			}}}},
			err: ErrIllFormed,
		},
		{
			name: "duplicate field",
			info: &Info{Identities: []Identity{id}, Forms: []form.Form{form.New(form.TypeResult, "urn:a",
				form.Field{Var: "os", Values: []string{"a"}}, form.Field{Var: "os", Values: []string{"b"}})}},
			err: ErrIllFormed,
		},
		{
			name: "FORM_TYPE not hidden: form ignored",
			info: &Info{Identities: []Identity{id}, Forms: []form.Form{{Fields: []form.Field{
				{Var: form.TypeVar, Values: []string{"urn:a"}}, {Var: "os", Values: []string{"b"}},
			}}}},
			sameAs: &Info{Identities: []Identity{id}},
		},
		{
			name:   "form without FORM_TYPE: ignored",
			info:   &Info{Identities: []Identity{id}, Forms: []form.Form{{Fields: []form.Field{{Var: "os", Values: []string{"b"}}}}}},
			sameAs: &Info{Identities: []Identity{id}},
		},
		{
			name: "order of input does not matter",
			info: &Info{
				Identities: []Identity{{Category: "z", Type: "a"}, {Category: "a", Type: "z"}},
				Features:   []string{"b", "a"},
			},
			sameAs: &Info{
				Identities: []Identity{{Category: "a", Type: "z"}, {Category: "z", Type: "a"}},
				Features:   []string{"a", "b"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ver, err := Ver(tt.info, "sha-1")
			if tt.err != nil {
				assert.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			if tt.sameAs != nil {
				want, err := Ver(tt.sameAs, "sha-1")
				require.NoError(t, err)
				assert.Equal(t, want, ver)
			}
		})
	}
}

func TestVerHashes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		hash string
		len  int // length of the base64 ver
		err  error
	}{
		{hash: "sha-1", len: 28},
		{hash: "sha-224", len: 40},
		{hash: "sha-256", len: 44},
		{hash: "sha-384", len: 64},
		{hash: "sha-512", len: 88},
		{hash: "md5", err: ErrUnsupportedHash},
		{hash: "SHA-1", err: ErrUnsupportedHash},
		{hash: "", err: ErrUnsupportedHash},
	}
	for _, tt := range tests {
		t.Run(tt.hash, func(t *testing.T) {
			t.Parallel()
			ver, err := Ver(simpleInfo, tt.hash)
			if tt.err != nil {
				assert.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Len(t, ver, tt.len)
		})
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	assert.NoError(t, Verify(simpleInfo, Caps{Hash: "sha-1", Ver: "QgayPKawpkPSDYmwT/WM94uAlu0="}))
	assert.ErrorIs(t, Verify(simpleInfo, Caps{Hash: "sha-1", Ver: "q07IKJEyjvHSyhy//CH0CxmKi8w="}), ErrVerMismatch)
	assert.ErrorIs(t, Verify(simpleInfo, Caps{Hash: "md2", Ver: "x"}), ErrUnsupportedHash)
}

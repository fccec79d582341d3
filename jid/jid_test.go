package jid

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/secure/precis"
)

// TestParseRFC7622 runs the examples of RFC 7622 §3.5.
func TestParseRFC7622(t *testing.T) {
	t.Parallel()
	valid := []struct {
		name, in                    string
		local, domain, resource, st string
	}{
		{"1 bare", "juliet@example.com", "juliet", "example.com", "", "juliet@example.com"},
		{"2 full", "juliet@example.com/foo", "juliet", "example.com", "foo", "juliet@example.com/foo"},
		{"3 space in resource", "juliet@example.com/foo bar", "juliet", "example.com", "foo bar", "juliet@example.com/foo bar"},
		{"4 at sign in resource", "juliet@example.com/foo@bar", "juliet", "example.com", "foo@bar", "juliet@example.com/foo@bar"},
		{"5 escaped space", `foo\20bar@example.com`, `foo\20bar`, "example.com", "", `foo\20bar@example.com`},
		{"6 ascii", "fussball@example.com", "fussball", "example.com", "", "fussball@example.com"},
		{"7 sharp s", "fußball@example.com", "fußball", "example.com", "", "fußball@example.com"},
		{"8 pi", "π@example.com", "π", "example.com", "", "π@example.com"},
		// The precis package lowers without the final sigma rule, so the
		// last Σ becomes σ, not ς.
		{"9 upper greek", "ΣΠΣ@example.com/foo", "σπσ", "example.com", "foo", "σπσ@example.com/foo"},
		{"10 upper sigma", "Σ@example.com/foo", "σ", "example.com", "foo", "σ@example.com/foo"},
		{"11 lower sigma", "σ@example.com/foo", "σ", "example.com", "foo", "σ@example.com/foo"},
		{"12 final sigma", "ς@example.com/foo", "ς", "example.com", "foo", "ς@example.com/foo"},
		{"13 symbol in resource", "king@example.com/♚", "king", "example.com", "♚", "king@example.com/♚"},
		{"14 domain only", "example.com", "", "example.com", "", "example.com"},
		{"15 domain and resource", "example.com/foobar", "", "example.com", "foobar", "example.com/foobar"},
		{"16 address in resource", "a.example.com/b@example.net", "", "a.example.com", "b@example.net", "a.example.com/b@example.net"},
		// Example 18 of §3.5 was withdrawn by erratum 4560: OpaqueString
		// allows a leading space.
		{"erratum 4560 leading space", "juliet@example.com/ foo", "juliet", "example.com", " foo", "juliet@example.com/ foo"},
	}
	for _, tc := range valid {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, fast := range []bool{true, false} {
				j, err := parse(tc.in, fast)
				require.NoError(t, err, "fast=%v", fast)
				assert.Equal(t, tc.local, j.Localpart())
				assert.Equal(t, tc.domain, j.Domainpart())
				assert.Equal(t, tc.resource, j.Resourcepart())
				assert.Equal(t, tc.st, j.String())
			}
		})
	}

	invalid := []struct {
		name, in, msg string
	}{
		{"17 quotes in localpart", `"juliet"@example.com`, `jid: localpart contains '"'`},
		{"18 space in localpart", "foo bar@example.com", "jid: localpart is not valid under PRECIS UsernameCaseMapped"},
		{"20 empty localpart and resourcepart", "@example.com/", "jid: localpart is empty"},
		{"21 compatibility character", "henry\u2163@example.com", "jid: localpart is not valid under PRECIS UsernameCaseMapped"},
		{"22 symbol in localpart", "♚@example.com", "jid: localpart is not valid under PRECIS UsernameCaseMapped"},
		{"23 empty domainpart", "juliet@", "jid: domainpart is empty"},
		{"24 no domainpart", "/foobar", "jid: domainpart is empty"},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, fast := range []bool{true, false} {
				_, err := parse(tc.in, fast)
				require.Error(t, err, "fast=%v", fast)
				assert.Contains(t, err.Error(), tc.msg)
			}
		})
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", maxPartLen)
	tests := []struct {
		name, in, want string
	}{
		{"upper case local and domain", "Alice@Example.COM/Phone", "alice@example.com/Phone"},
		{"trailing dot", "alice@example.com./x", "alice@example.com/x"},
		{"trailing dot bare", "example.com.", "example.com"},
		{"slash in resource", "a@b/c/d", "a@b/c/d"},
		{"at after slash", "b/c@d", "b/c@d"},
		{"ipv4", "a@192.0.2.1/r", "a@192.0.2.1/r"},
		{"ipv6", "a@[::1]/r", "a@[::1]/r"},
		{"ipv6 canonical", "a@[2001:DB8:0:0::0001]", "a@[2001:db8::1]"},
		{"a-label to u-label", "xn--bcher-kva.example", "bücher.example"},
		{"upper u-label", "BÜCHER.example", "bücher.example"},
		{"fullwidth local", "ＪＵＬＩＥＴ@example.com", "juliet@example.com"},
		{"ideographic dot", "a@example。com", "a@example.com"},
		{"nfc in resource", "a@b/e\u0301", "a@b/\u00e9"},
		{"non-ascii space in resource", "a@b/x\u00a0y", "a@b/x y"},
		{"digit first non-ascii local", "1é@example.com", "1é@example.com"},
		{"rtl local", "שלום@example.com", "שלום@example.com"},
		{"longest parts", long + "@" + long + "/" + long, long + "@" + long + "/" + long},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, fast := range []bool{true, false} {
				j, err := parse(tc.in, fast)
				require.NoError(t, err, "fast=%v", fast)
				assert.Equal(t, tc.want, j.String(), "fast=%v", fast)
				assert.Equal(t, MustParse(tc.want), j)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", maxPartLen+1)
	tests := []struct {
		name, in, part, msg string
	}{
		{"empty", "", partDomain, "jid: domainpart is empty"},
		{"only at", "@", partLocal, "jid: localpart is empty"},
		{"empty resource", "a@b/", partResource, "jid: resourcepart is empty"},
		{"at in domain", "a@b@c", partDomain, "jid: domainpart contains '@'"},
		{"colon in localpart", "a:b@c", partLocal, "jid: localpart contains ':'"},
		{"ampersand in localpart", "a&b@c", partLocal, "jid: localpart contains '&'"},
		{"apostrophe in localpart", "a'b@c", partLocal, "jid: localpart contains '''"},
		{"lt in localpart", "a<b@c", partLocal, "jid: localpart contains '<'"},
		{"gt in localpart", "a>b@c", partLocal, "jid: localpart contains '>'"},
		{"fullwidth at in localpart", "a＠b@c", partLocal, "jid: localpart contains '@'"},
		{"control in resource", "a@b/x\x00", partResource, "jid: resourcepart is not valid under PRECIS OpaqueString"},
		{"tab in localpart", "a\tb@c", partLocal, "jid: localpart is not valid"},
		{"long localpart", long + "@b", partLocal, "jid: localpart longer than 1023 bytes"},
		{"long domainpart", long, partDomain, "jid: domainpart longer than 1023 bytes"},
		{"long resourcepart", "b/" + long, partResource, "jid: resourcepart longer than 1023 bytes"},
		{"huge resourcepart", "b/" + strings.Repeat("é", 3000), partResource, "jid: resourcepart longer than 1023 bytes"},
		{"empty label", "a@b..c", partDomain, "jid: domainpart has an empty label"},
		{"leading dot", ".b", partDomain, "jid: domainpart has an empty label"},
		{"two trailing dots", "b..", partDomain, "jid: domainpart has an empty label"},
		{"only a dot", "a@.", partDomain, "jid: domainpart is empty"},
		{"underscore", "a@b_c", partDomain, "jid: domainpart is not a valid IDNA2008 domain name"},
		{"leading hyphen", "a@-b", partDomain, "jid: domainpart is not a valid IDNA2008 domain name"},
		{"trailing hyphen", "a@b-", partDomain, "jid: domainpart is not a valid IDNA2008 domain name"},
		{"hyphens 3 and 4", "a@ab--c", partDomain, "jid: domainpart is not a valid IDNA2008 domain name"},
		{"bad a-label", "a@xn--a", partDomain, "jid: domainpart is not a valid IDNA2008 domain name"},
		{"port", "a@b:5222", partDomain, "jid: domainpart is not a valid IDNA2008 domain name"},
		{"ipv4 in brackets", "a@[192.0.2.1]", partDomain, "jid: domainpart is not a valid IPv6 literal"},
		{"ipv6 zone", "a@[fe80::1%eth0]", partDomain, "jid: domainpart is not a valid IPv6 literal"},
		{"ipv6 unbracketed", "a@::1", partDomain, "jid: domainpart is not a valid IDNA2008 domain name"},
		{"ipv6 unterminated", "a@[::1", partDomain, "jid: domainpart has an unterminated IP literal"},
		{"invalid utf-8 localpart", "\xff@b", partLocal, "jid: localpart is not valid UTF-8"},
		{"invalid utf-8 domainpart", "a@\xff", partDomain, "jid: domainpart is not valid UTF-8"},
		{"invalid utf-8 resourcepart", "a@b/\xff", partResource, "jid: resourcepart is not valid UTF-8"},
		{"rtl breaks bidi rule", "a\u05d0@example.com", partLocal, "jid: localpart breaks the Bidi Rule"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, fast := range []bool{true, false} {
				j, err := parse(tc.in, fast)
				require.Error(t, err, "fast=%v", fast)
				assert.Zero(t, j)
				assert.Contains(t, err.Error(), tc.msg)
				var e *Error
				require.ErrorAs(t, err, &e)
				assert.Equal(t, tc.part, e.Part)
			}
		})
	}
}

func TestErrorWrapsCause(t *testing.T) {
	t.Parallel()
	_, err := Parse("a@b/x\x00")
	require.Error(t, err)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.NotNil(t, e.Err)
	assert.ErrorIs(t, err, e.Err)
	assert.Equal(t, e.Err, errors.Unwrap(err))

	_, err = Parse("a@")
	require.ErrorAs(t, err, &e)
	assert.Nil(t, errors.Unwrap(err))
}

// TestLocalProfileMatchesPrecis checks that localProfile is
// UsernameCaseMapped but for the Bidi Rule, which it applies only to
// strings with right-to-left code points.
func TestLocalProfileMatchesPrecis(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"juliet", "JULIET", "ΣΠΣ", "ＪＵＬＩＥＴ", "e\u0301", "fußball", "שלום", "henry\u2163", "♚", "a b", "1é", "é."} {
		want, wantErr := precis.UsernameCaseMapped.String(s)
		got, gotErr := localProfile.String(s)
		if wantErr == nil {
			assert.NoError(t, gotErr, "%q", s)
			assert.Equal(t, want, got, "%q", s)
		} else if gotErr == nil {
			// Only the Bidi Rule may differ, and only for strings
			// without right-to-left code points.
			assert.False(t, hasRTL(got), "%q", s)
		}
	}
}

func TestAccessors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                    string
		j                       JID
		local, domain, resource string
		bare, zero              bool
		domainJID               JID
	}{
		{"zero", JID{}, "", "", "", true, true, JID{}},
		{"domain", MustParse("example.com"), "", "example.com", "", true, false, MustParse("example.com")},
		{"bare", MustParse("a@example.com"), "a", "example.com", "", true, false, MustParse("example.com")},
		{"full", MustParse("a@example.com/r"), "a", "example.com", "r", false, false, MustParse("example.com")},
		{"domain and resource", MustParse("example.com/r@s/t"), "", "example.com", "r@s/t", false, false, MustParse("example.com")},
		{"IPv6", MustParse("a@[::1]/r"), "a", "[::1]", "r", false, false, MustParse("[::1]")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.local, tc.j.Localpart())
			assert.Equal(t, tc.domain, tc.j.Domainpart())
			assert.Equal(t, tc.resource, tc.j.Resourcepart())
			assert.Equal(t, tc.bare, tc.j.IsBare())
			assert.Equal(t, tc.zero, tc.j.IsZero())
			assert.Equal(t, tc.domainJID, tc.j.Domain())
			assert.True(t, tc.j.Domain().IsBare())
			assert.Empty(t, tc.j.Domain().Localpart())
		})
	}
}

func TestEqualAndMapKey(t *testing.T) {
	t.Parallel()
	a := MustParse("Juliet@Example.com./Balcony")
	b := MustParse("juliet@example.com/Balcony")
	c := MustParse("juliet@example.com/balcony")
	assert.True(t, a == b)
	assert.True(t, a.Equal(b))
	assert.False(t, a.Equal(c))
	m := map[JID]int{a: 1}
	assert.Equal(t, 1, m[b])
	_, ok := m[c]
	assert.False(t, ok)
	assert.Equal(t, MustParse("juliet@example.com"), a.Bare())
	assert.True(t, JID{}.Equal(JID{}))
}

func TestNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, local, domain, resource, want, err string
	}{
		{"all parts", "Juliet", "Example.com", "Balcony", "juliet@example.com/Balcony", ""},
		{"domain only", "", "example.com", "", "example.com", ""},
		{"resource with slash", "", "example.com", "a/b", "example.com/a/b", ""},
		{"trailing dot", "a", "example.com.", "", "a@example.com", ""},
		{"at in localpart", "a@b", "example.com", "", "", "jid: localpart contains '@'"},
		{"slash in localpart", "a/b", "example.com", "", "", "jid: localpart contains '/'"},
		{"slash in domainpart", "a", "b/c", "", "", "jid: domainpart contains '/'"},
		{"at in domainpart", "", "b@c", "", "", "jid: domainpart contains '@'"},
		{"empty domainpart", "a", "", "r", "", "jid: domainpart is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			j, err := New(tc.local, tc.domain, tc.resource)
			if tc.err != "" {
				assert.EqualError(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, j.String())
			assert.Equal(t, MustParse(tc.want), j)
		})
	}
}

func TestBareAndWithResource(t *testing.T) {
	t.Parallel()
	full := MustParse("a@example.com/r")
	bare := full.Bare()
	assert.Equal(t, "a@example.com", bare.String())
	assert.True(t, bare.IsBare())
	assert.Equal(t, MustParse("a@example.com"), bare)
	assert.Equal(t, bare, bare.Bare())

	other, err := full.WithResource("Other Phone")
	require.NoError(t, err)
	assert.Equal(t, MustParse("a@example.com/Other Phone"), other)

	nfc, err := bare.WithResource("e\u0301")
	require.NoError(t, err)
	assert.Equal(t, "é", nfc.Resourcepart())

	same, err := full.WithResource("")
	require.NoError(t, err)
	assert.Equal(t, bare, same)

	_, err = full.WithResource("x\x00")
	assert.ErrorContains(t, err, "jid: resourcepart is not valid")

	_, err = JID{}.WithResource("r")
	assert.EqualError(t, err, "jid: domainpart is empty")

	dom := MustParse("example.com")
	withR, err := dom.WithResource("r")
	require.NoError(t, err)
	assert.Equal(t, MustParse("example.com/r"), withR)
	assert.Equal(t, JID{}, JID{}.Bare())
}

func TestMustParsePanics(t *testing.T) {
	t.Parallel()
	assert.Panics(t, func() { MustParse("@") })
	assert.NotPanics(t, func() { MustParse("a@b") })
}

func TestParseReusesNormalisedInput(t *testing.T) {
	in := "alice@example.com/phone"
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := Parse(in); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
	upper := "Alice@Example.com/phone"
	allocs = testing.AllocsPerRun(100, func() {
		if _, err := Parse(upper); err != nil {
			t.Fatal(err)
		}
	})
	assert.LessOrEqual(t, allocs, 1.0)
	j := MustParse(in)
	allocs = testing.AllocsPerRun(100, func() { _ = j.String(); _ = j.Bare(); _ = j.Domain() })
	assert.Zero(t, allocs)
}

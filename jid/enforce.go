package jid

import (
	"net/netip"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/secure/bidirule"
	"golang.org/x/text/secure/precis"
	"golang.org/x/text/unicode/bidi"
	"golang.org/x/text/unicode/norm"
)

// maxPartLen is the longest a part may be, in bytes, after enforcement
// (RFC 7622 §3.2, §3.3, §3.4).
const maxPartLen = 1023

// maxRawPartLen bounds the work spent on one part before enforcement. The
// mappings can shorten a string (width folding, NFC, ignored code points),
// so a raw part may be somewhat longer than maxPartLen and still be valid;
// anything longer than this is refused without running PRECIS or IDNA.
const maxRawPartLen = 4 * maxPartLen

// localExclusions are the code points RFC 7622 §3.3.1 forbids in a
// localpart on top of the UsernameCaseMapped profile.
const localExclusions = "\"&'/:<>@"

// localProfile is the PRECIS UsernameCaseMapped profile (RFC 8265 §3.3)
// without its directionality rule, which enforceLocal applies itself: RFC
// 8265 applies the Bidi Rule only to strings that contain right-to-left
// code points, while the precis package applies it to every non-ASCII
// string (and so would refuse "1é", which has none).
var localProfile = precis.NewIdentifier(
	precis.FoldWidth,
	precis.LowerCase(),
	precis.Norm(norm.NFC),
)

// domainProfile maps and validates a domainpart as IDNA2008 lookup does
// (UTS #46 mapping, non-transitional, STD3 ASCII rules, hyphen and joiner
// checks, the Bidi Rule for bidi domain names). DNS lengths are not
// checked: RFC 7622 limits a domainpart to 1023 bytes instead.
var domainProfile = idna.New(
	idna.MapForLookup(),
	idna.Transitional(false),
	idna.BidiRule(),
	idna.CheckHyphens(true),
	idna.CheckJoiners(true),
	idna.StrictDomainName(true),
	idna.VerifyDNSLength(false),
)

// A folded part is the enforced form of one part. When lower is set, s is
// the raw input and its ASCII upper case letters still have to be lowered
// (the fast path leaves that to the single copy that builds the JID).
type folded struct {
	s     string
	lower bool
}

// len is the length of the enforced part in bytes.
func (f folded) len() int { return len(f.s) }

// writeTo writes the enforced part to b.
func (f folded) writeTo(b *strings.Builder) {
	if !f.lower {
		b.WriteString(f.s)
		return
	}
	start := 0
	for i := 0; i < len(f.s); i++ {
		if c := f.s[i]; 'A' <= c && c <= 'Z' {
			b.WriteString(f.s[start:i])
			b.WriteByte(c + 'a' - 'A')
			start = i + 1
		}
	}
	b.WriteString(f.s[start:])
}

// Classes of ASCII bytes for normalASCII: what each part may hold as it
// stands, in normal form (asciiLocal, asciiDomain and asciiResource,
// without upper case letters).
const (
	inLocal    = 1 << iota // printable, not upper case, not one of localExclusions
	inDomain               // a-z, 0-9, '-' (a label's)
	inResource             // printable or space
)

var asciiClass = func() (t [256]uint8) {
	for c := ' '; c < 0x7f; c++ {
		t[c] = inResource
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			t[c] |= inLocal | inDomain
		case c == '-':
			t[c] |= inLocal | inDomain
		case 'A' <= c && c <= 'Z', c == ' ', strings.ContainsRune(localExclusions, c):
		default:
			t[c] |= inLocal
		}
	}
	return t
}()

// normalASCII is Parse for the address nearly every stanza carries: plain
// ASCII already in normal form (no upper case, no trailing dot), each
// part valid as it stands, by the rules of asciiLocal, asciiDomain and
// asciiResource. It reports false for anything else, which parse then
// takes the long way; what it accepts, the long way gives the same JID
// for.
func normalASCII(s string) (JID, bool) {
	slash := strings.IndexByte(s, '/')
	rest := s
	if slash >= 0 {
		rest = s[:slash]
		res := s[slash+1:]
		if len(res) == 0 || len(res) > maxPartLen {
			return JID{}, false
		}
		for i := 0; i < len(res); i++ {
			if asciiClass[res[i]]&inResource == 0 {
				return JID{}, false
			}
		}
	} else {
		slash = len(s)
	}
	ds := 0
	if at := strings.IndexByte(rest, '@'); at >= 0 {
		if at == 0 || at > maxPartLen {
			return JID{}, false
		}
		for i := 0; i < at; i++ {
			if asciiClass[rest[i]]&inLocal == 0 {
				return JID{}, false
			}
		}
		ds = at + 1
	}
	d := rest[ds:]
	if len(d) == 0 || len(d) > maxPartLen {
		return JID{}, false
	}
	start := 0
	for i := 0; i <= len(d); i++ {
		if i < len(d) && d[i] != '.' {
			if asciiClass[d[i]]&inDomain == 0 {
				return JID{}, false
			}
			continue
		}
		label := d[start:i]
		if len(label) == 0 || label[0] == '-' || label[len(label)-1] == '-' ||
			len(label) >= 4 && label[2] == '-' && label[3] == '-' {
			return JID{}, false
		}
		start = i + 1
	}
	return JID{s: s, domainStart: int32(ds), domainEnd: int32(slash)}, true
}

// enforceLocal enforces and normalises a non-empty localpart.
func enforceLocal(s string, fast bool) (folded, error) {
	if fast {
		if ok, upper := asciiLocal(s); ok {
			return folded{s: s, lower: upper}, nil
		}
	}
	out, err := slowLocal(s)
	return folded{s: out}, err
}

// asciiLocal reports whether s is a localpart made of printable ASCII only
// that is valid as it stands, and whether it holds upper case letters. For
// such a string UsernameCaseMapped only lowers A-Z: ASCII needs no width
// mapping or normalisation, every printable ASCII code point but space is
// PVALID in the IdentifierClass, and the Bidi Rule does not apply to strings
// without right-to-left code points.
func asciiLocal(s string) (ok, upper bool) {
	if len(s) == 0 || len(s) > maxPartLen {
		return false, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case 'A' <= c && c <= 'Z':
			upper = true
		case c <= ' ' || c >= 0x7f:
			return false, false
		case c == '"' || c == '&' || c == '\'' || c == '/' || c == ':' ||
			c == '<' || c == '>' || c == '@':
			return false, false
		}
	}
	return true, upper
}

// slowLocal enforces a localpart with PRECIS UsernameCaseMapped and the
// RFC 7622 exclusions.
func slowLocal(s string) (string, error) {
	if len(s) > maxRawPartLen {
		return "", newError(partLocal, "longer than 1023 bytes", nil)
	}
	if !utf8.ValidString(s) {
		return "", newError(partLocal, "is not valid UTF-8", nil)
	}
	out, err := localProfile.String(s)
	if err != nil {
		return "", newError(partLocal, "is not valid under PRECIS UsernameCaseMapped", err)
	}
	if hasRTL(out) && !bidirule.ValidString(out) {
		return "", newError(partLocal, "breaks the Bidi Rule", bidirule.ErrInvalid)
	}
	if i := strings.IndexAny(out, localExclusions); i >= 0 {
		return "", newError(partLocal, "contains '"+out[i:i+1]+"'", nil)
	}
	return checkLen(partLocal, out)
}

// hasRTL reports whether s holds a code point of bidi class R, AL or AN,
// which makes the Bidi Rule apply (RFC 5893 §1.4, RFC 8265 §3.3.3).
func hasRTL(s string) bool {
	for i := 0; i < len(s); {
		if s[i] < 0x80 {
			i++
			continue
		}
		p, n := bidi.LookupString(s[i:])
		switch p.Class() {
		case bidi.R, bidi.AL, bidi.AN:
			return true
		}
		if n == 0 {
			n = 1
		}
		i += n
	}
	return false
}

func checkLen(part, s string) (string, error) {
	switch {
	case s == "":
		return "", newError(part, "is empty", nil)
	case len(s) > maxPartLen:
		return "", newError(part, "longer than 1023 bytes", nil)
	}
	return s, nil
}

// enforceDomain enforces and normalises a domainpart: one trailing dot is
// removed first (RFC 7622 §3.2), then the rest must be a bracketed IPv6
// literal or a domain name (IDNA2008, U-labels, lower case).
func enforceDomain(s string, fast bool) (folded, error) {
	s = strings.TrimSuffix(s, ".")
	if fast {
		if ok, upper := asciiDomain(s); ok {
			return folded{s: s, lower: upper}, nil
		}
	}
	out, err := slowDomain(s)
	return folded{s: out}, err
}

// asciiDomain reports whether s is a domain name of ASCII letters, digits,
// hyphens and dots that is valid as it stands, and whether it holds upper
// case letters. For such a name IDNA2008 lookup only lowers A-Z: every
// label is non-empty, does not begin or end with a hyphen and has no
// hyphens in its third and fourth positions (so no A-labels, which go the
// slow way), and the Bidi Rule does not apply to names without
// right-to-left labels.
func asciiDomain(s string) (ok, upper bool) {
	if len(s) == 0 || len(s) > maxPartLen {
		return false, false
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			label := s[start:i]
			if len(label) == 0 || label[0] == '-' || label[len(label)-1] == '-' ||
				len(label) >= 4 && label[2] == '-' && label[3] == '-' {
				return false, false
			}
			start = i + 1
			continue
		}
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-':
		case 'A' <= c && c <= 'Z':
			upper = true
		default:
			return false, false
		}
	}
	return true, upper
}

// slowDomain enforces a domainpart whose trailing dot is already removed.
func slowDomain(s string) (string, error) {
	if s == "" {
		return "", newError(partDomain, "is empty", nil)
	}
	if len(s) > maxRawPartLen {
		return "", newError(partDomain, "longer than 1023 bytes", nil)
	}
	if !utf8.ValidString(s) {
		return "", newError(partDomain, "is not valid UTF-8", nil)
	}
	if i := strings.IndexAny(s, "@/"); i >= 0 {
		return "", newError(partDomain, "contains '"+s[i:i+1]+"'", nil)
	}
	if s[0] == '[' {
		return ipv6Literal(s)
	}
	out, err := domainProfile.ToUnicode(s)
	if err != nil {
		return "", newError(partDomain, "is not a valid IDNA2008 domain name", err)
	}
	if out, err = checkLen(partDomain, out); err != nil {
		return "", err
	}
	for label := range strings.SplitSeq(out, ".") {
		if label == "" {
			return "", newError(partDomain, "has an empty label", nil)
		}
	}
	if i := strings.IndexAny(out, "@/[]"); i >= 0 {
		return "", newError(partDomain, "contains '"+out[i:i+1]+"'", nil)
	}
	return out, nil
}

// ipv6Literal checks a bracketed IPv6 address (RFC 7622 §3.2, the
// IP-literal of RFC 3986 without IPvFuture or zones) and returns it in the
// canonical text form of RFC 5952, so that equal addresses compare equal.
func ipv6Literal(s string) (string, error) {
	if len(s) < 2 || s[len(s)-1] != ']' {
		return "", newError(partDomain, "has an unterminated IP literal", nil)
	}
	addr, err := netip.ParseAddr(s[1 : len(s)-1])
	if err != nil {
		return "", newError(partDomain, "is not a valid IPv6 literal", err)
	}
	if !addr.Is6() || addr.Zone() != "" {
		return "", newError(partDomain, "is not a valid IPv6 literal", nil)
	}
	return "[" + addr.String() + "]", nil
}

// enforceResource enforces a non-empty resourcepart with PRECIS
// OpaqueString.
func enforceResource(s string, fast bool) (folded, error) {
	if fast && asciiResource(s) {
		return folded{s: s}, nil
	}
	out, err := slowResource(s)
	return folded{s: out}, err
}

// asciiResource reports whether s is a resourcepart of printable ASCII and
// spaces only, which OpaqueString leaves as it is: those code points are
// PVALID in the FreeformClass, and need no mapping or normalisation.
func asciiResource(s string) bool {
	if len(s) == 0 || len(s) > maxPartLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// slowResource enforces a resourcepart with PRECIS OpaqueString.
func slowResource(s string) (string, error) {
	if len(s) > maxRawPartLen {
		return "", newError(partResource, "longer than 1023 bytes", nil)
	}
	if !utf8.ValidString(s) {
		return "", newError(partResource, "is not valid UTF-8", nil)
	}
	out, err := precis.OpaqueString.String(s)
	if err != nil {
		return "", newError(partResource, "is not valid under PRECIS OpaqueString", err)
	}
	return checkLen(partResource, out)
}

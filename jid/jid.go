// Package jid implements XMPP addresses as defined by RFC 7622.
//
// A JID is an immutable, comparable value: two JIDs are == exactly when they
// denote the same address after normalisation, so a JID can be a map key.
//
// Parse and New enforce the rules of RFC 7622: the localpart with the PRECIS
// UsernameCaseMapped profile (RFC 8265) minus the characters " & ' / : < > @,
// the domainpart with IDNA2008 (as lower case U-labels, with one trailing dot
// removed) or as a bracketed IPv6 literal, the resourcepart with the PRECIS
// OpaqueString profile; every part is 1 to 1023 bytes long. Addresses made of
// plain ASCII, which is nearly every address on the wire, take a fast path
// that gives the same result without running PRECIS or IDNA.
//
// Every error this package returns is an *Error that names the part and the
// rule it breaks.
package jid

import "strings"

// JID is an XMPP address: localpart@domainpart/resourcepart, where the
// localpart and the resourcepart are optional. The zero value is the empty
// address (IsZero reports true). JID values are safe to copy and to use from
// several goroutines.
type JID struct {
	// s is the whole normalised address. Since neither the localpart nor
	// the domainpart may contain '@' or '/', the two indexes below follow
	// from s, so == on JIDs is == on their normalised strings.
	s string
	// domainStart is 0 without a localpart, else the index of '@' plus 1.
	domainStart int32
	// domainEnd is the index of '/', or len(s) without a resourcepart.
	domainEnd int32
}

// Parse parses s as localpart@domainpart/resourcepart and enforces and
// normalises each part. Following RFC 7622 §3.1, the resourcepart is
// everything after the first '/', and the localpart is everything before
// the first '@' that comes before that '/'. A separator with nothing on one
// side of it is an error, as is an empty domainpart.
//
// When s is already normalised, the JID shares its memory with s.
func Parse(s string) (JID, error) {
	return parse(s, true)
}

// parse is Parse; fast selects whether plain ASCII parts may skip PRECIS
// and IDNA (tests compare both ways).
func parse(s string, fast bool) (JID, error) {
	if fast {
		if j, ok := normalASCII(s); ok {
			return j, nil
		}
	}
	rest, resource, hasResource := strings.Cut(s, "/")
	local, domain, hasLocal := strings.Cut(rest, "@")
	if !hasLocal {
		local, domain = "", rest
	}
	if hasLocal && local == "" {
		return JID{}, newError(partLocal, "is empty", nil)
	}
	if hasResource && resource == "" {
		return JID{}, newError(partResource, "is empty", nil)
	}
	return build(local, domain, resource, s, fast)
}

// New builds a JID from its parts, enforcing and normalising each. An empty
// local or resource means the JID has no such part; every other part must
// be valid on its own, so New("a@b", "example.com", "") fails where
// Parse("a@b@example.com") would read another address.
func New(local, domain, resource string) (JID, error) {
	return build(local, domain, resource, "", true)
}

// build enforces the parts and assembles the JID. If orig is not empty it
// is the string the parts were cut from, and is reused when enforcement
// changes nothing.
func build(local, domain, resource, orig string, fast bool) (JID, error) {
	var l, d, r folded
	var err error
	if local != "" {
		if l, err = enforceLocal(local, fast); err != nil {
			return JID{}, err
		}
	}
	if d, err = enforceDomain(domain, fast); err != nil {
		return JID{}, err
	}
	if resource != "" {
		if r, err = enforceResource(resource, fast); err != nil {
			return JID{}, err
		}
	}
	return assemble(l, d, r, orig), nil
}

// assemble joins enforced parts. It allocates at most once, and not at all
// when orig already spells the result.
func assemble(l, d, r folded, orig string) JID {
	var j JID
	n := d.len()
	if l.len() > 0 {
		n += l.len() + 1
		j.domainStart = int32(l.len() + 1)
	}
	j.domainEnd = j.domainStart + int32(d.len())
	if r.len() > 0 {
		n += r.len() + 1
	}
	if len(orig) == n && !l.lower && !d.lower && sameParts(orig, l.s, d.s, r.s) {
		j.s = orig
		return j
	}
	var b strings.Builder
	b.Grow(n)
	if l.len() > 0 {
		l.writeTo(&b)
		b.WriteByte('@')
	}
	d.writeTo(&b)
	if r.len() > 0 {
		b.WriteByte('/')
		r.writeTo(&b)
	}
	j.s = b.String()
	return j
}

// sameParts reports whether s is l@d/r (without the '@' or '/' when l or r
// is empty), given that the lengths already match.
func sameParts(s, l, d, r string) bool {
	if l != "" {
		if s[:len(l)] != l || s[len(l)] != '@' {
			return false
		}
		s = s[len(l)+1:]
	}
	if s[:len(d)] != d {
		return false
	}
	s = s[len(d):]
	if r == "" {
		return s == ""
	}
	return s[0] == '/' && s[1:] == r
}

// MustParse is like Parse but panics if s is not a valid JID. It is meant
// for constants in programs and tests, never for input from the network.
func MustParse(s string) JID {
	j, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return j
}

// Localpart returns the localpart, or "" if there is none.
func (j JID) Localpart() string {
	if j.domainStart == 0 {
		return ""
	}
	return j.s[:j.domainStart-1]
}

// Domainpart returns the domainpart.
func (j JID) Domainpart() string { return j.s[j.domainStart:j.domainEnd] }

// Resourcepart returns the resourcepart, or "" if there is none.
func (j JID) Resourcepart() string {
	if int(j.domainEnd) == len(j.s) {
		return ""
	}
	return j.s[j.domainEnd+1:]
}

// Domain returns the JID of j's domain alone: no localpart, no
// resourcepart (the address of j's server). The zero JID's is the zero JID.
func (j JID) Domain() JID {
	d := j.s[j.domainStart:j.domainEnd]
	return JID{s: d, domainStart: 0, domainEnd: int32(len(d))}
}

// Bare returns j without its resourcepart.
func (j JID) Bare() JID {
	return JID{s: j.s[:j.domainEnd], domainStart: j.domainStart, domainEnd: j.domainEnd}
}

// Clone returns j with its own copy of the address, sharing no memory with
// the string it was parsed from. A JID parsed from a received stanza
// shares that stanza's bytes (parsing an address already in normal form
// copies nothing); clone one that is kept for long, so that it does not
// keep the whole stanza alive.
func (j JID) Clone() JID {
	j.s = strings.Clone(j.s)
	return j
}

// IsBare reports whether j has no resourcepart. The zero JID is bare.
func (j JID) IsBare() bool { return int(j.domainEnd) == len(j.s) }

// IsZero reports whether j is the empty address.
func (j JID) IsZero() bool { return j.s == "" }

// Equal reports whether j and k are the same address. It is the same as
// j == k.
func (j JID) Equal(k JID) bool { return j == k }

// WithResource returns j with its resourcepart replaced by resource, which
// is enforced like the resourcepart in New. An empty resource gives the bare
// JID. The zero JID has no domainpart, so it cannot take a resource.
func (j JID) WithResource(resource string) (JID, error) {
	if j.IsZero() {
		return JID{}, newError(partDomain, "is empty", nil)
	}
	if resource == "" {
		return j.Bare(), nil
	}
	r, err := enforceResource(resource, true)
	if err != nil {
		return JID{}, err
	}
	var b strings.Builder
	b.Grow(int(j.domainEnd) + 1 + r.len())
	b.WriteString(j.s[:j.domainEnd])
	b.WriteByte('/')
	r.writeTo(&b)
	return JID{s: b.String(), domainStart: j.domainStart, domainEnd: j.domainEnd}, nil
}

// String returns the address in its normalised string form, or "" for the
// zero JID. It does not allocate.
func (j JID) String() string { return j.s }

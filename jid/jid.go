// Package jid implements XMPP addresses as defined by RFC 7622.
//
// A JID is an immutable, comparable value: two JIDs are == exactly when they
// denote the same address after normalisation, so a JID can be a map key.
package jid

import (
	"errors"
	"strings"
)

// JID is an XMPP address: localpart@domainpart/resourcepart, where the
// localpart and the resourcepart are optional. The zero value is the empty
// address (IsZero reports true). JID values are safe to copy and to use from
// several goroutines.
type JID struct {
	local, domain, resource string
}

// Parse parses and normalises s.
func Parse(s string) (JID, error) {
	// TEMPORARY skeleton: replaced by the full RFC 7622 implementation.
	var j JID
	if i := strings.IndexByte(s, '/'); i >= 0 {
		j.resource = s[i+1:]
		s = s[:i]
	}
	if i := strings.IndexByte(s, '@'); i >= 0 {
		j.local = s[:i]
		s = s[i+1:]
	}
	j.domain = strings.ToLower(s)
	if j.domain == "" {
		return JID{}, errors.New("jid: empty domainpart")
	}
	return j, nil
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

// New builds a JID from its parts, enforcing and normalising each.
func New(local, domain, resource string) (JID, error) {
	s := domain
	if local != "" {
		s = local + "@" + s
	}
	if resource != "" {
		s += "/" + resource
	}
	return Parse(s)
}

// Local returns the localpart, or "" if there is none.
func (j JID) Local() string { return j.local }

// Domain returns the domainpart.
func (j JID) Domain() string { return j.domain }

// Resource returns the resourcepart, or "" if there is none.
func (j JID) Resource() string { return j.resource }

// Bare returns j without its resourcepart.
func (j JID) Bare() JID { return JID{local: j.local, domain: j.domain} }

// IsBare reports whether j has no resourcepart.
func (j JID) IsBare() bool { return j.resource == "" }

// IsZero reports whether j is the empty address.
func (j JID) IsZero() bool { return j == JID{} }

// Equal reports whether j and k are the same address.
func (j JID) Equal(k JID) bool { return j == k }

// WithResource returns j with its resourcepart replaced by resource.
func (j JID) WithResource(resource string) (JID, error) {
	return New(j.local, j.domain, resource)
}

// String returns the address in its normalised string form.
func (j JID) String() string {
	s := j.domain
	if j.local != "" {
		s = j.local + "@" + s
	}
	if j.resource != "" {
		s += "/" + j.resource
	}
	return s
}

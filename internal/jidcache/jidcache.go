// Package jidcache remembers the addresses a stream repeats, so that they
// are parsed once: every stanza a client receives is addressed to the
// same full JID, and a conversation brings the same sender again and
// again.
//
// A Slot keeps one address, its own copy, once the same string has come
// twice in a row; until then it keeps only a fingerprint of the last
// string it parsed (its length and its first and last eight bytes), so
// that addresses that never repeat cost no allocation. Two strings with
// the same fingerprint only make the slot keep a copy it did not need. What
// Parse returns is what jid.Parse returns for the same string, errors
// included (only addresses that parsed, and that were already
// normalised, are kept). A kept address shares no memory with the
// stanza it came in: it never keeps a stanza alive.
package jidcache

import "github.com/parleyim/parley/jid"

// Cache holds a Slot for each address attribute of a stanza. The zero
// Cache is ready to use. It is not safe for use from several goroutines.
type Cache struct {
	From, To Slot
}

// Slot remembers one address. The zero Slot is ready to use.
type Slot struct {
	last uint64  // fingerprint of the last string parsed, when kept is not it
	kept jid.JID // the address kept, or the zero JID
}

// Parse returns jid.Parse(s), taken from the slot when s is the address
// it keeps.
func (c *Slot) Parse(s string) (jid.JID, error) {
	if s == c.kept.String() && s != "" {
		return c.kept, nil
	}
	h := fingerprint(s)
	j, err := jid.Parse(s)
	if err != nil || h != c.last || j.String() != s {
		c.last = h
		return j, err
	}
	// The second time in a row: keep a copy.
	c.kept = j.Clone()
	return c.kept, nil
}

// fingerprint tells strings apart cheaply, not reliably: their length
// and their first and last eight bytes.
func fingerprint(s string) uint64 {
	n := len(s)
	if n < 8 {
		h := uint64(n)
		for i := range n {
			h = h<<8 | uint64(s[i])
		}
		return h
	}
	return word(s[:8]) ^ (word(s[n-8:])<<29 | word(s[n-8:])>>35) ^ uint64(n)*0x9e3779b97f4a7c15
}

// word returns the eight bytes of s as one number.
func word(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// Package jidcache remembers the addresses a stream repeats, so that they
// are parsed once: every stanza a client receives is addressed to the
// same full JID, and a conversation brings the same sender again and
// again.
//
// A Slot keeps one address, its own copy, once the same string has come
// twice in a row; until then it keeps only a hash of the last string it
// parsed, so that addresses that never repeat cost no allocation. What
// Parse returns is what jid.Parse returns for the same string, errors
// included (only addresses that parsed, and that were already
// normalised, are kept). A kept address shares no memory with the
// stanza it came in: it never keeps a stanza alive.
package jidcache

import (
	"hash/maphash"

	"github.com/parleyim/parley/jid"
)

// Cache holds a Slot for each address attribute of a stanza. The zero
// Cache is ready to use. It is not safe for use from several goroutines.
type Cache struct {
	From, To Slot
}

// Slot remembers one address. The zero Slot is ready to use.
type Slot struct {
	seed maphash.Seed
	last uint64  // hash of the last string parsed, when kept is not it
	kept jid.JID // the address kept, or the zero JID
}

// Parse returns jid.Parse(s), taken from the slot when s is the address
// it keeps.
func (c *Slot) Parse(s string) (jid.JID, error) {
	if s == c.kept.String() && s != "" {
		return c.kept, nil
	}
	if c.seed == (maphash.Seed{}) {
		c.seed = maphash.MakeSeed()
	}
	h := maphash.String(c.seed, s)
	j, err := jid.Parse(s)
	if err != nil || h != c.last || j.String() != s {
		c.last = h
		return j, err
	}
	// The second time in a row: keep a copy.
	c.kept = j.Clone()
	return c.kept, nil
}

package stanza

import (
	"crypto/rand"
	"encoding/hex"
)

// NewID returns a new stanza id: 96 random bits in hexadecimal, so that
// nobody who has not seen the stanza can guess it (RFC 6120 §8.1.3) and
// forge a reply to it or an acknowledgement of it.
func NewID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

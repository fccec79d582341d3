// Package scram holds what the two sides of SCRAM (RFC 5802) share: the
// functions of §2.2 and the pieces of the §7 grammar that both the client
// (package sasl) and the server half (internal/serverside/auth) check.
package scram

import (
	"crypto/hmac"
	"hash"
)

// HMAC is HMAC(key, str) of RFC 5802 §2.2 with the hash function h.
func HMAC(h func() hash.Hash, key, str []byte) []byte {
	mac := hmac.New(h, key)
	mac.Write(str)
	return mac.Sum(nil)
}

// H is H(str) of RFC 5802 §2.2: str hashed with h.
func H(h func() hash.Hash, str []byte) []byte {
	d := h()
	d.Write(str)
	return d.Sum(nil)
}

// Printable reports whether s is a valid nonce (c-nonce, s-nonce): one or
// more "printable" characters of RFC 5802 §7, %x21-2B / %x2D-7E, that is
// printable ASCII other than ','.
func Printable(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == ',' {
			return false
		}
	}
	return true
}

// IsAttrVal reports whether s has the form of an attr-val of RFC 5802 §7:
// one ALPHA, '=', then the value (possibly empty).
func IsAttrVal(s string) bool {
	return len(s) >= 2 && s[1] == '=' && IsAlpha(s[0])
}

// IsAlpha reports whether c is an ALPHA of RFC 5234: an ASCII letter.
func IsAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

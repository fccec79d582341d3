package scram

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestHMACAndH(t *testing.T) {
	t.Parallel()
	// RFC 2202 §3 test case 2 and the SHA-256 of "abc" (FIPS 180-2).
	assert.Equal(t, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
		hex.EncodeToString(HMAC(sha1.New, []byte("Jefe"), []byte("what do ya want for nothing?"))))
	assert.Equal(t, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		hex.EncodeToString(H(sha256.New, []byte("abc"))))
}

func TestPrintable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want bool
	}{
		{"fyko+d2lbbFgONRv9qkxdawL", true},
		{"!~", true},
		{"", false},
		{"a,b", false},
		{"a b", false},
		{"a\x7f", false},
		{"é", false},
	}
	for _, tt := range tests {
		t.Run(strconv.Quote(tt.in), func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, Printable(tt.in))
		})
	}
}

func TestIsAttrVal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want bool
	}{
		{"r=abc", true},
		{"x=", true},
		{"Z=1", true},
		{"", false},
		{"r", false},
		{"1=a", false},
		{"rr=a", false},
		{"=a", false},
	}
	for _, tt := range tests {
		t.Run(strconv.Quote(tt.in), func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, IsAttrVal(tt.in))
		})
	}
}

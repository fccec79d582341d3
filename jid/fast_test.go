package jid

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

// samePaths checks that the fast path and the slow path agree on s.
func samePaths(t *testing.T, s string) {
	t.Helper()
	fast, fastErr := parse(s, true)
	slow, slowErr := parse(s, false)
	if (fastErr == nil) != (slowErr == nil) {
		t.Fatalf("%q: fast path error %v, slow path error %v", s, fastErr, slowErr)
	}
	if fast != slow {
		t.Fatalf("%q: fast path %q, slow path %q", s, fast, slow)
	}
	if fastErr != nil && fastErr.Error() != slowErr.Error() {
		t.Fatalf("%q: fast path error %q, slow path error %q", s, fastErr, slowErr)
	}
	if j, ok := normalASCII(s); ok && (slowErr != nil || j != slow) {
		t.Fatalf("%q: normalASCII %q, slow path (%q, %v)", s, j, slow, slowErr)
	}
}

// TestFastPathAgreesExhaustive tries every part of one or two ASCII bytes
// in each position.
func TestFastPathAgreesExhaustive(t *testing.T) {
	t.Parallel()
	var parts []string
	for a := range 128 {
		parts = append(parts, string(rune(a)))
		for b := range 128 {
			parts = append(parts, string([]byte{byte(a), byte(b)}))
		}
	}
	for _, p := range parts {
		samePaths(t, p+"@example.com/r")
		samePaths(t, "a@"+p)
		samePaths(t, "a@"+p+".example")
		samePaths(t, "a@b/"+p)
	}
}

// TestFastPathAgreesTable tries hand-picked ASCII cases near the rules.
func TestFastPathAgreesTable(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"alice@example.com/phone", "ALICE@EXAMPLE.COM/PHONE", "a@b", "a@b.", "a@b..", "a@.b",
		"a@xn--bcher-kva.example", "a@XN--BCHER-KVA.example", "a@xn--a", "a@ab--cd", "a@a-b--c",
		"a@-ab", "a@ab-", "a@a-b", "a@1.2.3.4", "a@[::1]", "a@[::1].", "a@_x", "a@a_b.c",
		"a@b/ ", "a@b/  x  ", "~!#$%()*+,-.;=?[\\]^_`{|}@b", "a@b/~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}",
		"1@b", "-@b", ".@b", "a.@b", "a@0", "a@0-0", "a@a.b.c.d.e.f",
	} {
		samePaths(t, s)
	}
}

// TestFastPathAgreesRandom tries random ASCII addresses.
func TestFastPathAgreesRandom(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := "aZ09-._@/ \"&'<>:[]~\x00\x7f"
	for range 200000 {
		b := make([]byte, r.IntN(12))
		for i := range b {
			if r.IntN(4) == 0 {
				b[i] = byte(r.IntN(128))
			} else {
				b[i] = alphabet[r.IntN(len(alphabet))]
			}
		}
		samePaths(t, string(b))
	}
}

func TestFastPathHelpers(t *testing.T) {
	t.Parallel()
	ok, upper := asciiLocal("Alice")
	assert.True(t, ok)
	assert.True(t, upper)
	ok, _ = asciiLocal("al ice")
	assert.False(t, ok)
	ok, upper = asciiDomain("example.com")
	assert.True(t, ok)
	assert.False(t, upper)
	ok, _ = asciiDomain("xn--bcher-kva.example")
	assert.False(t, ok, "A-labels take the slow path")
	assert.True(t, asciiResource("a b"))
	assert.False(t, asciiResource("a\tb"))
}

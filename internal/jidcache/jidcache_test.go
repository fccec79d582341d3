package jidcache

import (
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"

	"github.com/parleyim/parley/jid"
)

// same checks that the slot answers s as jid.Parse does.
func same(t *testing.T, sl *Slot, s string) jid.JID {
	t.Helper()
	want, wantErr := jid.Parse(s)
	got, err := sl.Parse(s)
	assert.Equal(t, want, got, "%q", s)
	if wantErr == nil {
		assert.NoError(t, err, "%q", s)
	} else {
		assert.EqualError(t, err, wantErr.Error(), "%q", s)
	}
	return got
}

func TestSlotAnswersAsParse(t *testing.T) {
	t.Parallel()
	inputs := []string{
		"me@example.test/parley", "me@example.test/parley", "me@example.test/parley",
		"", "", "@example.test", "@example.test", "a@b@c", "a@b@c",
		"Me@Example.test/parley", "Me@Example.test/parley", "Me@Example.test/parley",
		"me@example.test/parley", "user1@example.test/phone", "me@example.test/parley",
		"café@example.test", "café@example.test", "café@example.test",
		"example.test", "example.test", "example.test/", "example.test/",
		strings.Repeat("a", 1024) + "@example.test", strings.Repeat("a", 1024) + "@example.test",
		// The same fingerprint, other addresses.
		"aaaaaaaa@x.example/bbbbbbbb", "aaaaaaaa@y.example/bbbbbbbb", "aaaaaaaa@x.example/bbbbbbbb",
		"aaaaaaaa@y.example/bbbbbbbb", "aaaaaaaa@y.example/bbbbbbbb", "aaaaaaaa@x.example/bbbbbbbb",
		"aaaaaaaa@x.example/bbbbbbbb", "aaaaaaaa@@.example/bbbbbbbb", "aaaaaaaa@@.example/bbbbbbbb",
	}
	var sl Slot
	for _, s := range inputs {
		same(t, &sl, s)
	}
}

func TestSlotKeepsOwnCopy(t *testing.T) {
	t.Parallel()
	var sl Slot
	var kept []jid.JID
	for range 3 {
		b := []byte("me@example.test/parley")
		j := same(t, &sl, unsafe.String(unsafe.SliceData(b), len(b)))
		kept = append(kept, j)
		for i := range b {
			b[i] = 'x' // the stanza's buffer, reused
		}
	}
	// The first was parsed in place; the second and third are the copy.
	assert.Equal(t, "xxxxxxxxxxxxxxxxxxxxxx", kept[0].String())
	assert.Equal(t, "me@example.test/parley", kept[1].String())
	assert.Equal(t, "me@example.test/parley", kept[2].String())
	assert.Equal(t, "me@example.test/parley", sl.kept.String())
}

func TestSlotKeepsOnlyRepeats(t *testing.T) {
	var sl Slot
	allocs := testing.AllocsPerRun(100, func() {
		_, _ = sl.Parse("a@example.test/x")
		_, _ = sl.Parse("b@example.test/y")
	})
	assert.Zero(t, allocs, "alternating addresses are never kept")
	assert.True(t, sl.kept.IsZero())
	_, _ = sl.Parse("b@example.test/y")
	assert.Equal(t, "b@example.test/y", sl.kept.String())
	allocs = testing.AllocsPerRun(100, func() { _, _ = sl.Parse("b@example.test/y") })
	assert.Zero(t, allocs)
}

// FuzzSlot feeds a slot a sequence of addresses, repeats likely, and
// checks every answer against jid.Parse.
func FuzzSlot(f *testing.F) {
	f.Add("me@example.test/parley\nme@example.test/parley\nme@example.test/parley")
	f.Add("A@b\nA@b\nA@b\na@b\na@b\n\n\n")
	f.Add("x/\nx/\n@x\n@x\nx@y/z\nx@y/z\nx@y/z")
	f.Fuzz(func(t *testing.T, in string) {
		var sl Slot
		for s := range strings.SplitSeq(in, "\n") {
			want, wantErr := jid.Parse(s)
			got, err := sl.Parse(s)
			if got != want || (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
				t.Fatalf("%q: got %v, %v; want %v, %v", s, got, err, want, wantErr)
			}
		}
	})
}

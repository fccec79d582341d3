package xmltree

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
	"unsafe"
)

// Eight bytes at a time: plainWord tells whether none of eight bytes of
// text or of an attribute value needs a look, so that runs of plain ASCII
// are skipped a word at a time. It may say no for a word that is plain
// (a tab), never yes for one that is not.

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// stops are the ASCII bytes from 0x20 up that end a plain run, each
// repeated in the eight bytes of a word.
type stops [4]uint64

func stopsOf(a, b, c, d byte) stops {
	return stops{ones * uint64(a), ones * uint64(b), ones * uint64(c), ones * uint64(d)}
}

var (
	textStops  = stopsOf('<', '&', ']', '<')
	valueStops = stopsOf('<', '&', '\'', '"')
)

// load64 returns the eight bytes of s from i, which must be there (the
// callers check i >= 0 and i+8 <= len(s)): read through an array pointer,
// the load is one instruction, without the bounds and length checks of a
// slice.
func load64(s string, i int) uint64 {
	return binary.LittleEndian.Uint64((*[8]byte)(unsafe.Add(unsafe.Pointer(unsafe.StringData(s)), i))[:])
}

// plainWord reports whether the eight bytes of x are all ASCII from 0x20
// up and none of st.
func plainWord(x uint64, st *stops) bool { return stopMask(x, st) == 0 }

// skipPlain returns the index of the first byte from j that class does
// not call plain and that does not begin a valid non-ASCII character
// (UTF-8 that is a Char of XML 1.0, which needs no other look), or
// len(data): words that plainWord passes are skipped whole, and in one
// that it does not, the first byte that stops it is found from the mask
// (its lowest marked byte is always one: a false mark only ever follows
// a true one). Characters from 0x80 are checked here rather than by the
// caller, so that a text with a few of them is one call, not one per
// character.
func skipPlain(data string, j int, st *stops, class *[256]uint8) int {
	// The stops in registers (the text's three distinct ones when it
	// repeats one), and a loop over whole words.
	s0, s1, s2, s3 := st[0], st[1], st[2], st[3]
	if s3 == s0 {
		for j >= 0 && j+8 <= len(data) {
			m := mask3(load64(data, j), s0, s1, s2)
			if m == 0 {
				j += 8
				continue
			}
			j += bits.TrailingZeros64(m) >> 3
			if class[data[j]] != plain {
				if j = pastChar(data, j); j < 0 {
					return ^j
				}
				continue
			}
			j++
		}
	} else {
		for j >= 0 && j+8 <= len(data) {
			m := mask4(load64(data, j), s0, s1, s2, s3)
			if m == 0 {
				j += 8
				continue
			}
			j += bits.TrailingZeros64(m) >> 3
			if class[data[j]] != plain {
				if j = pastChar(data, j); j < 0 {
					return ^j
				}
				continue
			}
			j++
		}
	}
	for j < len(data) {
		if class[data[j]] != plain {
			if j = pastChar(data, j); j < 0 {
				return ^j
			}
			continue
		}
		j++
	}
	return j
}

// pastChar is skipPlain's look at data[j], a byte its class does not
// call plain: the index after the character when it is a valid non-ASCII
// one, else ^j (negative), where the scan stops.
func pastChar(data string, j int) int {
	if data[j] < utf8.RuneSelf {
		return ^j
	}
	size, ok := validUTF8(data, j)
	if !ok {
		return ^j
	}
	return j + size
}

// stopMask marks the bytes of x that are not ASCII from 0x20 up, or are
// one of st (with false marks only above a true one). A byte of y is
// zero where (y-ones)&^y has its high bit (a borrow may mark bytes above
// it too); for bytes below 0x20 the same with 0x20 in place of 1; the
// high bits are kept once for all the terms.
func stopMask(x uint64, st *stops) uint64 {
	if st[3] == st[0] {
		return mask3(x, st[0], st[1], st[2])
	}
	return mask4(x, st[0], st[1], st[2], st[3])
}

// mask3 is stopMask for three stops, each repeated in a word; one
// temporary at a time, so that the loop keeps its values in registers.
func mask3(x, s0, s1, s2 uint64) uint64 {
	m := x | (x-ones*0x20)&^x // bytes from 0x80, bytes below 0x20
	y := x ^ s0
	m |= (y - ones) &^ y
	y = x ^ s1
	m |= (y - ones) &^ y
	y = x ^ s2
	m |= (y - ones) &^ y
	return m & highs
}

// mask4 is stopMask for four stops.
func mask4(x, s0, s1, s2, s3 uint64) uint64 {
	y := x ^ s3
	return mask3(x, s0, s1, s2) | (y-ones)&^y&highs
}

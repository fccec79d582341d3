package xmltree

import (
	"encoding/binary"
	"math/bits"
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

// load64 returns the eight bytes of s from i, which must be there.
func load64(s string, i int) uint64 {
	return binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s[i:]), 8))
}

// plainWord reports whether the eight bytes of x are all ASCII from 0x20
// up and none of st.
func plainWord(x uint64, st *stops) bool { return stopMask(x, st) == 0 }

// skipPlain returns the index of the first byte from j that class does
// not call plain, or len(data): words that plainWord passes are skipped
// whole, and in one that it does not, the first byte that stops it is
// found from the mask (its lowest marked byte is always one: a false mark
// only ever follows a true one).
func skipPlain(data string, j int, st *stops, class *[256]uint8) int {
	for j < len(data) {
		if j+8 <= len(data) {
			m := stopMask(load64(data, j), st)
			if m == 0 {
				j += 8
				continue
			}
			j += bits.TrailingZeros64(m) >> 3
		}
		if class[data[j]] != plain {
			return j
		}
		j++
	}
	return j
}

// stopMask marks the bytes of x that are not ASCII from 0x20 up, or are
// one of st (with false marks only above a true one). A byte of y is
// zero where (y-ones)&^y has its high bit (a borrow may mark bytes above
// it too); for bytes below 0x20 the same with 0x20 in place of 1; the
// high bits are kept once for all the terms.
func stopMask(x uint64, st *stops) uint64 {
	y0, y1, y2, y3 := x^st[0], x^st[1], x^st[2], x^st[3]
	m := x | (x-ones*0x20)&^x // bytes from 0x80, bytes below 0x20
	m |= (y0-ones)&^y0 | (y1-ones)&^y1 | (y2-ones)&^y2 | (y3-ones)&^y3
	return m & highs
}

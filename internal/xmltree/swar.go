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

// stops are the ASCII bytes from 0x20 up that end a plain run.
type stops [4]byte

var (
	textStops  = stops{'<', '&', ']', '<'}
	valueStops = stops{'<', '&', '\'', '"'}
)

// load64 returns the eight bytes of s from i, which must be there.
func load64(s string, i int) uint64 {
	return binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s[i:]), 8))
}

// hasZero is non-zero when some byte of x is zero (and may then mark
// other bytes too).
func hasZero(x uint64) uint64 { return (x - ones) & ^x & highs }

// plainWord reports whether the eight bytes of x are all ASCII from 0x20
// up and none of st.
func plainWord(x uint64, st stops) bool { return stopMask(x, st) == 0 }

// skipPlain returns the index of the first byte from j that class does
// not call plain, or len(data): words that plainWord passes are skipped
// whole, and in one that it does not, the first byte that stops it is
// found from the mask (its lowest marked byte is always one: a false mark
// only ever follows a true one).
func skipPlain(data string, j int, st stops, class *[256]uint8) int {
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
// one of st (with false marks only above a true one).
func stopMask(x uint64, st stops) uint64 {
	m := x & highs                    // bytes from 0x80
	m |= (x - ones*0x20) & ^x & highs // bytes below 0x20
	m |= hasZero(x ^ (ones * uint64(st[0])))
	m |= hasZero(x ^ (ones * uint64(st[1])))
	m |= hasZero(x ^ (ones * uint64(st[2])))
	m |= hasZero(x ^ (ones * uint64(st[3])))
	return m
}

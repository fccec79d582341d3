package xmltree

import (
	"encoding/binary"
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
func plainWord(x uint64, st stops) bool {
	m := x & highs                    // bytes from 0x80
	m |= (x - ones*0x20) & ^x & highs // bytes below 0x20
	m |= hasZero(x ^ (ones * uint64(st[0])))
	m |= hasZero(x ^ (ones * uint64(st[1])))
	m |= hasZero(x ^ (ones * uint64(st[2])))
	m |= hasZero(x ^ (ones * uint64(st[3])))
	return m == 0
}

package wire

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// repeating is an endless source of the same element, with poll saying
// that no input is waiting after each one when idle is set.
type repeating struct {
	head string // read first
	elem []byte
	off  int
	idle bool
	gap  bool // the last element was read whole and poll has not said so yet
}

func (r *repeating) Read(p []byte) (int, error) {
	if r.head != "" {
		n := copy(p, r.head)
		r.head = r.head[n:]
		return n, nil
	}
	n := copy(p, r.elem[r.off:])
	r.off += n
	if r.off == len(r.elem) {
		r.off = 0
		r.gap = r.idle
	}
	return n, nil
}

func (r *repeating) poll(p []byte) (int, error) {
	if r.gap {
		r.gap = false
		return 0, ErrNoInput
	}
	return r.Read(p)
}

// BenchmarkElement reads one message per op: straight on, and with the
// reader going idle (dropping buffer and parser) before each one, which
// is what a session does when stanzas come one at a time.
func BenchmarkElement(b *testing.B) {
	elem := []byte("<message from='romeo@example.net/orchard' to='juliet@example.com/balcony' type='chat' id='m1'><body>Art thou not Romeo, and a Montague?</body></message>")
	for _, idle := range []bool{false, true} {
		name := "straight"
		if idle {
			name = "idle-between"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			src := &repeating{head: header, elem: elem, idle: idle, gap: idle}
			r := NewReader(src, Limits{})
			if _, err := r.ReadHeader(); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if idle && !r.Idle(src.poll) {
					b.Fatal("not idle")
				}
				if _, err := r.NextElement(); err != nil {
					b.Fatal(err)
				}
				if err := drain(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOneByteReads reads one message of a given size per op from a
// source that gives one byte per Read, beside the same message read
// whole, so that ns/byte shows what slow input costs: the reader parses
// an element in place again after a read that at least doubled what it
// holds, and frames it as bytes come otherwise, so the work per byte
// should stay flat as the element grows.
func BenchmarkOneByteReads(b *testing.B) {
	for _, size := range []int{1 << 10, 16 << 10, 256 << 10} {
		elem := sizedMessage(size)
		for _, oneByte := range []bool{true, false} {
			name := fmt.Sprintf("%dKiB/whole", size>>10)
			if oneByte {
				name = fmt.Sprintf("%dKiB/one-byte", size>>10)
			}
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(elem)))
				var src io.Reader = &repeating{head: header, elem: elem}
				if oneByte {
					src = iotest.OneByteReader(src)
				}
				r := NewReader(src, Limits{})
				if _, err := r.ReadHeader(); err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					if _, err := r.NextElement(); err != nil {
						b.Fatal(err)
					}
					if err := drain(r); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(elem)), "ns/byte")
			})
		}
	}
}

// sizedMessage returns a message of size bytes, its body plain text.
func sizedMessage(size int) []byte {
	const open, end = "<message from='romeo@example.net/orchard' to='juliet@example.com/balcony' type='chat' id='m1'><body>", "</body></message>"
	line := "Art thou not Romeo, and a Montague? "
	body := strings.Repeat(line, (size-len(open)-len(end))/len(line)+1)[:size-len(open)-len(end)]
	return []byte(open + body + end)
}

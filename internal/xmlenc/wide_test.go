package xmlenc

import (
	"encoding/xml"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wideCases are elements whose per-element checks would cost n² steps if
// any of them compared each attribute or binding with every other one.
var wideCases = []struct {
	name string
	toks func(n int) []xml.Token
}{
	{"attributes", func(n int) []xml.Token {
		s := start("urn:w", "x")
		for i := range n {
			s.Attr = append(s.Attr, attr("", "a"+strconv.Itoa(i), ""))
		}
		return []xml.Token{s, end("urn:w", "x")}
	}},
	{"declarations", func(n int) []xml.Token {
		s := start("urn:w", "x")
		for i := range n {
			s.Attr = append(s.Attr, attr("xmlns", "p"+strconv.Itoa(i), "urn:"+strconv.Itoa(i)))
		}
		return []xml.Token{s, end("urn:w", "x")}
	}},
	{"declared prefixes", func(n int) []xml.Token {
		s := start("urn:w", "x")
		for i := range n / 2 {
			s.Attr = append(s.Attr, attr("urn:"+strconv.Itoa(i), "a", ""))
		}
		for i := range n / 2 {
			s.Attr = append(s.Attr, attr("xmlns", "p"+strconv.Itoa(i), "urn:"+strconv.Itoa(i)))
		}
		return []xml.Token{s, end("urn:w", "x")}
	}},
	{"new prefixes", func(n int) []xml.Token {
		s := start("urn:w", "x")
		for i := range n {
			s.Attr = append(s.Attr, attr("urn:"+strconv.Itoa(i), "a", ""))
		}
		return []xml.Token{s, end("urn:w", "x")}
	}},
	{"prefixes that look generated", func(n int) []xml.Token {
		s := start("urn:w", "x")
		for i := range n / 2 {
			s.Attr = append(s.Attr, attr("xmlns", "ns"+strconv.Itoa(i+1), "urn:"+strconv.Itoa(i)))
		}
		for i := range n / 2 {
			s.Attr = append(s.Attr, attr("urn:new:"+strconv.Itoa(i), "a", ""))
		}
		return []xml.Token{s, end("urn:w", "x")}
	}},
	{"shadowed bindings", func(n int) []xml.Token {
		// The root binds k prefixes to urn:u, a child rebinds them all,
		// and k grandchildren each carry an attribute in urn:u.
		k := n / 3
		root, child := start("urn:w", "x"), start("urn:w", "y")
		for i := range k {
			root.Attr = append(root.Attr, attr("xmlns", "p"+strconv.Itoa(i), "urn:u"))
			child.Attr = append(child.Attr, attr("xmlns", "p"+strconv.Itoa(i), "urn:v"))
		}
		toks := []xml.Token{root, child}
		for range k {
			toks = append(toks, start("urn:w", "z", attr("urn:u", "a", "")), end("urn:w", "z"))
		}
		return append(toks, end("urn:w", "y"), end("urn:w", "x"))
	}},
}

// TestWriterWideLinear counts the steps of the per-element checks
// (comparisons and index operations) for elements of 1,000 and 10,000
// attributes: they must grow linearly, not with the square. The counts
// are exact, not timed; the linear checks take 1 to 7 steps per
// attribute, while comparing every attribute or binding with every
// earlier one takes hundreds at n = 1,000 and thousands at n = 10,000.
func TestWriterWideLinear(t *testing.T) {
	t.Parallel()
	for _, tc := range wideCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, n := range []int{1000, 10000} {
				var w Writer
				for _, tok := range tc.toks(n) {
					require.NoError(t, w.EncodeToken(tok))
				}
				require.NoError(t, w.Close())
				assert.LessOrEqual(t, w.steps, 10*n, "%d attributes", n)
			}
		})
	}
}

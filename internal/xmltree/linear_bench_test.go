package xmltree

import (
	"strconv"
	"strings"
	"testing"
)

// Linearity: each benchmark parses one element whose size grows with N,
// in the shapes where a check done per attribute, declaration or name
// could look at all the others (duplicate attributes, duplicate
// declarations, prefix lookups). Run with N = 1,000 and 100,000: the time
// per operation must grow about a hundredfold, not ten thousandfold.

var linearSizes = []int{1000, 100000}

// linearShapes returns the elements measured, for n.
func linearShapes(n int) []struct{ name, data string } {
	var attrs, prefixed, decls, children strings.Builder
	attrs.WriteString("<a")
	prefixed.WriteString("<a")
	decls.WriteString("<a")
	children.WriteString("<a xmlns:p='urn:p'>")
	for i := range n {
		k := strconv.Itoa(i)
		attrs.WriteString(" a" + k + "='v'")
		prefixed.WriteString(" xmlns:p" + k + "='urn:" + k + "' p" + k + ":a='v'")
		decls.WriteString(" xmlns:p" + k + "='urn:" + k + "'")
		children.WriteString("<p:c p:x='1'/>")
	}
	attrs.WriteString("/>")
	prefixed.WriteString("/>")
	decls.WriteString("/>")
	children.WriteString("</a>")
	return []struct{ name, data string }{
		{"attributes", attrs.String()},
		{"prefixed-attributes", prefixed.String()},
		{"declarations", decls.String()},
		{"prefixed-children", children.String()},
	}
}

func BenchmarkLinear(b *testing.B) {
	for _, n := range linearSizes {
		for _, s := range linearShapes(n) {
			b.Run(s.name+"/n="+strconv.Itoa(n), func(b *testing.B) {
				var p Parser
				p.SetContext(fuzzContext)
				var el Element
				if err := p.Parse(s.data, &el); err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(s.data)))
				b.ResetTimer()
				for range b.N {
					if err := p.Parse(s.data, &el); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkLinearFramer is the Framer's part: finding where the same
// elements end.
func BenchmarkLinearFramer(b *testing.B) {
	for _, n := range linearSizes {
		for _, s := range linearShapes(n) {
			b.Run(s.name+"/n="+strconv.Itoa(n), func(b *testing.B) {
				data := []byte(s.data)
				b.SetBytes(int64(len(data)))
				for range b.N {
					var f Framer
					f.Reset()
					if _, done, err := f.Scan(data); err != nil || !done {
						b.Fatal(done, err)
					}
				}
			})
		}
	}
}

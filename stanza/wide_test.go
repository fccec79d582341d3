package stanza

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wideShapes are messages with one very wide child: msg(n) returns one
// whose child carries n attributes of one kind.
var wideShapes = []struct {
	name string
	msg  func(n int) []byte
}{
	// n empty attributes in no namespace: the duplicate check.
	{"attrs", flat(func(b []byte, i int) []byte {
		return append(strconv.AppendInt(append(b, " a"...), int64(i), 10), "=''"...)
	})},
	// n namespace declarations: the duplicate check and the bindings
	// the writer keeps.
	{"decls", flat(func(b []byte, i int) []byte {
		b = strconv.AppendInt(append(b, " xmlns:p"...), int64(i), 10)
		return append(strconv.AppendInt(append(b, "='urn:"...), int64(i), 10), '\'')
	})},
	// n/2 declarations and n/2 attributes in those namespaces: looking
	// up a prefix for each attribute.
	{"prefixed", flat(func(b []byte, i int) []byte {
		if i%2 == 0 {
			b = strconv.AppendInt(append(b, " xmlns:p"...), int64(i/2), 10)
			return append(strconv.AppendInt(append(b, "='urn:"...), int64(i/2), 10), '\'')
		}
		return append(strconv.AppendInt(append(b, " p"...), int64(i/2), 10), ":a=''"...)
	})},
	// n attributes with undeclared prefixes, which encoding/xml reports
	// as namespaces of their own: a new prefix for each.
	{"undeclared", flat(func(b []byte, i int) []byte {
		return append(strconv.AppendInt(append(b, " q"...), int64(i), 10), ":a=''"...)
	})},
	// n/3 prefixes bound to urn:u after k, all rebound by a child, and
	// n/3 grandchildren with an attribute in urn:u: the shadowed bindings
	// that a scan for an older prefix in force would walk for each of them.
	{"shadowed", func(n int) []byte {
		k := n / 3
		b := []byte("<message id='w1'><x xmlns='urn:wide' xmlns:k='urn:u'")
		for i := range k {
			b = append(strconv.AppendInt(append(b, " xmlns:p"...), int64(i), 10), "='urn:u'"...)
		}
		b = append(b, "><y"...)
		for i := range k {
			b = append(strconv.AppendInt(append(b, " xmlns:p"...), int64(i), 10), "='urn:v'"...)
		}
		b = append(b, '>')
		for range k {
			b = append(b, "<z k:a=''/>"...)
		}
		return append(b, "</y></x></message>"...)
	}},
}

// flat returns a message whose child <x xmlns='urn:wide'/> carries n
// attributes, the i-th appended by attr.
func flat(attr func(b []byte, i int) []byte) func(n int) []byte {
	return func(n int) []byte {
		b := []byte("<message id='w1'><x xmlns='urn:wide'")
		for i := range n {
			b = attr(b, i)
		}
		return append(b, "/></message>"...)
	}
}

// BenchmarkWideElement decodes a message whose one child has 1k, 10k or
// 100k attributes, with encoding/xml reading the bytes as the session
// does; ns/attr must stay flat as the element grows. (At 100k most shapes
// are over the session's 1 MiB stanza limit; they show the growth.)
func BenchmarkWideElement(b *testing.B) {
	for _, shape := range wideShapes {
		for _, n := range []int{1000, 10000, 100000} {
			b.Run(fmt.Sprintf("%s/%dk", shape.name, n/1000), func(b *testing.B) {
				data := shape.msg(n)
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					d, start, ok := firstStart(data)
					if !ok {
						b.Fatal("no start element")
					}
					m, err := (Decoder{}).Decode(d, start)
					if err != nil {
						b.Fatal(err)
					}
					if len(m.(*Message).Extensions) != 1 {
						b.Fatal("extension lost")
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/attr")
			})
		}
	}
}

// TestDecodeWide decodes each wide shape and checks that the extension
// keeps every attribute, in its namespace, and reads back to the same
// bytes; a duplicate at the end of a wide element is bad-request.
func TestDecodeWide(t *testing.T) {
	t.Parallel()
	const n = 2000
	for _, shape := range wideShapes {
		t.Run(shape.name, func(t *testing.T) {
			t.Parallel()
			data := shape.msg(n)
			s, err := decodeString(t, string(data))
			require.NoError(t, err)
			m := s.(*Message)
			require.Len(t, m.Extensions, 1)
			raw := m.Extensions[0].(*Raw)
			inAttrs, inDecls := attrsOf(data)
			outAttrs, outDecls := attrsOf([]byte(raw.String()))
			require.NotEmpty(t, append(inAttrs, inDecls...))
			assert.Equal(t, inAttrs, outAttrs, "attributes")
			kept := make(map[string]bool, len(outDecls))
			for _, d := range outDecls {
				kept[d] = true
			}
			for _, d := range inDecls {
				assert.True(t, kept[d], "declaration %s lost", d)
			}
			again, err := ParseRaw([]byte(raw.String()))
			require.NoError(t, err)
			assert.Equal(t, raw.String(), again.String(), "read back")
		})
	}
	t.Run("duplicate at the end", func(t *testing.T) {
		t.Parallel()
		data := wideShapes[0].msg(n)
		data = append(data[:bytes.LastIndex(data, []byte("/></message>"))], " a1234='x'/></message>"...)
		_, err := decodeString(t, string(data))
		require.Error(t, err)
		assert.True(t, isInvalid(err), "%v", err)
		assert.ErrorIs(t, err, BadRequest)
		assert.Contains(t, err.Error(), `duplicate attribute "a1234"`)
	})
}

// attrsOf returns, for the elements of data below the stanza, resolved
// by encoding/xml, the attributes other than namespace declarations
// ("namespace local=value") and the prefixed namespace declarations
// ("prefix=uri"), each sorted: what a Raw must keep.
func attrsOf(data []byte) (attrs, decls []string) {
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		s, ok := tok.(xml.StartElement)
		if !ok || s.Name.Local == "message" {
			continue
		}
		for _, a := range s.Attr {
			switch {
			case a.Name.Space == "xmlns":
				decls = append(decls, a.Name.Local+"="+a.Value)
			case a.Name.Space == "" && a.Name.Local == "xmlns":
			default:
				attrs = append(attrs, a.Name.Space+" "+a.Name.Local+"="+a.Value)
			}
		}
	}
	sort.Strings(attrs)
	sort.Strings(decls)
	return attrs, decls
}

// wideFuzzSeeds are wide elements for the fuzz targets: past the point
// where the checks switch from comparing pairs to maps, in each kind of
// stanza, and with a duplicate at the end.
func wideFuzzSeeds() []string {
	var seeds []string
	for _, shape := range wideShapes {
		seeds = append(seeds, string(shape.msg(40)))
	}
	attrs := string(wideShapes[3].msg(40))
	attrs = attrs[strings.Index(attrs, "<x ") : len(attrs)-len("</message>")]
	return append(seeds,
		"<message id='w1'><x xmlns='urn:wide'"+wideAttrs(40)+" a7='x'/></message>",
		"<presence><c xml:lang='en'"+wideAttrs(40)+" xmlns='urn:wide'/>"+attrs+"</presence>",
		"<iq type='set' id='i1'>"+attrs+"</iq>",
		"<iq type='error' id='i2'><error type='cancel'><undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"+attrs+"</error></iq>",
	)
}

// wideAttrs returns n empty attributes named a0, a1, ….
func wideAttrs(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(" a" + strconv.Itoa(i) + "=''")
	}
	return b.String()
}

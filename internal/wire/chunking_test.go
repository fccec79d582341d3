package wire

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/parleyim/parley/internal/xmltree"
	"github.com/parleyim/parley/stanza"
)

// sized is a source that returns its input in reads of the given sizes,
// over and over; a size of 0 is a read that returns nothing and no error.
type sized struct {
	rest  string
	sizes []int
	i     int
}

func (s *sized) Read(p []byte) (int, error) {
	if s.rest == "" {
		return 0, io.EOF
	}
	n := s.sizes[s.i%len(s.sizes)]
	s.i++
	n = min(n, len(p), len(s.rest))
	copy(p, s.rest[:n])
	s.rest = s.rest[n:]
	return n, nil
}

// chunkSizes reads sizes as little-endian 16-bit numbers; with none but
// zeros, the input comes in one piece.
func chunkSizes(b []byte) []int {
	var sizes []int
	some := false
	for i := 0; i+1 < len(b); i += 2 {
		n := int(b[i]) | int(b[i+1])<<8
		sizes = append(sizes, n)
		some = some || n > 0
	}
	if !some {
		return []int{1 << 20}
	}
	return sizes
}

// sizesOf encodes sizes for chunkSizes.
func sizesOf(sizes ...int) []byte {
	var b []byte
	for _, n := range sizes {
		b = append(b, byte(n), byte(n>>8))
	}
	return b
}

// cutsBefore returns the chunk sizes that cut body just before each of
// marks (each found after the previous one), then after each byte of
// the last mark, and so on, so that the reads end exactly there.
func cutsBefore(body string, marks ...string) []byte {
	var sizes []int
	at := 0
	for _, m := range marks {
		k := strings.Index(body[at:], m)
		if k < 0 {
			panic("no " + m + " in " + body)
		}
		if k > 0 {
			sizes = append(sizes, k)
		}
		at += k
	}
	sizes = append(sizes, 1, 2, 3, 4096, 1)
	return sizesOf(sizes...)
}

// readEvents reads the elements of a stream whose header has been read:
// what NextElement and Token (or XMLTree, for every third element) give,
// each element's LastSize, and how the stream ended.
func readEvents(r *Reader) []string {
	var events []string
	for i := 0; i < 10000; i++ {
		start, err := r.NextElement()
		if err == nil {
			events = append(events, fmt.Sprintf("element %s %s %v", start.Name.Space, start.Name.Local, start.Attr))
			if i%3 == 2 {
				el := r.XMLTree()
				if el == nil {
					return append(events, "no tree")
				}
				events = append(events, treeEvents(el)...)
			}
			for r.Depth() > 1 && err == nil {
				var tok xml.Token
				tok, err = r.Token()
				switch tok := tok.(type) {
				case xml.StartElement:
					events = append(events, fmt.Sprintf("start %s %s %v", tok.Name.Space, tok.Name.Local, tok.Attr))
				case xml.EndElement:
					events = append(events, fmt.Sprintf("end %s %s", tok.Name.Space, tok.Name.Local))
				case xml.CharData:
					events = append(events, fmt.Sprintf("text %q", tok))
				}
			}
			if err == nil {
				events = append(events, fmt.Sprintf("size %d", r.LastSize()))
			}
		}
		if err != nil {
			var se *stanza.StreamError
			switch {
			case errors.As(err, &se):
				return append(events, "stream error "+string(se.Condition))
			case errors.Is(err, ErrStreamClosed):
				return append(events, fmt.Sprintf("closed, size %d", r.LastSize()))
			case errors.Is(err, io.ErrUnexpectedEOF):
				return append(events, "unexpected EOF")
			}
			return append(events, fmt.Sprintf("error %T %v", err, err))
		}
	}
	return append(events, "too many elements")
}

// treeEvents lists the nodes of an element taken whole.
func treeEvents(el *xmltree.Element) []string {
	var events []string
	for i := range el.Nodes {
		n := &el.Nodes[i]
		switch n.Kind {
		case xmltree.Start:
			events = append(events, fmt.Sprintf("node start %v %v", el.Name(n), el.AppendAttrs(nil, n)))
		case xmltree.End:
			events = append(events, fmt.Sprintf("node end %v", el.Name(n)))
		case xmltree.Text:
			events = append(events, fmt.Sprintf("node text %q", el.Str(n.Text)))
		}
	}
	return events
}

// readChunked reads header+body from src with limits lim.
func readChunked(t *testing.T, src io.Reader, lim Limits) []string {
	r := NewReader(src, lim)
	if _, err := r.ReadHeader(); err != nil {
		t.Fatalf("header: %v", err)
	}
	return readEvents(r)
}

// FuzzChunking reads one stream three ways: in reads as large as the
// buffer (the last one with io.EOF), one byte per read, and in the fuzzed
// sizes after the header. Whether an element is parsed in place (whole in
// the buffer) or framed across reads, what is read, and how reading
// ends, must not change; small limits put the size and depth refusals
// in the comparison too.
func FuzzChunking(f *testing.F) {
	long := "<message><body>" + strings.Repeat("abcdefghé", 600) + "</body></message>"
	longAttr := "<iq id='" + strings.Repeat("x", 5000) + "' type='get'><ping xmlns='urn:xmpp:ping'/></iq>"
	for _, s := range []struct {
		body  string
		marks []string
	}{
		{"<message><body>hi</body></message><iq id='1'/></stream:stream>", []string{"<body", "</body", "</message", "<iq", "</stream"}},
		{"<a x='h\u00e9llo' y=\"'\"/><b>\u20ac\u20ac</b>", []string{"x='", "\u00e9", "\xa9", "\u20ac", "\x82"}},
		{"<a><![CDATA[x]]y]]]>z]]></a><b><![CDATA[]]></b>", []string{"<![", "CDATA[", "]]", "]>", "<![CDATA", "]]>"}},
		{"<a>&lt;&#x20AC;&amp;</a>  \n <b/>", []string{"&l", "&#x2", "\n", "<b"}},
		{"<a xmlns:p='urn:p'><p:b p:c='1'/></a><stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>", []string{"'urn:p'", "p:c", "</stream:", "stream>"}},
		{"<a><b><c><d><e><f/></e></d></c></b></a>", []string{"<d", "<e", "<f"}},
		{long + "<a/>", []string{"<body>", "é", "\xa9", "</body"}},
		{longAttr + "</stream:stream>", []string{"id='", "' type", "<ping", "</stream"}},
		{"<a>" + strings.Repeat("<b/>", 200) + "</a></stream:stream>", []string{"<b/>", "/>"}},
		{"<a></b>", []string{"</"}},
		{"<a/></stream>", []string{"</"}},
		{"<a><!-- c --></a>", []string{"<!"}},
		{"<a b='1' b='2'/>", []string{"b='2"}},
		{"<a>\xff</a>", []string{"\xff"}},
		{"<a>]]></a>", []string{"]]>"}},
		{"<message><body>unfinished", []string{"<body"}},
	} {
		for _, small := range []bool{false, true} {
			f.Add(s.body, cutsBefore(s.body, s.marks...), small)
			f.Add(s.body, sizesOf(1, 4095, 4096, 4097, 7), small)
		}
	}
	for _, s := range corpusSeeds(f) {
		f.Add(s.body, sizesOf(4096, 100, 1, 3000, 4096), false)
		f.Add(s.body, sizesOf(511, 512, 513, 37), true)
	}
	f.Fuzz(func(t *testing.T, body string, sizes []byte, small bool) {
		lim := Limits{}
		if small {
			lim = Limits{MaxStanzaBytes: 512, MaxDepth: 4}
		}
		whole := readChunked(t, iotest.DataErrReader(strings.NewReader(header+body)), lim)
		bytewise := readChunked(t, iotest.OneByteReader(strings.NewReader(header+body)), lim)
		if !slices.Equal(whole, bytewise) {
			t.Fatalf("whole:      %q\nbyte-wise:  %q", whole, bytewise)
		}
		src := io.MultiReader(strings.NewReader(header), &sized{rest: body, sizes: chunkSizes(sizes)})
		chunked := readChunked(t, src, lim)
		if !slices.Equal(whole, chunked) {
			t.Fatalf("whole:   %q\nchunked: %q (sizes %v)", whole, chunked, chunkSizes(sizes))
		}
	})
}

package wire

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/stanza"
)

func TestAllow(t *testing.T) {
	t.Parallel()
	big := func(name string, n int) string { return "<" + name + ">" + strings.Repeat("x", n) + "</" + name + ">" }
	const size = len("<a><b/>") + 300 + len("</a>")
	tests := []struct {
		name     string
		body     string
		allow    map[string]int // by element name
		names    []string
		asked    []string
		wantErr  error
		wantText string
	}{
		{"the allowed element is read whole", big("a", 300) + "<b/>", map[string]int{"a": 1000}, []string{"a", "b"}, []string{"a"}, io.ErrUnexpectedEOF, ""},
		{"without it the same element fails", big("a", 300), nil, nil, []string{"a"}, stanza.StreamPolicyViolation, "element larger than 100 bytes"},
		{"the next element has the usual limit", big("a", 300) + big("b", 300), map[string]int{"a": 1000}, []string{"a"}, []string{"a", "b"}, stanza.StreamPolicyViolation, "element larger than 100 bytes"},
		{"an element over the allowance fails", big("a", 2000), map[string]int{"a": 1000}, nil, []string{"a"}, stanza.StreamPolicyViolation, "element larger than 1000 bytes"},
		{"a smaller answer does not lower the limit", big("a", 80), map[string]int{"a": 10}, []string{"a"}, nil, io.ErrUnexpectedEOF, ""},
		{"elements under the limit are not asked about", "<a/>" + big("b", 300) + "<c/>", map[string]int{"a": 1000, "b": 1000, "c": 1000}, []string{"a", "b", "c"}, []string{"b"}, io.ErrUnexpectedEOF, ""},
		{"counted from the start tag: exactly the element", "<a><b/>" + strings.Repeat("x", 300) + "</a>", map[string]int{"a": size}, []string{"a"}, []string{"a"}, io.ErrUnexpectedEOF, ""},
		{"counted from the start tag: one byte short", "<a><b/>" + strings.Repeat("x", 300) + "</a>", map[string]int{"a": size - 1}, nil, []string{"a"}, stanza.StreamPolicyViolation, fmt.Sprintf("element larger than %d bytes", size-1)},
		{"a start tag over the limit is not asked about", "<a x='" + strings.Repeat("y", 200) + "'/>", map[string]int{"a": 1000}, nil, nil, stanza.StreamPolicyViolation, "element larger than 100 bytes"},
		{"the start tag is read with the stream's namespaces", "<iq type='result'>" + strings.Repeat("z", 200) + "</iq>", map[string]int{"{jabber:client}iq": 1000}, []string{"iq"}, []string{"iq"}, io.ErrUnexpectedEOF, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := NewReader(strings.NewReader(header+tt.body), Limits{MaxStanzaBytes: 100})
			var asked []string
			r.SetAllow(func(start xml.StartElement) int {
				asked = append(asked, start.Name.Local)
				if n, ok := tt.allow["{"+start.Name.Space+"}"+start.Name.Local]; ok {
					return n
				}
				return tt.allow[start.Name.Local]
			})
			_, err := r.ReadHeader()
			require.NoError(t, err)
			var names []string
			for {
				start, err := r.NextElement()
				if err == nil {
					names = append(names, start.Name.Local)
					err = drain(r)
				}
				if err != nil {
					assert.ErrorIs(t, err, tt.wantErr)
					if tt.wantText != "" {
						var se *stanza.StreamError
						require.ErrorAs(t, err, &se)
						assert.Equal(t, tt.wantText, se.Text)
					}
					break
				}
			}
			assert.Equal(t, tt.names, names)
			assert.Equal(t, tt.asked, asked)
		})
	}
}

// FuzzAllow reads arbitrary elements with a small limit, allowing
// allow[i]*8 bytes to element i when asked, and compares with a reader
// without a size limit. The two see the same elements until the limited
// one stops; each element it completes is within that element's limit;
// when it stops for size, the error names that element's limit and the
// element is indeed larger (or broke first in the other reader).
func FuzzAllow(f *testing.F) {
	f.Add("<a>"+strings.Repeat("x", 300)+"</a><b>"+strings.Repeat("y", 300)+"</b>", []byte{100})
	f.Add("<iq type='result' id='1'><query>"+strings.Repeat("<item/>", 50)+"</query></iq><c/>", []byte{0, 255, 3})
	f.Add("<a/><b><c>text</c></b><d>&lt;</d>", []byte{1, 2, 3, 4})
	f.Add("  <a>"+strings.Repeat("z", 500)+"</a>\n<b/></stream:stream>", []byte{64})
	f.Add("<a><b/>"+strings.Repeat("z", 500)+"</a><c/>", []byte{65, 1})
	f.Fuzz(func(t *testing.T, body string, allow []byte) {
		const base = 256
		free := NewReader(strings.NewReader(header+body), Limits{MaxStanzaBytes: 1 << 30, MaxDepth: 4})
		capped := NewReader(strings.NewReader(header+body), Limits{MaxStanzaBytes: base, MaxDepth: 4})
		if _, err := free.ReadHeader(); err != nil {
			t.Fatal(err)
		}
		if _, err := capped.ReadHeader(); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 1000; i++ {
			limit := base
			capped.SetAllow(func(xml.StartElement) int {
				if i < len(allow) {
					limit = max(base, int(allow[i])*8)
					return int(allow[i]) * 8
				}
				return 0
			})
			want := readElement(free, nil)
			got := readElement(capped, nil)
			var se *stanza.StreamError
			if errors.As(got.err, &se) && strings.HasPrefix(se.Text, "element larger") {
				if wantText := fmt.Sprintf("element larger than %d bytes", limit); se.Text != wantText {
					t.Fatalf("element %d: %q, want %q", i, se.Text, wantText)
				}
				if want.err == nil && want.size <= limit {
					t.Fatalf("element %d of %d bytes refused under a limit of %d", i, want.size, limit)
				}
				return
			}
			if !slices.Equal(got.events, want.events) || (got.err == nil) != (want.err == nil) {
				t.Fatalf("element %d: limited %q (%v)\nfree %q (%v)", i, got.events, got.err, want.events, want.err)
			}
			if got.err != nil {
				return
			}
			if got.size > limit {
				t.Fatalf("element %d of %d bytes read under a limit of %d", i, got.size, limit)
			}
		}
	})
}

// element is what readElement saw of one top-level element.
type element struct {
	events []string
	size   int // LastSize, when it was read whole
	err    error
}

// readElement reads the next top-level element whole, calling before,
// if set, ahead of each token it reads with the count of tokens read.
func readElement(r *Reader, before func(tokens int)) element {
	var el element
	start, err := r.NextElement()
	if err != nil {
		el.err = err
		return el
	}
	el.events = append(el.events, fmt.Sprint("start ", start.Name, start.Attr))
	for tokens := 0; r.Depth() > 1; tokens++ {
		if before != nil {
			before(tokens)
		}
		tok, err := r.Token()
		if err != nil {
			el.err = err
			return el
		}
		switch tok := tok.(type) {
		case xml.CharData:
			el.events = append(el.events, "text "+string(tok))
		default:
			el.events = append(el.events, fmt.Sprint(tok))
		}
	}
	el.size = r.LastSize()
	return el
}

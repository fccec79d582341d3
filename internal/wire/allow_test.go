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

func TestAllowElement(t *testing.T) {
	t.Parallel()
	big := func(name string, n int) string { return "<" + name + ">" + strings.Repeat("x", n) + "</" + name + ">" }
	const size = len("<a><b/>") + 300 + len("</a>") // the element "inside" raises
	type when int
	const (
		atStart    when = iota // after NextElement
		inside                 // after the element's first token
		beforeNext             // between elements, before NextElement
	)
	tests := []struct {
		name     string
		body     string
		elem     int // which element AllowElement is called for
		n        int
		when     when
		names    []string
		wantErr  error
		wantText string
	}{
		{"the allowed element is read whole", big("a", 300) + "<b/>", 0, 1000, atStart, []string{"a", "b"}, io.ErrUnexpectedEOF, ""},
		{"without it the same element fails", big("a", 300), 0, 0, atStart, []string{"a"}, stanza.StreamPolicyViolation, "element larger than 100 bytes"},
		{"the next element has the usual limit", big("a", 300) + big("b", 300), 0, 1000, atStart, []string{"a", "b"}, stanza.StreamPolicyViolation, "element larger than 100 bytes"},
		{"an element over the allowance fails", big("a", 2000), 0, 1000, atStart, []string{"a"}, stanza.StreamPolicyViolation, "element larger than 1000 bytes"},
		{"a smaller allowance does not lower the limit", big("a", 80), 0, 10, atStart, []string{"a"}, io.ErrUnexpectedEOF, ""},
		{"between elements it does nothing", big("a", 300), 0, 1000, beforeNext, []string{"a"}, stanza.StreamPolicyViolation, "element larger than 100 bytes"},
		{"the second element only", "<a/>" + big("b", 300) + "<c/>", 1, 1000, atStart, []string{"a", "b", "c"}, io.ErrUnexpectedEOF, ""},
		// The start tag and what was read before the call count.
		{"counted from the start tag: exactly the element", "<a><b/>" + strings.Repeat("x", 300) + "</a>", 0, size, inside, []string{"a"}, io.ErrUnexpectedEOF, ""},
		{"counted from the start tag: one byte short", "<a><b/>" + strings.Repeat("x", 300) + "</a>", 0, size - 1, inside, []string{"a"}, stanza.StreamPolicyViolation, fmt.Sprintf("element larger than %d bytes", size-1)},
		// The parser read past the limit to make the first token.
		{"too late once over the limit", big("a", 300), 0, 1000, inside, []string{"a"}, stanza.StreamPolicyViolation, "element larger than 100 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := NewReader(strings.NewReader(header+tt.body), Limits{MaxStanzaBytes: 100})
			_, err := r.ReadHeader()
			require.NoError(t, err)
			var names []string
			for i := 0; ; i++ {
				if i == tt.elem && tt.when == beforeNext {
					r.AllowElement(tt.n)
				}
				start, err := r.NextElement()
				if err == nil {
					names = append(names, start.Name.Local)
					if i == tt.elem && tt.when == atStart {
						r.AllowElement(tt.n)
					}
					if i == tt.elem && tt.when == inside {
						_, err = r.Token()
						r.AllowElement(tt.n)
					}
				}
				if err == nil {
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
		})
	}
}

// FuzzAllowElement reads arbitrary elements with a small limit, raising
// it for some of them (to allow[i]*8 bytes for element i, after token
// allow[i]%4 of the element), and compares with a reader without a size
// limit. The two see the same elements until the limited one stops (its
// last text token may be cut short where it stopped); each element it
// completes is within that element's limit; when it stops for size, the
// error names that element's limit and the element is indeed larger (or
// broke first in the other reader). A call between elements changes
// nothing, and a call after the element went over its limit is too late.
func FuzzAllowElement(f *testing.F) {
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
			capped.AllowElement(1 << 20) // between elements: no effect
			want := readElement(free, nil)
			limit := base
			got := readElement(capped, func(tokens int) {
				if i < len(allow) && tokens == int(allow[i])%4 {
					if !capped.cr.capped {
						limit = max(base, int(allow[i])*8)
					}
					capped.AllowElement(int(allow[i]) * 8)
				}
			})
			var se *stanza.StreamError
			if errors.As(got.err, &se) && strings.HasPrefix(se.Text, "element larger") {
				if wantText := fmt.Sprintf("element larger than %d bytes", limit); se.Text != wantText {
					t.Fatalf("element %d: %q, want %q", i, se.Text, wantText)
				}
				if want.err == nil && want.size <= limit {
					t.Fatalf("element %d of %d bytes refused under a limit of %d", i, want.size, limit)
				}
				n := len(got.events) // zero when the start tag was too large
				if n > len(want.events) || n > 0 && (!slices.Equal(got.events[:n-1], want.events[:n-1]) ||
					!strings.HasPrefix(want.events[n-1], got.events[n-1])) {
					t.Fatalf("element %d: limited %q\nfree %q", i, got.events, want.events)
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

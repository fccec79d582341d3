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

// chunked is a source whose input arrives in chunks: poll reports
// ErrNoInput at the end of each chunk, and Read (which blocks in real
// life) moves on to the next one.
type chunked struct {
	chunks []string
	i      int
	polls  int
}

func (c *chunked) Read(p []byte) (int, error) {
	for c.i < len(c.chunks) && c.chunks[c.i] == "" {
		c.i++
	}
	if c.i == len(c.chunks) {
		return 0, io.EOF
	}
	n := copy(p, c.chunks[c.i])
	c.chunks[c.i] = c.chunks[c.i][n:]
	return n, nil
}

func (c *chunked) poll(p []byte) (int, error) {
	c.polls++
	if c.i == len(c.chunks) || c.chunks[c.i] == "" {
		return 0, ErrNoInput
	}
	return c.Read(p)
}

// readAll reads elements to the end and returns what it saw: each token
// and how the stream ended. With idle, it asks Idle before each element.
// After going idle it calls Fill, as the session does after its wait,
// when fill is set.
func readAll(t testing.TB, r *Reader, idle func() bool, fill bool) (events []string, idles int) {
	for i := 0; i < 10000; i++ {
		for idle != nil && idle() {
			idles++
			if r.buf != nil || r.sc != nil {
				t.Fatal("idle reader holds its buffer or its parser")
			}
			if !fill {
				break
			}
			r.Fill()
		}
		start, err := r.NextElement()
		for err == nil {
			events = append(events, fmt.Sprintf("start %s %s %v", start.Name.Space, start.Name.Local, start.Attr))
			var tok xml.Token
			for r.Depth() > 1 && err == nil {
				tok, err = r.Token()
				switch tok := tok.(type) {
				case xml.StartElement:
					events = append(events, fmt.Sprintf("start %s %s %v", tok.Name.Space, tok.Name.Local, tok.Attr))
				case xml.EndElement:
					events = append(events, fmt.Sprintf("end %s %s", tok.Name.Space, tok.Name.Local))
				case xml.CharData:
					events = append(events, "text "+string(tok))
				}
			}
			break
		}
		if err != nil {
			var se *stanza.StreamError
			if errors.As(err, &se) {
				return append(events, "stream error "+string(se.Condition)), idles
			}
			return append(events, "error "+err.Error()), idles
		}
	}
	t.Fatal("too many elements")
	return nil, 0
}

func TestIdleAndResume(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header string
		chunks []string
		want   []string
	}{
		{
			name:   "usual header",
			header: header,
			chunks: []string{"<message><body>hi</body></message>", "  \n ", "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>", "</stream:stream>"},
			want: []string{
				"start jabber:client message []", "start jabber:client body []", "text hi", "end jabber:client body", "end jabber:client message",
				"start http://etherx.jabber.org/streams error []", "start urn:ietf:params:xml:ns:xmpp-streams conflict [{{ xmlns} urn:ietf:params:xml:ns:xmpp-streams}]",
				"end urn:ietf:params:xml:ns:xmpp-streams conflict", "end http://etherx.jabber.org/streams error",
				"error " + ErrStreamClosed.Error(),
			},
		},
		{
			name:   "another prefix and an extra declaration",
			header: "<s:stream xmlns:x='urn:x' version='1.0' xmlns:s='http://etherx.jabber.org/streams' xmlns='jabber:client'>",
			chunks: []string{"<x:a/>", "<b x:c='1'/>", "</s:stream>"},
			want: []string{
				"start urn:x a []", "end urn:x a",
				"start jabber:client b [{{urn:x c} 1}]", "end jabber:client b",
				"error " + ErrStreamClosed.Error(),
			},
		},
		{
			name:   "a stanza split across idle points",
			header: header,
			chunks: []string{"<iq type='get' id='1'>", "<ping xmlns='urn:xmpp:ping'/>", "</iq>"},
			want: []string{
				"start jabber:client iq [{{ type} get} {{ id} 1}]", "start urn:xmpp:ping ping [{{ xmlns} urn:xmpp:ping}]", "end urn:xmpp:ping ping", "end jabber:client iq",
				"error unexpected EOF",
			},
		},
		{
			name:   "the wrong end tag after idle",
			header: header,
			chunks: []string{"<a/>", "</stream>"},
			want:   []string{"start jabber:client a []", "end jabber:client a", "stream error not-well-formed"},
		},
	}
	for _, tt := range tests {
		for _, fill := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/fill=%v", tt.name, fill), func(t *testing.T) {
				t.Parallel()
				src := &chunked{chunks: append([]string{tt.header}, tt.chunks...)}
				r := NewReader(src, Limits{})
				_, err := r.ReadHeader()
				require.NoError(t, err)
				got, idles := readAll(t, r, func() bool { return r.Idle(src.poll) }, fill)
				assert.Equal(t, tt.want, got)
				assert.Positive(t, idles, "the reader went idle between chunks")
			})
		}
	}
}

func TestIdleKeepsWhatIsWaiting(t *testing.T) {
	t.Parallel()
	src := &chunked{chunks: []string{header + "<a/><b/>  "}}
	r := NewReader(src, Limits{})
	_, err := r.ReadHeader()
	require.NoError(t, err)
	assert.False(t, r.Idle(src.poll), "<a/> is buffered")
	_, err = r.NextElement()
	require.NoError(t, err)
	require.NoError(t, drain(r))
	assert.False(t, r.Idle(src.poll), "<b/> is buffered")
	start, err := r.NextElement()
	require.NoError(t, err)
	assert.Equal(t, "b", start.Name.Local)
	require.NoError(t, drain(r))
	assert.True(t, r.Idle(src.poll), "only whitespace is left")
	assert.False(t, r.Idle(func([]byte) (int, error) { return 0, io.ErrClosedPipe }), "an error is waiting")
	_, err = r.NextElement()
	assert.ErrorIs(t, err, io.ErrClosedPipe)
}

func TestIdleInsideAnElement(t *testing.T) {
	t.Parallel()
	src := &chunked{chunks: []string{header + "<a>", "</a>"}}
	r := NewReader(src, Limits{})
	_, err := r.ReadHeader()
	require.NoError(t, err)
	_, err = r.NextElement()
	require.NoError(t, err)
	assert.False(t, r.Idle(src.poll), "not between elements")
	assert.Zero(t, src.polls)
}

// FuzzIdleResume reads the same input whole and cut into chunks with the
// reader going idle (dropping its parser) at every cut, with or without
// Fill after it: what it sees must be the same.
func FuzzIdleResume(f *testing.F) {
	f.Add("<message><body>hi</body></message> <iq id='1'/></stream:stream>", []byte{5, 20, 40}, true)
	f.Add("<a xmlns:p='urn:x'><p:b p:c='1'/></a><stream:error/>", []byte{1, 2, 3}, true)
	f.Add("<a/></stream>", []byte{4}, true)
	f.Add("  <a>&lt;</a>\n<!-- c -->", []byte{2, 9}, true)
	for _, s := range corpusSeeds(f) {
		// Cuts inside tags, inside text and between elements.
		f.Add(s.body, []byte{7, 100, 1, 255, 33}, true)
		f.Add(s.body, []byte{200, 2, 90}, false)
	}
	f.Fuzz(func(t *testing.T, body string, cuts []byte, fill bool) {
		lim := Limits{MaxStanzaBytes: 256, MaxDepth: 4}
		whole := NewReader(strings.NewReader(header+body), lim)
		if _, err := whole.ReadHeader(); err != nil {
			t.Fatal(err)
		}
		want, _ := readAll(t, whole, nil, false)

		chunks := []string{header}
		rest := body
		for _, c := range cuts {
			n := min(int(c), len(rest))
			chunks = append(chunks, rest[:n])
			rest = rest[n:]
		}
		chunks = append(chunks, rest)
		src := &chunked{chunks: chunks}
		cut := NewReader(src, lim)
		if _, err := cut.ReadHeader(); err != nil {
			t.Fatal(err)
		}
		got, _ := readAll(t, cut, func() bool { return cut.Idle(src.poll) }, fill)
		if !slices.Equal(want, got) {
			t.Fatalf("whole: %q\ncut:   %q", want, got)
		}
	})
}

func TestFillAfterWait(t *testing.T) {
	t.Parallel()
	src := &chunked{chunks: []string{header, " \n ", "<a/>"}}
	r := NewReader(src, Limits{})
	_, err := r.ReadHeader()
	require.NoError(t, err)
	require.True(t, r.Idle(src.poll))
	r.Fill() // the whitespace keepalive
	assert.True(t, r.Idle(src.poll), "whitespace alone leaves the reader idle")
	assert.Nil(t, r.buf)
	r.Fill()
	assert.False(t, r.Idle(src.poll))
	start, err := r.NextElement()
	require.NoError(t, err)
	assert.Equal(t, "a", start.Name.Local)
	require.NoError(t, drain(r))
	r.Fill() // the end of input
	assert.False(t, r.Idle(src.poll), "an error is waiting")
	_, err = r.NextElement()
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

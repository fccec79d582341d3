package wire

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/stanza"
)

const header = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' from='example.com' id='abc' version='1.0' xml:lang='en'>"

func TestReadHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    Header
		wantErr stanza.StreamCondition
	}{
		{"full", header, Header{From: "example.com", ID: "abc", Version: "1.0", Lang: "en", NS: "jabber:client"}, ""},
		{"no declaration", "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>", Header{Version: "1.0"}, ""},
		{"other prefix", "<s:stream xmlns:s='http://etherx.jabber.org/streams' version='1.0'>", Header{Version: "1.0"}, ""},
		{"leading whitespace", "\n  <stream:stream xmlns:stream='http://etherx.jabber.org/streams'>", Header{}, ""},
		{"whitespace before the declaration", "\n<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>", Header{}, ""},
		{"two declarations", "<?xml version='1.0'?> <?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>", Header{}, stanza.StreamRestrictedXML},
		{"wrong namespace", "<stream:stream xmlns:stream='urn:other'>", Header{}, stanza.StreamInvalidNamespace},
		{"wrong element", "<foo/>", Header{}, stanza.StreamNotWellFormed},
		{"PI after declaration", "<?xml version='1.0'?><?foo?><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>", Header{}, stanza.StreamRestrictedXML},
		{"DOCTYPE", "<!DOCTYPE stream><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>", Header{}, stanza.StreamRestrictedXML},
		{"comment", "<!-- x --><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>", Header{}, stanza.StreamRestrictedXML},
		{"UTF-16 declared", "<?xml version='1.0' encoding='UTF-16'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>", Header{}, stanza.StreamUnsupportedEncoding},
		{"text first", "hello<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>", Header{}, stanza.StreamNotWellFormed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := NewReader(strings.NewReader(tt.in), Limits{})
			h, err := r.ReadHeader()
			if tt.wantErr != "" {
				assert.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, h)
			assert.Equal(t, 1, r.Depth())
		})
	}
}

func TestElementsAndLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		lim     Limits
		names   []string
		wantErr error
	}{
		{"stanzas with whitespace keepalives", " <a/>\n\t<b><c/></b>  ", Limits{}, []string{"a", "b"}, io.ErrUnexpectedEOF},
		{"stream close", "<a/></stream:stream>", Limits{}, []string{"a"}, ErrStreamClosed},
		{"size limit per element", "<a>" + strings.Repeat("x", 50) + "</a><b>" + strings.Repeat("y", 200) + "</b>", Limits{MaxStanzaBytes: 100}, []string{"a"}, stanza.StreamPolicyViolation},
		{"many small elements under the limit", strings.Repeat("<a>xxxxxxxxxx</a>", 100), Limits{MaxStanzaBytes: 30}, repeat("a", 100), io.ErrUnexpectedEOF},
		// Whitespace between elements is skipped byte by byte, never held
		// as a text token, so it needs no limit.
		{"whitespace between elements is skipped", strings.Repeat(" \n", 500) + "<a/>" + strings.Repeat("\t", 500) + "<b/>", Limits{MaxStanzaBytes: 100}, []string{"a", "b"}, io.ErrUnexpectedEOF},
		{"text between elements", "<a/> x <b/>", Limits{}, []string{"a"}, stanza.StreamNotWellFormed},
		{"depth limit", "<a><b><c><d/></c></b></a>", Limits{MaxDepth: 2}, nil, stanza.StreamPolicyViolation},
		{"depth at the limit", "<a><b><c/></b></a>", Limits{MaxDepth: 2}, []string{"a"}, io.ErrUnexpectedEOF},
		{"comment inside", "<a><!-- x --></a>", Limits{}, nil, stanza.StreamRestrictedXML},
		// RFC 6120 §4.9.3.18 names entity references among restricted XML.
		{"entity", "<a>&foo;</a>", Limits{}, nil, stanza.StreamRestrictedXML},
		{"element with an error", "<a/><b><c></d></b>", Limits{}, []string{"a"}, stanza.StreamNotWellFormed},
		{"predefined entities are fine", "<a>&lt;&amp;&#x41;</a>", Limits{}, []string{"a"}, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := NewReader(strings.NewReader(header+tt.body), tt.lim)
			_, err := r.ReadHeader()
			require.NoError(t, err)
			var names []string
			for {
				start, err := r.NextElement()
				if err != nil {
					assert.ErrorIs(t, err, tt.wantErr)
					break
				}
				names = append(names, start.Name.Local)
				if err := drain(r); err != nil {
					assert.ErrorIs(t, err, tt.wantErr)
					break
				}
			}
			assert.Equal(t, tt.names, names)
		})
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// drain reads the rest of the current element.
func drain(r *Reader) error {
	for r.Depth() > 1 {
		if _, err := r.Token(); err != nil {
			return err
		}
	}
	return nil
}

func TestWhitespaceAfterLimitResets(t *testing.T) {
	t.Parallel()
	// 90 bytes of whitespace, then a 20-byte element: under a 100-byte
	// budget only because whitespace resets it.
	in := header + strings.Repeat(" ", 90) + "<a>xxxxxxxxxxxxxx</a>"
	r := NewReader(strings.NewReader(in), Limits{MaxStanzaBytes: 100})
	_, err := r.ReadHeader()
	require.NoError(t, err)
	start, err := r.NextElement()
	require.NoError(t, err)
	assert.Equal(t, "a", start.Name.Local)
	require.NoError(t, drain(r))
	// The '<' that ends the whitespace run is counted with the run.
	assert.InDelta(t, len("<a>xxxxxxxxxxxxxx</a>"), r.LastSize(), 1)
}

func TestRestart(t *testing.T) {
	t.Parallel()
	// After a restart the buffered bytes of the new stream are kept.
	in := header + "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>" + header + "<features/>"
	r := NewReader(strings.NewReader(in), Limits{})
	_, err := r.ReadHeader()
	require.NoError(t, err)
	start, err := r.NextElement()
	require.NoError(t, err)
	assert.Equal(t, "success", start.Name.Local)
	require.NoError(t, drain(r))
	r.Restart()
	_, err = r.ReadHeader()
	require.NoError(t, err)
	start, err = r.NextElement()
	require.NoError(t, err)
	assert.Equal(t, "features", start.Name.Local)
}

func TestErrorsStick(t *testing.T) {
	t.Parallel()
	r := NewReader(strings.NewReader(header+"<a><!--x--></a><b/>"), Limits{})
	_, err := r.ReadHeader()
	require.NoError(t, err)
	_, err = r.NextElement()
	require.Error(t, err)
	_, err2 := r.NextElement()
	assert.Equal(t, err, err2, "a failed reader keeps failing the same way")
	_, err3 := r.Token()
	assert.Equal(t, err, err3)
}

// The parser quotes bad input in some of its messages (an entity's
// name); the stream error made from one can still be sent.
func TestStreamErrorTextIsSendable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
	}{
		{"bad element name", "<\xff\xfe/>"},
		{"bad entity name", "<a>&\xff;</a>"},
		{"surrogate in a name", "<a\xed\xa0\x80/>"},
		{"non-character in an entity", "<a>&b\xef\xbf\xbe;</a>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := NewReader(strings.NewReader(header+tt.in), Limits{})
			_, err := r.ReadHeader()
			require.NoError(t, err)
			if _, err = r.NextElement(); err == nil {
				err = drain(r)
			}
			var se *stanza.StreamError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, stanza.StreamNotWellFormed, se.Condition)
			assert.NotEmpty(t, se.Text, "the parser's message is kept")
			_, err = se.AppendXML(nil)
			assert.NoError(t, err)
		})
	}
}

func TestAppendHeader(t *testing.T) {
	t.Parallel()
	b := AppendHeader(nil, Header{To: "ex'ample.com", Version: "1.0", Lang: "en"})
	r := NewReader(strings.NewReader(string(b)), Limits{})
	h, err := r.ReadHeader()
	require.NoError(t, err)
	assert.Equal(t, Header{To: "ex'ample.com", Version: "1.0", Lang: "en", NS: ns.Client}, h)
}

// FuzzReader feeds arbitrary bytes after a stream header: the reader never
// panics, and every failure is a stream error or the end of input.
func FuzzReader(f *testing.F) {
	for _, s := range []string{
		"<message><body>hi</body></message>",
		"<iq type='get' id='1'><query xmlns='jabber:iq:roster'/></iq></stream:stream>",
		"<!DOCTYPE x><a/>", "<a><!-- c --></a>", "<?pi?>", "<a>&x;</a>", "\xff<a/>",
		"<a xmlns:p='urn:x'><p:b p:c='1'/></a>", "   ", "<\xff/>", "<a>&\xfe;</a>", "<a><b><c><d><e/></d></c></b></a>",
	} {
		f.Add(s)
	}
	for _, s := range corpusSeeds(f) {
		f.Add(s.body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := NewReader(strings.NewReader(header+body), Limits{MaxStanzaBytes: 256, MaxDepth: 4})
		if _, err := r.ReadHeader(); err != nil {
			t.Fatalf("header: %v", err)
		}
		for i := 0; i < 1000; i++ {
			_, err := r.NextElement()
			if err == nil {
				for r.Depth() > 1 && err == nil {
					_, err = r.Token()
				}
			}
			if err != nil {
				var se *stanza.StreamError
				if !errors.As(err, &se) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrStreamClosed) {
					t.Fatalf("unexpected error type %T: %v", err, err)
				}
				if se != nil {
					if _, err := se.AppendXML(nil); err != nil {
						t.Fatalf("stream error cannot be sent: %v", err)
					}
				}
				return
			}
			if r.Depth() != 1 {
				t.Fatalf("depth %d after an element", r.Depth())
			}
		}
	})
}

type countReads struct {
	r     io.Reader
	reads int
}

func (c *countReads) Read(p []byte) (int, error) {
	c.reads++
	return c.r.Read(p)
}

func TestLargeElementIsReadInBulk(t *testing.T) {
	t.Parallel()
	src := &countReads{r: strings.NewReader(header + "<a>" + strings.Repeat("x", 100_000) + "</a><b/>")}
	r := NewReader(src, Limits{})
	_, err := r.ReadHeader()
	require.NoError(t, err)
	for _, want := range []string{"a", "b"} {
		start, err := r.NextElement()
		require.NoError(t, err)
		assert.Equal(t, want, start.Name.Local)
		require.NoError(t, drain(r))
	}
	assert.Less(t, src.reads, 100_000/bufSize+10, "reads fill the buffer inside an element")
}

// An element cut by the end of a read, with room in the buffer, is read
// by one more read and parsed in place, not framed and gathered.
func TestCutElementParsedInPlace(t *testing.T) {
	t.Parallel()
	body := "<message><body>caf\u00e9</body></message><iq type='get' id='1'/>"
	for cut := 1; cut < len(body); cut++ {
		src := io.MultiReader(strings.NewReader(header), strings.NewReader(body[:cut]), strings.NewReader(body[cut:]))
		r := NewReader(src, Limits{})
		_, err := r.ReadHeader()
		require.NoError(t, err)
		for _, want := range []string{"message", "iq"} {
			start, err := r.NextElement()
			require.NoError(t, err, "cut at %d", cut)
			assert.Equal(t, want, start.Name.Local, "cut at %d", cut)
			require.NoError(t, drain(r))
		}
		assert.Nil(t, r.acc, "cut at %d: nothing gathered", cut)
	}
}

func TestIdleReaderHoldsNoBuffer(t *testing.T) {
	t.Parallel()
	src := &countReads{r: strings.NewReader(header + "<a/>")}
	r := NewReader(src, Limits{})
	_, err := r.ReadHeader()
	require.NoError(t, err)
	_, err = r.NextElement()
	require.NoError(t, err)
	require.NoError(t, drain(r))
	_, err = r.NextElement() // input ends while waiting between elements
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Nil(t, r.buf, "the drained buffer went back to the pool before waiting")
}

// FuzzReadHeader feeds arbitrary bytes as the start of a stream: the
// reader never panics, every failure is a stream error or the end of
// input, and a header it accepts leaves it inside the stream.
func FuzzReadHeader(f *testing.F) {
	for _, s := range []string{
		header,
		"\n<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>",
		"<s:stream xmlns:s='http://etherx.jabber.org/streams' xmlns='jabber:client' xml:lang='de'>",
		"<?xml version='1.0' encoding='UTF-16'?><stream:stream>", "<!DOCTYPE x><stream:stream>",
		"<?xml version='1.0'?> <?xml version='1.0'?>", "text", "<stream:stream xmlns:stream='urn:x'>",
	} {
		f.Add(s)
	}
	for _, s := range corpusSeeds(f) {
		f.Add(s.opening)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r := NewReader(strings.NewReader(in), Limits{MaxStanzaBytes: 256})
		_, err := r.ReadHeader()
		if err != nil {
			var se *stanza.StreamError
			if !errors.As(err, &se) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			return
		}
		if r.Depth() != 1 {
			t.Fatalf("depth %d after a header", r.Depth())
		}
	})
}

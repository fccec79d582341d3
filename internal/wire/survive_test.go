package wire

import (
	"encoding/xml"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/stanza"
)

// The strings a reader hands out must be the element's own, never views
// of the read buffer or of the pooled parser: the next elements overwrite
// those. Elements are whole in the buffer here, so that they are parsed
// in place (the fast path), and references and normalised white space
// put text in the element's decoded string too.

const (
	// surviveMessage is decoded by stanza.Decoder from the nodes.
	surviveMessage = `<message from='juliet@example.com/balcony' id='m&amp;1' to='romeo@example.net' type='chat' xml:lang='en'>` +
		`<body>hello &amp; &#x20AC; world</body><subject>plain subject</subject>` +
		`<x xmlns='urn:x' xmlns:q='urn:q' q:a='1' a='v&#9;w' b="plain">text<q:y c='1'/></x>` +
		`<p:z xmlns:p='urn:p' d='tab	here'/></message>`
	// surviveIQ is read with Token.
	surviveIQ = `<iq id='i1' type='get' xmlns:p='urn:p'><p:q p:a='va&lt;l' e='plain'>t&gt;xt and plain</p:q></iq>`
)

// filler returns the i-th element that overwrites the buffer.
func filler(i int) string {
	z := strings.Repeat(string(rune('A'+i)), 1500)
	return "<message id='" + z + "' xmlns:p='urn:" + z[:40] + "'><body>" + z + "</body><p:x p:v='" + z[:100] + "'/></message>"
}

// kept is what a test keeps of the two elements, and its description
// made when they were read.
type kept struct {
	msg        *stanza.Message
	iqStart    xml.StartElement
	iqTokens   []xml.Token
	atReadTime string
}

func (k *kept) describe() string {
	var b strings.Builder
	m := k.msg
	fmt.Fprintf(&b, "message %q %q %q %q %q %q %q\n", m.From, m.To, m.ID, m.Type, m.Lang, m.Body, m.Subject)
	for _, p := range m.Extensions {
		r := p.(*stanza.Raw)
		fmt.Fprintf(&b, "raw %v %q a=%q b=%q d=%q %q\n", r.Name(), r.String(), r.Attr("a"), r.Attr("b"), r.Attr("d"), r.Text())
	}
	fmt.Fprintf(&b, "iq %v %v\n", k.iqStart.Name, k.iqStart.Attr)
	for _, tok := range k.iqTokens {
		fmt.Fprintf(&b, "token %#v\n", tok)
	}
	return b.String()
}

// readKept reads surviveMessage and surviveIQ from r.
func readKept(t *testing.T, r *Reader) *kept {
	t.Helper()
	var k kept
	start, err := r.NextElement()
	require.NoError(t, err)
	st, err := stanza.Decoder{}.Decode(r, start)
	require.NoError(t, err)
	k.msg = st.(*stanza.Message)
	require.Len(t, k.msg.Extensions, 2)

	start, err = r.NextElement()
	require.NoError(t, err)
	k.iqStart = start
	k.iqStart.Attr = slices.Clone(start.Attr) // the slice is the reader's; its strings must not be
	for r.Depth() > 1 {
		tok, err := r.Token()
		require.NoError(t, err)
		k.iqTokens = append(k.iqTokens, tok)
	}
	k.atReadTime = k.describe()
	require.Contains(t, k.atReadTime, "hello & € world")
	require.Contains(t, k.atReadTime, `a="v\tw"`, "a character reference keeps its tab")
	require.Contains(t, k.atReadTime, `d="tab here"`, "a raw tab is normalised")
	require.Contains(t, k.atReadTime, "va<l")
	return &k
}

// readFillers reads n fillers and checks them.
func readFillers(t *testing.T, r *Reader, n int) {
	t.Helper()
	for i := range n {
		start, err := r.NextElement()
		require.NoError(t, err)
		st, err := stanza.Decoder{}.Decode(r, start)
		require.NoError(t, err)
		require.Equal(t, filler(i)[13:13+1500], st.(*stanza.Message).ID)
	}
}

func TestStringsSurviveBufferReuse(t *testing.T) {
	t.Parallel()
	var in strings.Builder
	in.WriteString(header + surviveMessage + surviveIQ)
	for i := range 10 {
		in.WriteString(filler(i))
	}
	r := NewReader(strings.NewReader(in.String()), Limits{})
	_, err := r.ReadHeader()
	require.NoError(t, err)
	k := readKept(t, r)
	readFillers(t, r, 10)
	assert.Equal(t, k.atReadTime, k.describe())
}

func TestStringsSurviveIdle(t *testing.T) {
	t.Parallel()
	chunks := []string{header, surviveMessage + surviveIQ, " "}
	for i := range 10 {
		chunks = append(chunks, filler(i))
	}
	src := &chunked{chunks: chunks}
	r := NewReader(src, Limits{})
	_, err := r.ReadHeader()
	require.NoError(t, err)
	k := readKept(t, r)
	require.True(t, r.Idle(src.poll))
	require.Nil(t, r.sc, "the parser went back to its pool")
	assert.Equal(t, k.atReadTime, k.describe(), "after Idle")
	readFillers(t, r, 10)
	assert.Equal(t, k.atReadTime, k.describe(), "after more elements")
}

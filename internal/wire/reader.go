// Package wire reads and writes the XML stream of RFC 6120 §4 and §11: the
// stream header, top-level elements and the XML restrictions, with limits on
// size and depth. It is shared by the client session and the in-memory
// server; it knows nothing of stanzas beyond their framing.
package wire

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/xmlenc"
	"github.com/parleyim/parley/stanza"
)

// Default limits.
const (
	DefaultMaxStanzaBytes = 1 << 20
	DefaultMaxDepth       = 64
)

// Limits bound what one top-level element may cost. Zero values mean the
// defaults.
type Limits struct {
	// MaxStanzaBytes is the largest top-level element, in bytes of input,
	// unless AllowElement raises it for one element.
	MaxStanzaBytes int
	// MaxDepth is the deepest nesting below a top-level element.
	MaxDepth int
}

func (l Limits) withDefaults() Limits {
	if l.MaxStanzaBytes <= 0 {
		l.MaxStanzaBytes = DefaultMaxStanzaBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	return l
}

// headerBudget is the most input the XML declaration and stream header
// may take, whatever the stanza limit.
const headerBudget = 4096

// ErrStreamClosed is returned by NextElement when the peer closed its stream
// with </stream:stream>.
var ErrStreamClosed = errors.New("stream closed by peer")

// errOverLimit is what the counting byte reader returns past the budget.
var errOverLimit = errors.New("over the size limit")

// countingReader hands bytes to the XML decoder one at a time and refuses
// to hand out more than the current budget, so that no token, however
// large, is buffered beyond the limit.
//
// Its read buffer comes from a pool. Between top-level elements (see
// waitInput) a drained buffer goes back to the pool and the next byte is
// awaited with a one-byte read, so an idle stream holds no buffer; inside
// an element, reads fill the whole buffer.
type countingReader struct {
	src    io.Reader
	pre    string  // served before src and not counted: see Reader.reopen
	buf    *[]byte // nil while idle
	r, w   int     // unread bytes are (*buf)[r:w]
	n      int     // bytes since the last reset
	max    int
	ioErr  error // the error the underlying reader returned, if any
	wait   error // an error met by waitInput, handed out by the next ReadByte
	capped bool
}

// bufSize is the size of pooled read buffers.
const bufSize = 4096

var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

func (c *countingReader) ReadByte() (byte, error) {
	if len(c.pre) > 0 {
		b := c.pre[0]
		c.pre = c.pre[1:]
		return b, nil
	}
	if c.n >= c.max {
		c.capped = true
		return 0, errOverLimit
	}
	if c.r == c.w {
		err := c.wait
		c.wait = nil
		if err == nil {
			err = c.fill()
		}
		if err != nil {
			c.ioErr = err
			return 0, err
		}
	}
	b := (*c.buf)[c.r]
	c.r++
	c.n++
	return b, nil
}

// fill reads as much as is there into the buffer.
func (c *countingReader) fill() error {
	if c.buf == nil {
		c.buf = bufPool.Get().(*[]byte)
	}
	for {
		n, err := c.src.Read(*c.buf)
		if n > 0 {
			c.r, c.w = 0, n
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// waitInput blocks until input is there. Called between top-level
// elements, it gives a drained buffer back to the pool and waits with a
// one-byte read outside the parser, so an idle stream holds no read
// buffer: the fallback of the session's idle hand-over where the source
// cannot be polled (session/idle.go says why).
func (c *countingReader) waitInput() {
	if c.r < c.w || c.wait != nil {
		return
	}
	c.release()
	var one [1]byte
	for {
		n, err := c.src.Read(one[:])
		if n == 1 {
			break
		}
		if err != nil {
			c.wait = err
			return
		}
	}
	c.buf = bufPool.Get().(*[]byte)
	(*c.buf)[0] = one[0]
	c.r, c.w = 0, 1
}

// skipSpace consumes the whitespace at the front of the buffer, so that a
// whitespace keepalive between top-level elements never reaches the XML
// parser (which would block in the middle of a text token waiting for the
// next '<'). It reports whether a byte other than whitespace, or an
// error, is waiting.
func (c *countingReader) skipSpace() bool {
	for c.r < c.w {
		switch (*c.buf)[c.r] {
		case ' ', '\t', '\r', '\n':
			c.r++
		default:
			return true
		}
	}
	return c.wait != nil
}

// release gives a drained buffer back to the pool.
func (c *countingReader) release() {
	if c.buf != nil && c.r == c.w {
		bufPool.Put(c.buf)
		c.buf = nil
		c.r, c.w = 0, 0
	}
}

// Read lets the decoder's charset handling see an io.Reader; it is never
// used for UTF-8 input, which is all this package accepts.
func (c *countingReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	b, err := c.ReadByte()
	if err != nil {
		return 0, err
	}
	p[0] = b
	return 1, nil
}

// Reader reads one XML stream from a peer. It is not safe for concurrent
// use; the session's reader goroutine owns it.
type Reader struct {
	cr    countingReader
	dec   *xml.Decoder // nil while idle (see Idle)
	lim   Limits
	depth int // 0 before the header, 1 inside the stream
	last  int // input bytes of the last complete top-level element
	err   error
	// reopen is a start tag with the stream header's name and namespace
	// declarations: a parser made anew after Idle reads it first, and is
	// then where the old one was.
	reopen string
}

// NewReader returns a Reader over r. Bytes are read from r through an
// internal buffer; when the stream restarts over a new transport (after
// STARTTLS), make a new Reader, which discards whatever was buffered.
func NewReader(r io.Reader, lim Limits) *Reader {
	lim = lim.withDefaults()
	rd := &Reader{lim: lim}
	rd.cr = countingReader{src: r, max: lim.MaxStanzaBytes}
	rd.dec = newDecoder(&rd.cr)
	return rd
}

func newDecoder(cr *countingReader) *xml.Decoder {
	d := xml.NewDecoder(cr)
	d.Strict = true
	d.CharsetReader = func(charset string, _ io.Reader) (io.Reader, error) {
		return nil, &stanza.StreamError{Condition: stanza.StreamUnsupportedEncoding,
			Text: fmt.Sprintf("encoding %q: only UTF-8 is allowed", charset)}
	}
	return d
}

// Restart prepares the Reader for a new stream over the same transport
// (RFC 6120 §4.3.3: after SASL success the parser is reset). Bytes already
// buffered are kept; the XML parser state is not.
func (r *Reader) Restart() {
	r.dec = newDecoder(&r.cr)
	r.depth, r.err = 0, nil
	r.cr.capped, r.cr.ioErr = false, nil
	r.reset()
}

// Header is the opening of a stream (RFC 6120 §4.7).
type Header struct {
	To, From, ID, Version, Lang string
	// NS is the default content namespace (jabber:client).
	NS string
}

// ReadHeader reads an optional XML declaration and the <stream:stream>
// start tag.
func (r *Reader) ReadHeader() (Header, error) {
	// The header has a budget of its own, so that a small stanza limit
	// does not refuse an ordinary header.
	r.cr.max = max(r.lim.MaxStanzaBytes, headerBudget)
	defer func() { r.cr.max = r.lim.MaxStanzaBytes }()
	// Whitespace may come first: after a stream restart it can be the
	// tail of the previous stream (a peer that ends each element with a
	// newline), so the XML declaration is allowed after it.
	seen := false // a token other than whitespace
	for {
		tok, err := r.token()
		if err != nil {
			return Header{}, err
		}
		switch t := tok.(type) {
		case xml.ProcInst:
			// Only the XML declaration, and only before anything else.
			if t.Target != "xml" || seen {
				return Header{}, r.restricted(tok)
			}
			seen = true
		case xml.CharData:
			if !xmlenc.IsSpace(t) {
				return Header{}, r.fail(&stanza.StreamError{Condition: stanza.StreamNotWellFormed, Text: "text before the stream header"})
			}
		case xml.StartElement:
			if t.Name.Local != "stream" {
				return Header{}, r.fail(&stanza.StreamError{Condition: stanza.StreamNotWellFormed,
					Text: "expected <stream:stream>, got <" + t.Name.Local + ">"})
			}
			if t.Name.Space != ns.Stream {
				return Header{}, r.fail(&stanza.StreamError{Condition: stanza.StreamInvalidNamespace,
					Text: "stream element in namespace " + t.Name.Space})
			}
			r.depth = 1
			r.reset()
			r.reopen = reopenTag(t)
			h := Header{}
			for _, a := range t.Attr {
				switch {
				case a.Name.Space == "" && a.Name.Local == "to":
					h.To = a.Value
				case a.Name.Space == "" && a.Name.Local == "from":
					h.From = a.Value
				case a.Name.Space == "" && a.Name.Local == "id":
					h.ID = a.Value
				case a.Name.Space == "" && a.Name.Local == "version":
					h.Version = a.Value
				case a.Name.Space == ns.XML && a.Name.Local == "lang":
					h.Lang = a.Value
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					h.NS = a.Value
				}
			}
			return h, nil
		default:
			return Header{}, r.restricted(tok)
		}
	}
}

// NextElement skips whitespace between top-level elements and returns the
// start of the next one. It returns ErrStreamClosed when the peer closed
// the stream. Read the element's content with Token until its end element;
// the size and depth budgets apply per element.
func (r *Reader) NextElement() (xml.StartElement, error) {
	if r.depth != 1 {
		return xml.StartElement{}, errors.New("wire: NextElement inside an element")
	}
	if r.err == nil {
		// Whitespace is skipped here rather than by the parser, and the
		// next byte awaited with nothing buffered (see waitInput).
		for !r.cr.skipSpace() {
			r.cr.waitInput()
		}
		r.reset()
		if r.dec == nil {
			if err := r.resume(); err != nil {
				return xml.StartElement{}, err
			}
		}
	}
	for {
		tok, err := r.token()
		if err != nil {
			return xml.StartElement{}, err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if !xmlenc.IsSpace(t) {
				return xml.StartElement{}, r.fail(&stanza.StreamError{Condition: stanza.StreamNotWellFormed, Text: "text between stanzas"})
			}
			// Whitespace keepalives do not count against the next element
			// (a run of them up to the next element is one token, and
			// counts against the limit like an element would).
			r.reset()
		case xml.StartElement:
			r.depth = 2
			return t, nil
		case xml.EndElement:
			r.depth = 0
			r.err = ErrStreamClosed
			return xml.StartElement{}, ErrStreamClosed
		default:
			return xml.StartElement{}, r.restricted(tok)
		}
	}
}

// Token returns the next token inside the current top-level element, and
// the element's end as its last token. Past that it returns io.EOF until
// NextElement is called again. The tokens are valid only until the next
// call (encoding/xml's Token semantics): copy what you keep.
func (r *Reader) Token() (xml.Token, error) {
	if r.depth < 2 {
		return nil, io.EOF
	}
	tok, err := r.token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case xml.StartElement:
		r.depth++
		if r.depth-1 > r.lim.MaxDepth+1 {
			return nil, r.fail(&stanza.StreamError{Condition: stanza.StreamPolicyViolation,
				Text: fmt.Sprintf("elements nested deeper than %d", r.lim.MaxDepth)})
		}
		return t, nil
	case xml.EndElement:
		r.depth--
		if r.depth == 1 {
			r.last = r.cr.n
			r.reset()
		}
		return t, nil
	case xml.CharData:
		return t, nil
	default:
		return nil, r.restricted(tok)
	}
}

// ErrNoInput is what a poll function given to Idle returns when no input
// is waiting.
var ErrNoInput = errors.New("wire: no input waiting")

// Idle reports whether the reader is between top-level elements with no
// input waiting, neither in its own buffer nor from poll, which reads like
// io.Reader but returns ErrNoInput at once instead of blocking. Whitespace
// is consumed on the way. When Idle returns true the reader has let go of
// its read buffer and its XML parser; NextElement makes a new parser (see
// resume), at the cost of a few microseconds. Idle, Fill and resume are
// this package's part of the session's idle hand-over, whose reasons
// session/idle.go gives.
func (r *Reader) Idle(poll func([]byte) (int, error)) bool {
	if r.depth != 1 || r.err != nil {
		return false
	}
	c := &r.cr
	for !c.skipSpace() {
		if c.buf == nil {
			c.buf = bufPool.Get().(*[]byte)
		}
		n, err := poll(*c.buf)
		if n > 0 {
			c.r, c.w = 0, n
			c.wait = err
			continue
		}
		if errors.Is(err, ErrNoInput) {
			c.release()
			r.dec = nil
			r.reset()
			return true
		}
		if err == nil {
			err = io.ErrNoProgress
		}
		c.wait = err
	}
	return false
}

// Fill reads once from the source into the reader's buffer if it is
// empty, blocking until input is there: it is for use after something
// else said input is waiting, so that Idle looks at it before asking the
// source again. Whitespace alone then still leaves the reader idle.
func (r *Reader) Fill() {
	c := &r.cr
	if r.depth != 1 || r.err != nil || c.r < c.w || c.wait != nil {
		return
	}
	if err := c.fill(); err != nil {
		c.wait = err
	}
}

// resume makes a new parser after Idle and has it read the stream's
// opening again from reopen, not from the input.
func (r *Reader) resume() error {
	r.dec = newDecoder(&r.cr)
	r.cr.pre = r.reopen
	tok, err := r.dec.Token()
	r.cr.pre = ""
	if _, ok := tok.(xml.StartElement); !ok || err != nil {
		return r.fail(fmt.Errorf("wire: resuming the stream after idle: %v", err))
	}
	return nil
}

// reopenTag writes a start tag with start's name and namespace
// declarations, the default one first. The stream element's prefix is the
// one declared for the streams namespace ("stream" if several are).
func reopenTag(start xml.StartElement) string {
	prefix := ""
	var def, decls []byte
	for _, a := range start.Attr {
		switch {
		case a.Name.Space == "xmlns":
			if a.Value == ns.Stream && (prefix == "" || a.Name.Local == "stream") {
				prefix = a.Name.Local
			}
			decls = append(decls, " xmlns:"+a.Name.Local+"='"...)
			decls = append(xmlenc.AppendEscaped(decls, a.Value), '\'')
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			def = append(xmlenc.AppendEscaped(append(def[:0], " xmlns='"...), a.Value), '\'')
		}
	}
	b := []byte("<")
	if prefix != "" {
		b = append(b, prefix+":"...)
	}
	b = append(b, start.Name.Local...)
	b = append(append(append(b, def...), decls...), '>')
	if string(b) == usualReopen {
		return usualReopen
	}
	return string(b)
}

// usualReopen is what reopenTag returns for the usual header, shared
// rather than kept once per stream.
const usualReopen = "<stream:stream xmlns='" + ns.Client + "' xmlns:stream='" + ns.Stream + "'>"

// LastSize returns how many bytes of input the last complete top-level
// element took (give or take the byte that ended the whitespace before it).
func (r *Reader) LastSize() int { return r.last }

// Depth returns 1 between top-level elements and more inside one.
func (r *Reader) Depth() int { return r.depth }

// AllowElement raises the size limit of the current top-level element to
// n bytes of input, counted from its start tag as before; it never
// lowers it. The next element has the Limits' size again. It does
// nothing between elements, nor once the element has gone over its limit
// (the parser may have read that far ahead of the tokens handed out):
// the caller decides right after NextElement, from what the start tag
// says.
func (r *Reader) AllowElement(n int) {
	if r.depth >= 2 && !r.cr.capped && n > r.cr.max {
		r.cr.max = n
	}
}

// reset starts the budget of the next element: nothing counted, the
// Limits' size.
func (r *Reader) reset() {
	r.cr.n = 0
	r.cr.max = r.lim.MaxStanzaBytes
}

func (r *Reader) restricted(tok xml.Token) error {
	what := "markup"
	switch tok.(type) {
	case xml.Comment:
		what = "comment"
	case xml.ProcInst:
		what = "processing instruction"
	case xml.Directive:
		what = "DTD or other directive"
	}
	return r.fail(&stanza.StreamError{Condition: stanza.StreamRestrictedXML, Text: what + " is not allowed (RFC 6120 §11.1)"})
}

func (r *Reader) fail(err error) error {
	r.err = err
	return err
}

// token reads the next token and turns the decoder's failures into the
// stream errors of RFC 6120 §4.9.3, or into the transport's own error.
func (r *Reader) token() (xml.Token, error) {
	if r.err != nil {
		return nil, r.err
	}
	tok, err := r.dec.Token()
	if err == nil {
		return tok, nil
	}
	var se *stanza.StreamError
	switch {
	case r.cr.capped:
		err = &stanza.StreamError{Condition: stanza.StreamPolicyViolation,
			Text: fmt.Sprintf("element larger than %d bytes", r.cr.max)}
	case r.cr.ioErr != nil:
		err = r.cr.ioErr
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
	case errors.As(err, &se):
		err = se
	default:
		msg := err.Error()
		var syn *xml.SyntaxError
		if errors.As(err, &syn) {
			msg = syn.Msg
		}
		err = &stanza.StreamError{Condition: stanza.StreamNotWellFormed, Text: sendable(msg)}
	}
	r.err = err
	return nil, err
}

// sendable returns the parser's message with each character that XML
// cannot carry, and each byte that is not UTF-8, replaced by U+FFFD.
// encoding/xml quotes the offending input in some messages (a bad name, a
// bad entity), and a stream error whose text cannot be encoded could not
// be sent at all.
func sendable(msg string) string {
	if xmlenc.Valid(msg) == nil {
		return msg
	}
	return strings.Map(func(r rune) rune {
		// An invalid byte arrives here as utf8.RuneError, which is valid.
		if xmlenc.Valid(string(r)) != nil {
			return utf8.RuneError
		}
		return r
	}, msg)
}

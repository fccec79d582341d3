// Package wire reads and writes the XML stream of RFC 6120 §4 and §11: the
// stream header, top-level elements and the XML restrictions, with limits on
// size and depth. It is shared by the client session and the in-memory
// server; it knows nothing of stanzas beyond their framing.
//
// Reading is in two steps over one buffer: an xmltree.Framer finds where
// the next top-level element ends as its bytes arrive (each byte looked
// at once, runs of text skipped with bytes.IndexByte), the element's bytes
// are copied once into a string, and an xmltree.Parser checks and parses
// them into nodes that point into that string. Decoders that know the
// reader (stanza's) take the nodes whole through XMLTree; others read
// tokens made from them with Token.
package wire

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/parleyim/parley/internal/jidcache"
	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/xmltree"
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
	// unless the Reader's Allow function raises it for one element.
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

// bufSize is the size of pooled read buffers.
const bufSize = 4096

var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// Reader reads one XML stream from a peer. It is not safe for concurrent
// use; the session's reader goroutine owns it.
//
// Its read buffer, and its parser with the nodes of the last element,
// come from pools. Between top-level elements (see waitInput and Idle) a
// drained buffer and the parser go back to their pools and the next byte
// is awaited with a one-byte read, so an idle stream holds neither;
// inside an element, reads fill the whole buffer.
type Reader struct {
	src  io.Reader
	buf  *[]byte // nil while idle
	r, w int     // unread bytes are (*buf)[r:w]
	// wait is an error met by waitInput or Idle, returned by the next
	// read instead of reading.
	wait error
	acc  []byte // an element's bytes when it spans reads

	lim   Limits
	allow func(xml.StartElement) int
	fr    xmltree.Framer
	ctx   []xmltree.Binding // the stream header's declarations
	// sc is the parser and the current element, from a pool while the
	// stream is busy; nil while idle (see release).
	sc    *scratch
	next  int // the node Token returns next
	depth int // 0 before the header, 1 inside the stream, more inside an element
	last  int // input bytes of the last complete top-level element
	err   error
	// closeTag is the qualified name of the stream element, which the
	// peer's closing tag must repeat.
	closeTag string
	// jids are the addresses the stream's stanzas repeat (JIDCache).
	jids jidcache.Cache
}

// scratch is what parsing needs and keeps between elements: the parser's
// stacks and the nodes of the last element.
type scratch struct {
	p     xmltree.Parser
	el    xmltree.Element
	attrs []xml.Attr // the top element's, for NextElement
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// work returns the parser and element, taken from the pool if the
// reader let go of them.
func (r *Reader) work() *scratch {
	if r.sc == nil {
		r.sc = scratchPool.Get().(*scratch)
		r.sc.p.MaxDepth = r.lim.MaxDepth
		r.sc.p.SetContext(r.ctx)
	}
	return r.sc
}

// release gives the parser and element back to the pool between
// elements, with nothing in them that keeps a stanza alive.
func (r *Reader) releaseScratch() {
	if r.sc == nil {
		return
	}
	sc := r.sc
	r.sc = nil
	sc.el.Reset()
	clear(sc.attrs[:cap(sc.attrs)])
	sc.attrs = sc.attrs[:0]
	scratchPool.Put(sc)
	r.acc = nil
}

// NewReader returns a Reader over r. Bytes are read from r through an
// internal buffer; when the stream restarts over a new transport (after
// STARTTLS), make a new Reader, which discards whatever was buffered.
func NewReader(r io.Reader, lim Limits) *Reader {
	lim = lim.withDefaults()
	rd := &Reader{src: r, lim: lim}
	rd.fr.MaxDepth = lim.MaxDepth
	return rd
}

// SetAllow sets the function asked when a top-level element grows past
// the Limits' size: given the element's start tag, it returns the size
// that element may have. An answer at or below the limit refuses, as does
// a start tag that is itself over the limit. The function runs on the
// reading goroutine, at most once per element.
func (r *Reader) SetAllow(allow func(start xml.StartElement) int) { r.allow = allow }

// Restart prepares the Reader for a new stream over the same transport
// (RFC 6120 §4.3.3: after SASL success the parser is reset). Bytes already
// buffered are kept; the XML parser state is not.
func (r *Reader) Restart() {
	r.depth, r.err = 0, nil
	r.ctx = nil
	r.releaseScratch()
	r.next = 0
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
	if r.err != nil {
		return Header{}, r.err
	}
	// Whitespace may come first: after a stream restart it can be the
	// tail of the previous stream (a peer that ends each element with a
	// newline), so the XML declaration is allowed after it.
	budget := max(r.lim.MaxStanzaBytes, headerBudget)
	seenDecl := false
	for {
		if err := r.skipSpace(); err != nil {
			return Header{}, r.fail(err)
		}
		if err := r.ensure(2); err != nil {
			return Header{}, r.fail(err)
		}
		b := (*r.buf)[r.r:r.w]
		if b[0] != '<' {
			return Header{}, r.fail(notWellFormed("text before the stream header"))
		}
		if b[1] == '?' {
			if seenDecl {
				return Header{}, r.fail(restricted("processing instruction"))
			}
			if err := r.declaration(budget); err != nil {
				return Header{}, r.fail(err)
			}
			seenDecl = true
			continue
		}
		r.fr.ResetStartTag()
		data, err := r.frame(budget, false)
		if err != nil {
			return Header{}, r.fail(err)
		}
		return r.header(data)
	}
}

// declaration reads the XML declaration at the front of the buffer: only
// "<?xml" is allowed there, and only UTF-8.
func (r *Reader) declaration(budget int) error {
	var decl []byte
	for {
		from := max(len(decl)-1, 0)
		decl = append(decl, (*r.buf)[r.r:r.w]...)
		if k := strings.Index(string(decl[from:]), "?>"); k >= 0 {
			end := from + k + 2
			r.r = r.w - (len(decl) - end)
			decl = decl[:end]
			break
		}
		r.r = r.w
		if len(decl) > budget {
			return policy(budget)
		}
		if err := r.more(); err != nil {
			return err
		}
	}
	s := string(decl)
	if !strings.HasPrefix(s, "<?xml") || len(s) < 7 || !isSpaceByte(s[5]) && s[5] != '?' {
		return restricted("processing instruction")
	}
	if enc, ok := pseudoAttr(s, "encoding"); ok && !strings.EqualFold(enc, "UTF-8") {
		return &stanza.StreamError{Condition: stanza.StreamUnsupportedEncoding,
			Text: fmt.Sprintf("encoding %q: only UTF-8 is allowed", sendable(enc))}
	}
	return nil
}

// pseudoAttr returns the value of a pseudo-attribute of the XML
// declaration s.
func pseudoAttr(s, name string) (string, bool) {
	i := strings.Index(s, name)
	if i < 0 {
		return "", false
	}
	rest := strings.TrimLeft(s[i+len(name):], " \t\r\n")
	if !strings.HasPrefix(rest, "=") {
		return "", false
	}
	rest = strings.TrimLeft(rest[1:], " \t\r\n")
	if rest == "" || (rest[0] != '\'' && rest[0] != '"') {
		return "", false
	}
	end := strings.IndexByte(rest[1:], rest[0])
	if end < 0 {
		return "", false
	}
	return rest[1 : 1+end], true
}

// header parses the stream's start tag and makes its declarations the
// context of the elements that follow.
func (r *Reader) header(data string) (Header, error) {
	var p xmltree.Parser
	var el xmltree.Element
	if err := p.ParseStartTag(data, &el); err != nil {
		return Header{}, r.fail(streamError(err))
	}
	n := &el.Nodes[0]
	name := el.Name(n)
	if name.Local != "stream" {
		return Header{}, r.fail(notWellFormed("expected <stream:stream>, got <" + name.Local + ">"))
	}
	if name.Space != ns.Stream {
		return Header{}, r.fail(&stanza.StreamError{Condition: stanza.StreamInvalidNamespace,
			Text: "stream element in namespace " + name.Space})
	}
	h := Header{}
	for _, a := range el.AppendAttrs(nil, n) {
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
	// Values outlive the stream's first bytes: copy them out of data.
	h.To, h.From, h.ID = strings.Clone(h.To), strings.Clone(h.From), strings.Clone(h.ID)
	h.Version, h.Lang, h.NS = strings.Clone(h.Version), strings.Clone(h.Lang), strings.Clone(h.NS)
	decls := el.Declared()
	ctx := make([]xmltree.Binding, 0, len(decls))
	for _, b := range decls {
		ctx = append(ctx, xmltree.Binding{Prefix: internName(b.Prefix), URI: internName(b.URI)})
	}
	r.ctx = ctx
	if r.sc != nil {
		r.sc.p.SetContext(ctx)
	}
	r.closeTag = "</" + name.Local + ">"
	if prefix := el.Str(n.Prefix); prefix != "" {
		r.closeTag = "</" + prefix + ":" + name.Local + ">"
	}
	r.depth = 1
	return h, nil
}

// internName returns the usual stream header's names as constants, so
// that a stream does not keep a copy of them.
func internName(s string) string {
	switch s {
	case "":
		return ""
	case "stream":
		return "stream"
	case ns.Client:
		return ns.Client
	case ns.Stream:
		return ns.Stream
	}
	return strings.Clone(s)
}

// NextElement skips whitespace between top-level elements, reads the next
// one whole and returns its start. It returns ErrStreamClosed when the
// peer closed the stream. Read the element's content with Token until its
// end element, or take it whole with XMLTree; the size and depth budgets
// apply per element.
func (r *Reader) NextElement() (xml.StartElement, error) {
	if _, err := r.NextName(); err != nil {
		return xml.StartElement{}, err
	}
	return r.top(), nil
}

// Start returns the start element of the top-level element NextName
// read, attributes included.
func (r *Reader) Start() xml.StartElement { return r.top() }

// NextName is NextElement without the start element's attributes, for a
// caller that takes the element whole with XMLTree (the attributes are
// there).
func (r *Reader) NextName() (xml.Name, error) {
	if r.depth != 1 {
		return xml.Name{}, errors.New("wire: NextElement inside an element")
	}
	if r.err != nil {
		return xml.Name{}, r.err
	}
	if err := r.skipSpace(); err != nil {
		return xml.Name{}, r.fail(err)
	}
	if (*r.buf)[r.r] != '<' {
		return xml.Name{}, r.fail(notWellFormed("text between stanzas"))
	}
	if !r.parseBuffered() {
		r.fr.Reset()
		data, err := r.frame(r.lim.MaxStanzaBytes, true)
		if err != nil {
			return xml.Name{}, r.fail(err)
		}
		if r.fr.Closing() {
			if data != r.closeTag && strings.TrimRight(data[:len(data)-1], " \t\r\n")+">" != r.closeTag {
				return xml.Name{}, r.fail(notWellFormed("end tag " + sendable(data) + " does not close the stream"))
			}
			r.depth = 0
			r.last = len(data)
			r.err = ErrStreamClosed
			return xml.Name{}, ErrStreamClosed
		}
		sc := r.work()
		if err := sc.p.Parse(data, &sc.el); err != nil {
			return xml.Name{}, r.fail(streamError(err))
		}
		r.last = len(data)
	}
	r.depth, r.next = 2, 1
	return r.sc.el.Name(&r.sc.el.Nodes[0]), nil
}

// parseBuffered is NextElement's fast path: when the whole element is in
// the buffer, within the size limit, it is parsed in place, without a
// Framer, and only then are its bytes copied out (the nodes hold
// offsets, so nothing else moves). When the parse ran into the end of
// what is buffered, the element's bytes are moved to the front of the
// buffer and a read fills the room after them, and the element is parsed
// again if that at least doubled what there is to parse (so that the
// parses of one element add up to at most twice its size): an element
// that began at the end of one read, or whose first byte was awaited
// alone, is parsed whole from the buffer rather than framed and copied.
// It reports false, having consumed nothing, for anything else: an
// element still not complete in the buffer, over the limit, not
// well-formed, or the stream's end, which the Framer then sorts out.
func (r *Reader) parseBuffered() bool {
	sc := r.work()
	for tried := 0; ; {
		have := r.w - r.r
		if have < 2*tried {
			return false
		}
		view := unsafe.String(&(*r.buf)[r.r], have)
		n, err := sc.p.ParsePrefix(view, &sc.el)
		if err == nil {
			if n > r.lim.MaxStanzaBytes {
				return false
			}
			sc.p.CopyOut(&sc.el, stanzaText) // a copy: view is the buffer
			r.r += n
			r.last = n
			return true
		}
		if !r.refill(err) {
			return false
		}
		tried = have
	}
}

// stanzaText is parseBuffered's inPlace for CopyOut: the texts whose
// bytes nothing reads, so that their decoded text may go over them. Of an
// element, only stanza's decoders read bytes (Data), for the Raws they
// make of a stanza's children; they read as text, never as a Raw, the
// text right inside a message or presence of jabber:client and that of
// its body, subject and thread, or show, status and priority children in
// jabber:client (stanza/message.go and presence.go, decodeChild).
func stanzaText(el *xmltree.Element, parent int) bool {
	top := &el.Nodes[0]
	if el.URI(top.Bind) != ns.Client {
		return false
	}
	kind := el.Str(top.Local)
	if kind != "message" && kind != "presence" {
		return false
	}
	if parent == 0 {
		return true
	}
	n := &el.Nodes[parent]
	if el.URI(n.Bind) != ns.Client {
		return false
	}
	switch el.Str(n.Local) {
	case "body", "subject", "thread":
		return kind == "message"
	case "show", "status", "priority":
		return kind == "presence"
	}
	return false
}

// refill is parseBuffered's next chance: when err, the failure of the
// parse of everything buffered, was met within a character of its end
// (the element, or a character of it, may go on in input not read yet)
// and the buffer has room, it moves the unread bytes to its front and
// reads once more after them. It reports whether it read anything.
func (r *Reader) refill(err error) bool {
	se, ok := err.(*xmltree.SyntaxError)
	b := *r.buf
	have := r.w - r.r
	if !ok || se.Offset < have-utf8.UTFMax || have >= len(b) || have > r.lim.MaxStanzaBytes || r.wait != nil {
		return false
	}
	r.w = copy(b, b[r.r:r.w])
	r.r = 0
	for {
		m, err := r.src.Read(b[r.w:])
		r.w += m
		if err != nil {
			r.wait = err
			return m > 0
		}
		if m > 0 {
			return true
		}
	}
}

// top returns the top element's Start, as a token; its
// attributes are in the Reader's scratch space, valid until the next
// element.
func (r *Reader) top() xml.StartElement {
	sc := r.sc
	n := &sc.el.Nodes[0]
	if n.A0 == n.A1 {
		return xml.StartElement{Name: sc.el.Name(n)}
	}
	sc.attrs = sc.el.AppendAttrs(sc.attrs[:0], n)
	return xml.StartElement{Name: sc.el.Name(n), Attr: sc.attrs[:len(sc.attrs):len(sc.attrs)]}
}

// XMLTree returns the current top-level element whole, and ends it: the
// Reader is between elements again, as after its end element. It returns
// nil unless called right after NextElement. The Element is the Reader's
// own and is overwritten by the next NextElement; its strings point into
// its Data and stay valid.
func (r *Reader) XMLTree() *xmltree.Element {
	if r.depth != 2 || r.next != 1 || r.err != nil {
		return nil
	}
	r.depth, r.next = 1, len(r.sc.el.Nodes)
	return &r.sc.el
}

// JIDCache returns the cache through which the stanza decoder parses the
// from and to addresses of this stream's stanzas.
func (r *Reader) JIDCache() *jidcache.Cache { return &r.jids }

// Token returns the next token inside the current top-level element, and
// the element's end as its last token. Past that it returns io.EOF until
// NextElement is called again. Tokens are valid until the next element.
func (r *Reader) Token() (xml.Token, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.depth < 2 || r.next >= len(r.sc.el.Nodes) {
		return nil, io.EOF
	}
	el := &r.sc.el
	n := &el.Nodes[r.next]
	r.next++
	switch n.Kind {
	case xmltree.Start:
		r.depth++
	case xmltree.End:
		r.depth--
	}
	return el.Token(n), nil
}

// frame reads the element that starts at the front of the buffer, as far
// as r.fr says it goes, and returns its bytes. An element over limit is
// refused unless allow (when asked) raises the limit.
func (r *Reader) frame(limit int, ask bool) (string, error) {
	r.acc = r.acc[:0]
	asked := !ask || r.allow == nil
	for {
		room := limit - len(r.acc) + 1 // one byte more shows an element over the limit
		chunk := (*r.buf)[r.r:min(r.w, r.r+room)]
		n, done, err := r.fr.Scan(chunk)
		if err != nil {
			var se *xmltree.SyntaxError
			if errors.As(err, &se) {
				return "", streamError(err)
			}
			return "", err
		}
		over := len(r.acc)+n > limit
		if done && !over {
			r.r += n
			if len(r.acc) == 0 {
				return string(chunk[:n]), nil
			}
			r.acc = append(r.acc, chunk[:n]...)
			return string(r.acc), nil
		}
		r.acc = append(r.acc, chunk[:n]...)
		r.r += n
		if over {
			if !asked {
				asked = true
				if n := r.allowed(); n > limit {
					limit = n
					continue
				}
			}
			return "", policy(limit)
		}
		if err := r.more(); err != nil {
			return "", err
		}
	}
}

// allowed asks allow for the size of the element being framed, from its
// start tag; 0 when the start tag is not complete or does not parse.
func (r *Reader) allowed() int {
	end := r.fr.TagEnd()
	if end == 0 || end > len(r.acc) {
		return 0
	}
	p := xmltree.Parser{}
	p.SetContext(r.ctx)
	var el xmltree.Element
	if err := p.ParseStartTag(string(r.acc[:end]), &el); err != nil {
		return 0
	}
	return r.allow(el.StartOf(&el.Nodes[0]))
}

// more reads into the buffer, which holds no unread bytes.
func (r *Reader) more() error {
	if r.wait != nil {
		err := r.wait
		r.wait = nil
		return readError(err)
	}
	if r.buf == nil {
		r.buf = bufPool.Get().(*[]byte)
	}
	for {
		n, err := r.src.Read(*r.buf)
		if n > 0 {
			r.r, r.w = 0, n
			if err != nil {
				r.wait = err
			}
			return nil
		}
		if err != nil {
			return readError(err)
		}
	}
}

// ensure reads until at least n bytes (no more than the buffer holds) are
// unread, moving the unread ones to the front of the buffer first.
func (r *Reader) ensure(n int) error {
	for r.w-r.r < n {
		if r.wait != nil {
			err := r.wait
			r.wait = nil
			return readError(err)
		}
		b := *r.buf
		r.w = copy(b, b[r.r:r.w])
		r.r = 0
		m, err := r.src.Read(b[r.w:])
		r.w += m
		if err != nil {
			if m > 0 {
				r.wait = err
				continue
			}
			return readError(err)
		}
	}
	return nil
}

// readError is the error of a transport's read: the end of input inside
// the stream is unexpected.
func readError(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// skipSpace consumes whitespace until a byte other than whitespace is at
// the front of the buffer, waiting for input with nothing buffered (see
// waitInput). Whitespace keepalives between elements never count against
// an element's size.
func (r *Reader) skipSpace() error {
	for {
		if r.skipBuffered() {
			return nil
		}
		if err := r.waitInput(); err != nil {
			return err
		}
	}
}

// skipBuffered consumes the whitespace at the front of the buffer and
// reports whether a byte other than whitespace is waiting.
func (r *Reader) skipBuffered() bool {
	if r.buf == nil {
		return false
	}
	b := *r.buf
	for r.r < r.w {
		if !isSpaceByte(b[r.r]) {
			return true
		}
		r.r++
	}
	return false
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// waitInput blocks until input is there. Called between top-level
// elements, it gives a drained buffer back to the pool and waits with a
// one-byte read, so an idle stream holds no read buffer: the fallback of
// the session's idle hand-over where the source cannot be polled
// (session/idle.go says why).
func (r *Reader) waitInput() error {
	if r.wait != nil {
		err := r.wait
		r.wait = nil
		return readError(err)
	}
	r.release()
	r.releaseScratch()
	var one [1]byte
	for {
		n, err := r.src.Read(one[:])
		if n == 1 {
			if err != nil {
				r.wait = err
			}
			break
		}
		if err != nil {
			return readError(err)
		}
	}
	r.buf = bufPool.Get().(*[]byte)
	(*r.buf)[0] = one[0]
	r.r, r.w = 0, 1
	return nil
}

// release gives a drained buffer back to the pool.
func (r *Reader) release() {
	if r.buf != nil && r.r == r.w {
		bufPool.Put(r.buf)
		r.buf = nil
		r.r, r.w = 0, 0
	}
}

// ErrNoInput is what a poll function given to Idle returns when no input
// came.
var ErrNoInput = errors.New("wire: no input waiting")

// Idle reports whether the reader is between top-level elements with no
// input waiting, neither in its own buffer nor from poll, which reads like
// io.Reader but returns ErrNoInput instead of blocking (the session's
// waits a millisecond or two for input first: session/idle.go). Whitespace
// is consumed on the way. When Idle returns true the reader has let go of
// its read buffer. Idle and Fill are this package's part of the session's
// idle hand-over, whose reasons session/idle.go gives.
func (r *Reader) Idle(poll func([]byte) (int, error)) bool {
	if r.depth != 1 || r.err != nil {
		return false
	}
	for !r.skipBuffered() {
		if r.wait != nil {
			return false
		}
		if r.buf == nil {
			r.buf = bufPool.Get().(*[]byte)
		}
		n, err := poll(*r.buf)
		if n > 0 {
			r.r, r.w = 0, n
			r.wait = err
			continue
		}
		if errors.Is(err, ErrNoInput) {
			r.r, r.w = 0, 0
			r.release()
			r.releaseScratch()
			return true
		}
		if err == nil {
			err = io.ErrNoProgress
		}
		r.wait = err
	}
	return false
}

// Fill reads once from the source into the reader's buffer if it is
// empty, blocking until input is there: it is for use after something
// else said input is waiting, so that Idle looks at it before asking the
// source again. Whitespace alone then still leaves the reader idle.
func (r *Reader) Fill() {
	if r.depth != 1 || r.err != nil || (r.buf != nil && r.r < r.w) || r.wait != nil {
		return
	}
	if r.buf == nil {
		r.buf = bufPool.Get().(*[]byte)
	}
	n, err := r.src.Read(*r.buf)
	r.r, r.w = 0, n
	if err != nil {
		r.wait = err
	}
}

// LastSize returns how many bytes of input the last complete top-level
// element took.
func (r *Reader) LastSize() int { return r.last }

// Depth returns 1 between top-level elements and more inside one.
func (r *Reader) Depth() int { return r.depth }

func (r *Reader) fail(err error) error {
	r.err = err
	return err
}

func notWellFormed(text string) error {
	return &stanza.StreamError{Condition: stanza.StreamNotWellFormed, Text: text}
}

func restricted(what string) error {
	return &stanza.StreamError{Condition: stanza.StreamRestrictedXML, Text: what + " is not allowed (RFC 6120 §11.1)"}
}

func policy(limit int) error {
	return &stanza.StreamError{Condition: stanza.StreamPolicyViolation,
		Text: fmt.Sprintf("element larger than %d bytes", limit)}
}

// streamError turns a parse failure into the stream error of RFC 6120
// §4.9.3 it calls for.
func streamError(err error) error {
	var se *xmltree.SyntaxError
	if !errors.As(err, &se) {
		return err
	}
	cond := stanza.StreamNotWellFormed
	switch se.Cond {
	case xmltree.Restricted:
		cond = stanza.StreamRestrictedXML
	case xmltree.TooDeep:
		return &stanza.StreamError{Condition: stanza.StreamPolicyViolation, Text: se.Msg}
	}
	return &stanza.StreamError{Condition: cond, Text: sendable(se.Msg)}
}

// sendable returns s with each character that XML cannot carry, and each
// byte that is not UTF-8, replaced by U+FFFD: the parser's messages quote
// input (an entity's name), and a stream error whose text cannot be
// encoded could not be sent at all.
func sendable(s string) string {
	return strings.ToValidUTF8(strings.Map(func(c rune) rune {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0xFFFE || c == 0xFFFF {
			return 0xFFFD
		}
		return c
	}, s), "\uFFFD")
}

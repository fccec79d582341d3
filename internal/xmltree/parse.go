package xmltree

import (
	"slices"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/parleyim/parley/internal/xmlenc"
)

// The namespaces Namespaces in XML 1.0 reserves.
const (
	xmlURI   = "http://www.w3.org/XML/1998/namespace"
	xmlnsURI = "http://www.w3.org/2000/xmlns/"
)

// scanMax is how many attributes, or bindings in scope, are compared by
// scanning; past it, maps keep the checks linear.
const scanMax = 16

// Parser parses elements, keeping its scratch space from one to the
// next. The zero Parser has an empty context and no depth limit. A Parser
// is not safe for concurrent use.
type Parser struct {
	// MaxDepth, when positive, is the deepest an element may be nested
	// below the one parsed; deeper is a TooDeep error.
	MaxDepth int

	ctx []Binding

	data string
	el   *Element
	open []int32 // the Start nodes of the elements open, innermost last
	// marks[k] is len(scope) before the declarations of open[k].
	marks []int32
	// scope lists the bindings in force (see Element.Binding),
	// innermost last. While there are few it is searched backwards;
	// once it grows past scanMax, byPrefix maps each prefix to its
	// position in scope, and shadow[k] is the position the prefix of
	// scope[k] had before (-1: none), to restore when it goes.
	scope    []int32
	shadow   []int32
	byPrefix map[string]int32
	aoff     []int   // where each attribute of the tag being read is
	moves    []int32 // CopyOut: the Text nodes whose decoded text goes in place
	spaced   bool    // a value of the tag being read had white space made a space
	dec      []byte  // the element's text and values that references or line ends changed
	prefix   bool    // ParsePrefix: stop after the element, at end
	end      int
	// short is ParsePrefix's error for input that ends inside the
	// element, reused: a reader meets it for every element that is not
	// all in its buffer yet.
	short SyntaxError
}

// SetContext sets the namespace declarations in force around each
// element parsed (a stream header's), replacing earlier ones. The
// bindings' Depth is ignored. Elements parsed before keep the context
// they were parsed in.
func (p *Parser) SetContext(b []Binding) {
	if slices.EqualFunc(b, p.ctx, func(x, y Binding) bool { return x.Prefix == y.Prefix && x.URI == y.URI }) {
		return
	}
	ctx := make([]Binding, len(b)) // elements share the parser's: a new one
	for i, x := range b {
		ctx[i] = Binding{Prefix: x.Prefix, URI: x.URI, Depth: -1}
	}
	p.ctx = ctx
}

// begin starts a parse of data into el: el emptied, the stacks emptied,
// the context in force.
func (p *Parser) begin(data string, el *Element) {
	el.Reset()
	el.Data = data
	p.data, p.el = data, el
	p.open, p.marks = p.open[:0], p.marks[:0]
	p.scope, p.shadow, p.byPrefix = p.scope[:0], p.shadow[:0], nil
	p.dec = p.dec[:0]
	if len(el.ctx) != len(p.ctx) || unsafe.SliceData(el.ctx) != unsafe.SliceData(p.ctx) {
		el.ctx = p.ctx
	}
	for k := range p.ctx {
		p.inScope(int32(k))
	}
}

// Parse parses data, which must hold exactly one element, into el
// (emptied first). On error el holds what was parsed so far.
func (p *Parser) Parse(data string, el *Element) error {
	p.begin(data, el)
	err := p.parse()
	p.finish()
	return err
}

// finish ends a parse: the decoded text is copied out of the scratch
// space, once for the whole element.
func (p *Parser) finish() {
	if len(p.dec) > 0 {
		p.el.Decoded = string(p.dec)
	}
	p.data, p.el = "", nil
}

// ParsePrefix parses the element that data begins with, which may be
// followed by anything, into el (emptied first), and returns the length
// of the element. el's text and values that references changed are not
// there until CopyOut. It fails where the element is not complete in data, as
// where it is not well-formed: a caller that may have only part of an
// element frames it with a Framer after a failure, to tell the two
// apart. An error for data that ends inside the element is the Parser's
// own, valid until its next parse.
func (p *Parser) ParsePrefix(data string, el *Element) (int, error) {
	p.begin(data, el)
	p.prefix = true
	err := p.parse()
	p.prefix = false
	n := p.end
	p.data, p.el = "", nil
	if err != nil {
		return 0, err
	}
	el.Data = data[:n]
	return n, nil
}

// CopyOut gives el, which ParsePrefix has just parsed from a view of a
// buffer that will be reused, its own copy of its bytes and of its
// decoded text, in one allocation. Nodes, attributes and declarations
// hold offsets, so nothing else changes.
//
// inPlace, when not nil, says of the element's direct children (by the
// index of their Start node, 0 for the element itself) whether their
// bytes are only ever read through the nodes, never as bytes (Data):
// when every text that references or line ends changed is directly in
// such an element, each is written over its own bytes in the copy
// (decoded text is never longer than what it was decoded from), so that
// it is not stored twice, and Decoded is empty. Those bytes of Data are
// then no longer as received.
func (p *Parser) CopyOut(el *Element, inPlace func(el *Element, parent int) bool) {
	view := el.Data
	if len(p.dec) > 0 && inPlace != nil && p.placeable(el, inPlace) {
		var b strings.Builder
		b.Grow(len(view))
		prev := 0
		for _, k := range p.moves {
			n := &el.Nodes[k]
			b.WriteString(view[prev:n.Off])
			b.Write(p.dec[^n.Text.Off : ^n.Text.Off+n.Text.Len])
			n.Text = Span{Off: n.Off, Len: n.Text.Len}
			prev = int(n.Off + n.Text.Len)
		}
		b.WriteString(view[prev:])
		el.Data, el.Decoded = b.String(), ""
		return
	}
	// A Builder grown once allocates without zeroing what both copies
	// then write over.
	var b strings.Builder
	b.Grow(len(view) + len(p.dec))
	b.WriteString(view)
	b.Write(p.dec)
	all := b.String()
	el.Data = all[:len(view)]
	el.Decoded = all[len(view):]
}

// placeable reports whether every decoded text of el is a Text node
// directly in the element or in one of its children that inPlace
// accepts, with room for it in its own bytes; p.moves lists those nodes
// in document order.
func (p *Parser) placeable(el *Element, inPlace func(el *Element, parent int) bool) bool {
	p.moves = p.moves[:0]
	total := 0
	nodes := el.Nodes
	// add takes the Text node k, in the element accepted; a text that
	// does not fit its bytes (never, as references and line ends only
	// shrink) makes it all stay where it is.
	add := func(k int) bool {
		n := &nodes[k]
		if n.Text.Len > n.EndOff-n.Off {
			return false
		}
		p.moves = append(p.moves, int32(k))
		total += int(n.Text.Len)
		return true
	}
	top := -1 // whether the element's own text may go in place, once asked
	for k := 1; k < len(nodes)-1; {
		n := &nodes[k]
		switch n.Kind {
		case Text:
			if n.Text.Off < 0 {
				if top < 0 {
					top = b2i(inPlace(el, 0))
				}
				if top == 0 || !add(k) {
					return false
				}
			}
			k++
		case Start:
			ok := -1
			for c := k + 1; c < int(n.Close); {
				m := &nodes[c]
				if m.Kind == Start {
					c = int(m.Close) + 1
					continue
				}
				if m.Kind == Text && m.Text.Off < 0 {
					if ok < 0 {
						ok = b2i(inPlace(el, k))
					}
					if ok == 0 || !add(c) {
						return false
					}
				}
				c++
			}
			k = int(n.Close) + 1
		default:
			k++
		}
	}
	return total == len(p.dec)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ParseStartTag parses data, which must hold exactly one start tag (a
// stream header, which the stream's end closes), into el: its Start node,
// without an End, and the bindings it declares, at Depth 0.
func (p *Parser) ParseStartTag(data string, el *Element) error {
	p.begin(data, el)
	defer p.finish()
	if len(data) < 2 || data[0] != '<' {
		return p.fail(NotWellFormed, "expected a start tag", 0)
	}
	j, err := p.startTag(0)
	if err != nil {
		return err
	}
	if len(p.open) != 1 {
		return p.fail(NotWellFormed, "an empty-element tag where a start tag must be", 0)
	}
	if j != len(data) {
		return p.fail(NotWellFormed, "content after the start tag", j)
	}
	return nil
}

func (p *Parser) parse() error {
	data := p.data
	if len(data) == 0 || data[0] != '<' {
		return p.fail(NotWellFormed, "expected an element", 0)
	}
	i := 0
	var err error
	for {
		if data[i] != '<' {
			if i, err = p.text(i); err != nil {
				return err
			}
			continue
		}
		if i+1 >= len(data) {
			return p.unexpectedEnd()
		}
		switch data[i+1] {
		case '/':
			i, err = p.endTag(i)
		case '!':
			i, err = p.bang(i)
		case '?':
			return p.fail(Restricted, "processing instruction is not allowed (RFC 6120 §11.1)", i)
		default:
			i, err = p.startTag(i)
		}
		if err != nil {
			return err
		}
		if len(p.open) == 0 {
			if p.prefix {
				p.end = i
				return nil
			}
			if i != len(data) {
				return p.fail(NotWellFormed, "content after the element", i)
			}
			return nil
		}
		if i >= len(data) {
			return p.unexpectedEnd()
		}
	}
}

func (p *Parser) fail(c Cond, msg string, off int) error {
	return &SyntaxError{Cond: c, Msg: msg, Offset: off}
}

func (p *Parser) unexpectedEnd() error {
	const msg = "unexpected end of the element"
	if p.prefix {
		p.short = SyntaxError{Cond: NotWellFormed, Msg: msg, Offset: len(p.data)}
		return &p.short
	}
	return p.fail(NotWellFormed, msg, len(p.data))
}

// bang reads what starts with "<!": a CDATA section; anything else is
// restricted (a comment, a DTD) or not well-formed.
func (p *Parser) bang(i int) (int, error) {
	data := p.data
	rest := data[i:]
	switch {
	case strings.HasPrefix(rest, "<![CDATA["):
		if len(p.open) == 0 {
			return 0, p.fail(NotWellFormed, "CDATA section outside the element", i)
		}
		start := i + len("<![CDATA[")
		end := strings.Index(data[start:], "]]>")
		if end < 0 {
			return 0, p.unexpectedEnd()
		}
		sp, err := p.chars(start, start+end)
		if err != nil {
			return 0, err
		}
		p.el.Nodes = append(p.el.Nodes, Node{Kind: Text, Text: sp, Off: int32(start), EndOff: int32(start + end)})
		return start + end + 3, nil
	case strings.HasPrefix(rest, "<!--"):
		return 0, p.fail(Restricted, "comment is not allowed (RFC 6120 §11.1)", i)
	case strings.HasPrefix(rest, "<!DOCTYPE"):
		return 0, p.fail(Restricted, "DTD is not allowed (RFC 6120 §11.1)", i)
	case len(rest) < len("<![CDATA[") && (strings.HasPrefix("<![CDATA[", rest) || strings.HasPrefix("<!--", rest) || strings.HasPrefix("<!DOCTYPE", rest)):
		return 0, p.unexpectedEnd()
	}
	return 0, p.fail(NotWellFormed, "markup declaration is not allowed", i)
}

// chars returns data[from:to], the content of a CDATA section, checked and
// with its line ends normalised.
func (p *Parser) chars(from, to int) (Span, error) {
	data := p.data
	cr := false
	for j := from; j < to; {
		c := data[j]
		if c < utf8.RuneSelf {
			if c < 0x20 {
				switch c {
				case '\r':
					cr = true
				case '\t', '\n':
				default:
					return Span{}, p.badChar(j)
				}
			}
			j++
			continue
		}
		size, ok := validUTF8(data, j)
		if !ok {
			return Span{}, p.badChar(j)
		}
		j += size
	}
	if !cr {
		return span(from, to), nil
	}
	base := len(p.dec)
	p.dec = appendNormalised(p.dec, data[from:to])
	return decoded(base, len(p.dec)), nil
}

// appendNormalised appends s with each "\r\n" and lone "\r" turned into
// "\n" (XML 1.0 §2.11).
func appendNormalised(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' {
			c = '\n'
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
		}
		b = append(b, c)
	}
	return b
}

// validUTF8 decodes the character at data[i] (not ASCII) and reports its
// size and whether it is valid UTF-8 and a Char of XML 1.0.
func validUTF8(data string, i int) (int, bool) {
	if c := data[i]; c >= 0xC2 && c < 0xE0 && i+1 < len(data) && data[i+1]&0xC0 == 0x80 {
		return 2, true // U+0080 to U+07FF, every one a Char
	}
	r, size := utf8.DecodeRuneInString(data[i:])
	if r == utf8.RuneError && size == 1 {
		return 1, false
	}
	return size, r <= 0xD7FF || (r >= 0xE000 && r <= 0xFFFD) || r >= 0x10000
}

func (p *Parser) badChar(i int) error {
	if i < len(p.data) && p.data[i] >= utf8.RuneSelf {
		if _, ok := validUTF8(p.data, i); ok {
			return p.fail(NotWellFormed, "character not allowed here", i)
		}
		r, size := utf8.DecodeRuneInString(p.data[i:])
		if r == utf8.RuneError && size == 1 {
			return p.fail(NotWellFormed, "invalid UTF-8", i)
		}
	}
	return p.fail(NotWellFormed, "character not allowed in XML 1.0", i)
}

// Character classes of ASCII bytes, for text and attribute values.
const (
	plain    = iota // copied as is
	special         // '<', '&', '\r', ']', a quote, white space in a value…: looked at
	forbiden        // a control character XML forbids
)

// textClass and valueClass classify ASCII bytes in character data and in
// attribute values; bytes from 0x80 are UTF-8, decoded and checked.
var textClass, valueClass = func() (t, v [256]uint8) {
	for c := range 256 {
		switch {
		case c >= utf8.RuneSelf:
			t[c], v[c] = special, special
		case c == '\t' || c == '\n':
			v[c] = special
		case c == '\r':
			t[c], v[c] = special, special
		case c < 0x20:
			t[c], v[c] = forbiden, forbiden
		case c == '<' || c == '&':
			t[c], v[c] = special, special
		case c == ']':
			t[c] = special
		case c == '\'' || c == '"':
			v[c] = special
		}
	}
	return t, v
}()

// text reads character data from data[i] up to the next '<'.
func (p *Parser) text(i int) (int, error) {
	data := p.data
	j := skipPlain(data, i, &textStops, &textClass)
	if j < len(data) && data[j] == '<' {
		p.el.Nodes = append(p.el.Nodes, Node{Kind: Text, Text: span(i, j), Off: int32(i), EndOff: int32(j)})
		return j, nil
	}
	// Something to look at: characters to check, and references or
	// line ends that change the text. From the first of those, the text
	// goes to p.dec, a run at a time (from run to the next change).
	copying := false
	base, run := len(p.dec), i
	for j < len(data) {
		if j = skipPlain(data, j, &textStops, &textClass); j >= len(data) {
			break
		}
		c := data[j]
		switch {
		case c == '<':
			sp := span(i, j)
			if copying {
				p.dec = append(p.dec, data[run:j]...)
				sp = decoded(base, len(p.dec))
			}
			p.el.Nodes = append(p.el.Nodes, Node{Kind: Text, Text: sp, Off: int32(i), EndOff: int32(j)})
			return j, nil
		case c >= utf8.RuneSelf:
			// skipPlain passes valid characters: this one is not.
			return 0, p.badChar(j)
		case c == ']':
			if strings.HasPrefix(data[j:], "]]>") {
				return 0, p.fail(NotWellFormed, "']]>' in character data", j)
			}
			j++
		case c == '&' || c == '\r':
			copying = true
			p.dec = append(p.dec, data[run:j]...)
			if c == '\r' {
				p.dec = append(p.dec, '\n')
				j++
				if j < len(data) && data[j] == '\n' {
					j++
				}
			} else {
				var err error
				if p.dec, j, err = p.reference(p.dec, j); err != nil {
					return 0, err
				}
			}
			run = j
		default:
			return 0, p.badChar(j)
		}
	}
	return 0, p.unexpectedEnd()
}

// reference appends what the reference at data[i] ('&') stands for and
// returns the index after its ';'.
func (p *Parser) reference(b []byte, i int) ([]byte, int, error) {
	data := p.data
	j := i + 1
	if j < len(data) && data[j] == '#' {
		j++
		hex := j < len(data) && data[j] == 'x'
		if hex {
			j++
		}
		start := j
		var v rune
		for ; j < len(data); j++ {
			c := data[j]
			var d rune
			switch {
			case '0' <= c && c <= '9':
				d = rune(c - '0')
			case hex && 'a' <= c && c <= 'f':
				d = rune(c-'a') + 10
			case hex && 'A' <= c && c <= 'F':
				d = rune(c-'A') + 10
			default:
				d = -1
			}
			if d < 0 {
				break
			}
			if v <= utf8.MaxRune {
				if hex {
					v = v*16 + d
				} else {
					v = v*10 + d
				}
			}
		}
		if j >= len(data) {
			return b, 0, p.unexpectedEnd()
		}
		if j == start || data[j] != ';' {
			return b, 0, p.fail(NotWellFormed, "malformed character reference", i)
		}
		if !isChar(v) {
			return b, 0, p.fail(NotWellFormed, "character reference to a character XML forbids", i)
		}
		return utf8.AppendRune(b, v), j + 1, nil
	}
	k := j
	for k < len(data) && k-j < 8 && data[k] != ';' {
		k++
	}
	if k < len(data) && data[k] == ';' {
		switch data[j:k] {
		case "lt":
			return append(b, '<'), k + 1, nil
		case "gt":
			return append(b, '>'), k + 1, nil
		case "amp":
			return append(b, '&'), k + 1, nil
		case "apos":
			return append(b, '\''), k + 1, nil
		case "quot":
			return append(b, '"'), k + 1, nil
		}
	}
	// Not one of the five: a reference to an entity no DTD can declare
	// here, or no reference at all.
	end, ok := p.ncname(j)
	if ok && end < len(data) && data[end] == ';' {
		return b, 0, p.fail(Restricted, "entity reference &"+data[j:end]+"; is not allowed (RFC 6120 §11.1)", i)
	}
	if end >= len(data) {
		return b, 0, p.unexpectedEnd()
	}
	return b, 0, p.fail(NotWellFormed, "'&' that begins no reference", i)
}

// isChar reports whether r is a Char of XML 1.0 (§2.2).
func isChar(r rune) bool {
	if r < 0x20 {
		return r == '\t' || r == '\n' || r == '\r'
	}
	return r <= 0xD7FF || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= utf8.MaxRune)
}

// ASCII name characters: nameStart for the first, nameChar for the rest
// (':' is neither: it separates a prefix).
// Both have all 256 entries, false from 0x80, so that a loop over ASCII
// name characters needs no other test.
var nameStart, nameChar = func() (s, c [256]bool) {
	for b := range utf8.RuneSelf {
		switch {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', b == '_':
			s[b], c[b] = true, true
		case '0' <= b && b <= '9', b == '-', b == '.':
			c[b] = true
		}
	}
	return s, c
}()

// ncname returns the end of the NCName at data[i], and whether there is
// one (a name character to start it).
func (p *Parser) ncname(i int) (int, bool) {
	data := p.data
	j := i
	// The usual name, ASCII: its first character, then the run of the
	// others; the loop below takes over at a byte from 0x80.
	if j < len(data) && data[j] < utf8.RuneSelf {
		if !nameStart[data[j]] {
			return j, false
		}
		j++
		for j < len(data) && nameChar[data[j]] {
			j++
		}
		if j == len(data) || data[j] < utf8.RuneSelf {
			return j, true
		}
	}
	for j < len(data) {
		c := data[j]
		if c < utf8.RuneSelf {
			if !nameChar[c] || (j == i && !nameStart[c]) {
				break
			}
			j++
			continue
		}
		r, size := utf8.DecodeRuneInString(data[j:])
		if r == utf8.RuneError && size == 1 {
			break
		}
		if !xmlenc.IsNameStart(r) && (j == i || !xmlenc.IsNameChar(r)) {
			break
		}
		j += size
	}
	return j, j > i
}

// qname reads a qualified name at data[i]: an NCName, or two joined by a
// colon.
func (p *Parser) qname(i int) (prefix, local Span, end int, err error) {
	data := p.data
	j, ok := p.ncname(i)
	if !ok {
		if i >= len(data) {
			return Span{}, Span{}, 0, p.unexpectedEnd()
		}
		return Span{}, Span{}, 0, p.fail(NotWellFormed, "expected a name", i)
	}
	if j < len(data) && data[j] == ':' {
		k, ok := p.ncname(j + 1)
		if !ok {
			if j+1 >= len(data) {
				return Span{}, Span{}, 0, p.unexpectedEnd()
			}
			return Span{}, Span{}, 0, p.fail(NotWellFormed, "a prefix without a local name", j)
		}
		if k < len(data) && data[k] == ':' {
			return Span{}, Span{}, 0, p.fail(NotWellFormed, "a name with two colons", k)
		}
		return span(i, j), span(j+1, k), k, nil
	}
	return Span{Off: int32(i)}, span(i, j), j, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (p *Parser) skipSpace(i int) int {
	for i < len(p.data) && isSpace(p.data[i]) {
		i++
	}
	return i
}

// startTag reads the start tag (or empty-element tag) at data[i].
// is reports whether sp holds s, while parsing.
func (p *Parser) is(sp Span, s string) bool {
	return int(sp.Len) == len(s) && sp.Off >= 0 && p.data[sp.Off:sp.Off+sp.Len] == s
}

func (p *Parser) startTag(i int) (int, error) {
	data := p.data
	depth := int32(len(p.open))
	if p.MaxDepth > 0 && int(depth) > p.MaxDepth {
		return 0, p.fail(TooDeep, "elements nested too deep", i)
	}
	prefix, local, j, err := p.qname(i + 1)
	if err != nil {
		return 0, err
	}
	el := p.el
	a0 := len(el.Attrs)
	p.aoff = p.aoff[:0]
	p.spaced = false
	decls, prefixed := false, false
	empty := false
	for {
		k := p.skipSpace(j)
		if k >= len(data) {
			return 0, p.unexpectedEnd()
		}
		c := data[k]
		if c == '>' {
			j = k + 1
			break
		}
		if c == '/' {
			if k+1 >= len(data) {
				return 0, p.unexpectedEnd()
			}
			if data[k+1] != '>' {
				return 0, p.fail(NotWellFormed, "expected '>' after '/'", k+1)
			}
			j, empty = k+2, true
			break
		}
		if k == j {
			return 0, p.fail(NotWellFormed, "expected white space before an attribute", k)
		}
		apfx, aloc, k, err := p.qname(k)
		if err != nil {
			return 0, err
		}
		if k < len(data) && data[k] == '=' {
			k++
		} else {
			k = p.skipSpace(k)
			if k >= len(data) {
				return 0, p.unexpectedEnd()
			}
			if data[k] != '=' {
				return 0, p.fail(NotWellFormed, "expected '=' after an attribute name", k)
			}
			k++
		}
		k = p.skipSpace(k)
		if k >= len(data) {
			return 0, p.unexpectedEnd()
		}
		q := data[k]
		if q != '\'' && q != '"' {
			return 0, p.fail(NotWellFormed, "expected a quoted attribute value", k)
		}
		v, end, err := p.value(k+1, q)
		if err != nil {
			return 0, err
		}
		bind := NoBinding
		switch {
		case apfx.Len == 0 && p.is(aloc, "xmlns"):
			decls, bind = true, declBinding
		case apfx.Len == 0:
		case p.is(apfx, "xmlns"):
			decls, bind = true, declBinding
		default:
			prefixed = true
		}
		// Written in place, field by field (as the nodes below): a
		// struct built aside and copied in is slower to store.
		el.Attrs = append(el.Attrs, Attr{})
		a := &el.Attrs[len(el.Attrs)-1]
		a.Prefix, a.Local, a.Value, a.Bind = apfx, aloc, v, bind
		p.aoff = append(p.aoff, k)
		j = end
	}
	attrs := el.Attrs[a0:]
	if len(attrs) > 1 {
		if err := p.uniqueNames(attrs); err != nil {
			return 0, err
		}
	}
	mark := int32(len(p.scope))
	if decls {
		for k := range attrs {
			a := &attrs[k]
			if a.Bind == declBinding {
				if err := p.declare(a, depth, p.aoff[k]); err != nil {
					return 0, err
				}
			}
		}
	}
	bind, err := p.resolve(p.str(prefix), i)
	if err != nil {
		return 0, err
	}
	outer := p.bindDepth(bind)
	if prefixed {
		for k := range attrs {
			a := &attrs[k]
			if a.Prefix.Len == 0 || a.Bind == declBinding {
				continue
			}
			b, err := p.resolve(p.str(a.Prefix), p.aoff[k])
			if err != nil {
				return 0, err
			}
			a.Bind = b
			outer = min(outer, p.bindDepth(b))
		}
		if err := p.uniqueExpanded(attrs); err != nil {
			return 0, err
		}
	}
	idx := int32(len(el.Nodes))
	el.Nodes = append(el.Nodes, Node{})
	n := &el.Nodes[idx]
	n.Kind, n.Prefix, n.Local, n.Bind = Start, prefix, local, bind
	n.Off, n.Depth, n.Outer, n.SpaceInValue = int32(i), depth, outer, p.spaced
	n.A0, n.A1 = int32(a0), int32(len(el.Attrs))
	if empty {
		n.EndOff = int32(j)
		p.closeElement(idx, mark)
		return j, nil
	}
	p.open = append(p.open, idx)
	p.marks = append(p.marks, mark)
	return j, nil
}

// closeElement appends the End node of the element whose Start is
// el.Nodes[idx], drops its declarations from scope, and passes what it
// uses from outside to its parent.
func (p *Parser) closeElement(idx, mark int32) {
	el := p.el
	n := &el.Nodes[idx]
	n.Close = int32(len(el.Nodes))
	outer := n.Outer
	el.Nodes = append(el.Nodes, Node{})
	n = &el.Nodes[idx] // the append may have moved it
	end := &el.Nodes[len(el.Nodes)-1]
	end.Kind, end.Local, end.Prefix, end.Bind, end.Depth, end.Close = End, n.Local, n.Prefix, n.Bind, n.Depth, idx
	p.pop(mark)
	if len(p.open) > 0 {
		parent := &el.Nodes[p.open[len(p.open)-1]]
		parent.Outer = min(parent.Outer, outer)
	}
}

// endTag reads the end tag at data[i] ("</").
func (p *Parser) endTag(i int) (int, error) {
	data := p.data
	if len(p.open) == 0 {
		return 0, p.fail(NotWellFormed, "end tag outside the element", i)
	}
	top := len(p.open) - 1
	idx := p.open[top]
	n := &p.el.Nodes[idx]
	// The usual end tag: the start tag's name as written, then '>'. It
	// is compared whole rather than read and checked as a name.
	name := data[n.Off+1 : n.Local.Off+n.Local.Len]
	if e := i + 2 + len(name); e < len(data) && data[e] == '>' && data[i+2:e] == name {
		return p.endElement(top, e+1), nil
	}
	prefix, local, j, err := p.qname(i + 2)
	if err != nil {
		return 0, err
	}
	if j >= len(data) {
		// Not a mismatch yet: the name may go on (ParsePrefix's caller
		// reads more when the failure is at the end).
		return 0, p.unexpectedEnd()
	}
	if p.str(prefix) != p.str(n.Prefix) || p.str(local) != p.str(n.Local) {
		return 0, p.fail(NotWellFormed, "end tag </"+qualified(p.str(prefix), p.str(local))+"> does not match <"+qualified(p.str(n.Prefix), p.str(n.Local))+">", i)
	}
	j = p.skipSpace(j)
	if j >= len(data) {
		return 0, p.unexpectedEnd()
	}
	if data[j] != '>' {
		return 0, p.fail(NotWellFormed, "expected '>' to end the end tag", j)
	}
	return p.endElement(top, j+1), nil
}

// endElement closes the element p.open[top], whose end tag ends before
// end, and returns end.
func (p *Parser) endElement(top, end int) int {
	idx := p.open[top]
	p.el.Nodes[idx].EndOff = int32(end)
	mark := p.marks[top]
	p.open, p.marks = p.open[:top], p.marks[:top]
	p.closeElement(idx, mark)
	return end
}

func qualified(prefix, local string) string {
	if prefix == "" {
		return local
	}
	return prefix + ":" + local
}

// value reads an attribute value from data[i] up to the quote q and
// returns it normalised (XML 1.0 §3.3.3: references replaced, each white
// space character a space, "\r\n" one space) and the index after q.
func (p *Parser) value(i int, q byte) (Span, int, error) {
	data := p.data
	j := skipPlain(data, i, &valueStops, &valueClass)
	if j < len(data) && data[j] == q {
		return span(i, j), j + 1, nil
	}
	copying := false
	base, run := len(p.dec), i
	for j < len(data) {
		if j = skipPlain(data, j, &valueStops, &valueClass); j >= len(data) {
			break
		}
		c := data[j]
		switch {
		case c == q:
			if copying {
				p.dec = append(p.dec, data[run:j]...)
				return decoded(base, len(p.dec)), j + 1, nil
			}
			return span(i, j), j + 1, nil
		case c == '\'' || c == '"':
			j++
		case c >= utf8.RuneSelf:
			// skipPlain passes valid characters: this one is not.
			return Span{}, 0, p.badChar(j)
		case c == '<':
			return Span{}, 0, p.fail(NotWellFormed, "'<' in an attribute value", j)
		case c == '&' || c == '\t' || c == '\n' || c == '\r':
			copying = true
			p.dec = append(p.dec, data[run:j]...)
			if c == '&' {
				var err error
				if p.dec, j, err = p.reference(p.dec, j); err != nil {
					return Span{}, 0, err
				}
			} else {
				p.dec = append(p.dec, ' ')
				p.spaced = true
				j++
				if c == '\r' && j < len(data) && data[j] == '\n' {
					j++
				}
			}
			run = j
		default:
			return Span{}, 0, p.badChar(j)
		}
	}
	return Span{}, 0, p.unexpectedEnd()
}

// str returns the text of sp while parsing: decoded text is still in
// p.dec, which changes, so what must outlast the parse is copied.
func (p *Parser) str(sp Span) string {
	if sp.Off < 0 {
		return string(p.dec[^sp.Off : ^sp.Off+sp.Len])
	}
	return p.data[sp.Off : sp.Off+sp.Len]
}

package stanza

import (
	"encoding/xml"
	"errors"
	"io"
	"slices"
	"strings"

	"github.com/parleyim/parley/internal/jidcache"
	"github.com/parleyim/parley/internal/xmlenc"
	"github.com/parleyim/parley/internal/xmltree"
)

// Decoding from parsed nodes: the fast path.
//
// When the xml.TokenReader given to Decode (or DecodeMessage…) can hand
// over the element it is at as an internal/xmltree.Element, as
// internal/wire's Reader does right after NextElement, the decoders read
// the nodes instead of tokens: the same code (tokens is the seam), without
// a token made, an interface boxed or a string copied. Text without
// references is a substring of the element's bytes, and an extension
// becomes a Raw holding its bytes as received (with the namespace
// declarations it inherits added to its start tag when it has any), so
// that it costs nothing until read.

// treeSource is what a token reader offers to be read as nodes:
// XMLTree returns the element whole and ends it, or nil when it cannot
// (tokens have been read already).
type treeSource interface {
	XMLTree() *xmltree.Element
}

// treeOf returns r's current element as nodes, if r offers them.
func treeOf(r xml.TokenReader) *xmltree.Element {
	if ts, ok := r.(treeSource); ok {
		return ts.XMLTree()
	}
	return nil
}

// cacheSource is what a token reader offers to parse the addresses of
// its stream's stanzas through: wire's Reader keeps the ones repeated.
type cacheSource interface {
	JIDCache() *jidcache.Cache
}

// initTree is init over nodes: the header from the stanza element's
// attributes, and the count of its foreign children.
func (s *stanzaReader) initTree(el *xmltree.Element, cache *jidcache.Cache) {
	s.tokens.el, s.tokens.i = el, 1
	var from, to *jidcache.Slot
	if cache != nil {
		from, to = &cache.From, &cache.To
	}
	top := &el.Nodes[0]
	for k := top.A0; k < top.A1; k++ {
		// header's matching, on the binding rather than the namespace:
		// an attribute in no namespace has none (a declaration is not
		// one of these names), and the parser resolves the xml prefix,
		// which nothing else may be bound to, to XMLBinding.
		a := &el.Attrs[k]
		switch a.Bind {
		case xmltree.NoBinding:
			switch el.Str(a.Local) {
			case "id":
				s.h.ID = el.Str(a.Value)
			case "type":
				s.typ = el.Str(a.Value)
			case "from":
				s.h.From = s.cachedJID("from", el.Str(a.Value), from)
			case "to":
				s.h.To = s.cachedJID("to", el.Str(a.Value), to)
			}
		case xmltree.XMLBinding:
			if el.Str(a.Local) == "lang" {
				s.h.Lang = el.Str(a.Value)
			}
		}
	}
	// A child with the stanza element's binding is in NS, when the
	// stanza is, without comparing URIs.
	s.nsBind = xmltree.NoBinding
	if el.URI(top.Bind) == NS {
		s.nsBind = top.Bind
	}
	for k := 1; k < len(el.Nodes); {
		n := &el.Nodes[k]
		if n.Kind == xmltree.Start {
			if !s.inNS(n.Bind) {
				s.foreign++
			}
			k = int(n.Close) + 1
			continue
		}
		k++
	}
}

// inNS reports whether the binding b of the element's nodes stands for
// NS.
func (t *tokens) inNS(b int32) bool {
	return (b == t.nsBind && b >= 0) || t.el.URI(b) == NS
}

// treeNext is next over nodes.
func (t *tokens) treeNext() (xml.Token, error) {
	if t.i >= len(t.el.Nodes) {
		return nil, errTreeEnd
	}
	n := &t.el.Nodes[t.i]
	t.i++
	return t.el.Token(n), nil
}

// errTreeEnd is reading past the element's end, which the decoders never
// do.
var errTreeEnd = errors.New("stanza: reading past the element's end")

// treeSkip is skip over nodes: past the End of the element whose Start
// was read last at the current depth.
func (t *tokens) treeSkip() {
	nodes := t.el.Nodes
	for depth := 1; depth > 0 && t.i < len(nodes); t.i++ {
		switch nodes[t.i].Kind {
		case xmltree.Start:
			depth++
		case xmltree.End:
			depth--
		}
	}
}

// treeText is text over nodes.
func (t *tokens) treeText() string {
	nodes := t.el.Nodes
	var s string
	var b []byte
	for depth := 1; depth > 0 && t.i < len(nodes); t.i++ {
		n := &nodes[t.i]
		switch n.Kind {
		case xmltree.Start:
			depth++
		case xmltree.End:
			depth--
		case xmltree.Text:
			if depth != 1 {
				continue
			}
			text := t.el.Str(n.Text)
			switch {
			case s == "" && b == nil:
				s = text
			case b == nil:
				b = append([]byte(s), text...)
			default:
				b = append(b, text...)
			}
		}
	}
	if b != nil {
		return string(b)
	}
	return s
}

// treeChild is stanzaReader.child over nodes.
func (s *stanzaReader) treeChild() *xml.StartElement {
	nodes := s.el.Nodes
	for s.i < len(nodes) {
		n := &nodes[s.i]
		s.i++
		switch n.Kind {
		case xmltree.Start:
			// The decoders read the attributes of children in NS only
			// (xml:lang, a thread's parent, an error's type); an
			// extension is kept whole, so its are not made.
			if s.inNS(n.Bind) {
				s.cur = s.el.StartOf(n)
			} else {
				s.cur = xml.StartElement{Name: s.el.Name(n)}
			}
			return &s.cur
		case xmltree.End:
			return nil
		}
	}
	return nil
}

// treeRaw returns the element whose Start was just read as a Raw, and
// moves past its End.
func (t *tokens) treeRaw() *Raw {
	idx := t.i - 1
	n := &t.el.Nodes[idx]
	t.i = int(n.Close) + 1
	r := t.newRaw()
	setTreeRaw(r, t.el, idx)
	return r
}

// newRaw returns a Raw from the slab, made for the stanza's foreign
// children the first time, or a Raw of its own once they are used up.
func (t *tokens) newRaw() *Raw {
	if t.slab == nil && t.foreign > 0 {
		t.slab = make([]Raw, t.foreign)
	}
	if len(t.slab) > 0 {
		r := &t.slab[0]
		t.slab = t.slab[1:]
		return r
	}
	return new(Raw)
}

// newStanza returns a new stanza value (a Message or a Presence) and its
// Extensions slice, for a stanza about to read its children: nil, or over
// nodes, one with room for its foreign children. For a few, the stanza,
// the slice and the slab of their Raws are one allocation.
func newStanza[T any](t *tokens) (*T, []Payload) {
	switch t.foreign {
	case 0:
		return new(T), nil
	case 1:
		b := new(struct {
			st   T
			ext  [1]Payload
			raws [1]Raw
		})
		t.slab = b.raws[:]
		return &b.st, b.ext[:0]
	case 2:
		b := new(struct {
			st   T
			ext  [2]Payload
			raws [2]Raw
		})
		t.slab = b.raws[:]
		return &b.st, b.ext[:0]
	case 3:
		b := new(struct {
			st   T
			ext  [3]Payload
			raws [3]Raw
		})
		t.slab = b.raws[:]
		return &b.st, b.ext[:0]
	}
	return new(T), make([]Payload, 0, t.foreign)
}

// newIQ returns a new IQ, for an iq about to read its children: over
// nodes, with a foreign child, allocated together with the Raw of its
// payload (an iq keeps one).
func newIQ(t *tokens) *IQ {
	if t.foreign == 0 {
		return new(IQ)
	}
	b := new(struct {
		iq  IQ
		raw [1]Raw
	})
	t.slab = b.raw[:]
	return &b.iq
}

// setTreeRaw makes r a Raw of the element el.Nodes[idx]: its bytes as
// received, and, when it uses namespace declarations made outside it, a
// start tag that makes them itself.
func setTreeRaw(r *Raw, el *xmltree.Element, idx int) {
	n := &el.Nodes[idx]
	for k := idx; k < int(n.Close); k++ {
		if el.Nodes[k].SpaceInValue {
			// The bytes say a tab or line end where the value has a
			// space: written anew from the nodes, the Raw says what its
			// values are to every reader.
			if raw, ok := rewrittenRaw(el, idx); ok {
				*r = *raw
				return
			}
			break
		}
	}
	data := el.Data[n.Off:n.EndOff]
	if n.Outer < n.Depth {
		data = inherited(el, idx)
	}
	*r = Raw{name: el.Name(n), data: data, received: true}
}

// rewrittenRaw makes a Raw of el.Nodes[idx] from its nodes, as ReadRaw
// does from tokens.
func rewrittenRaw(el *xmltree.Element, idx int) (*Raw, bool) {
	n := &el.Nodes[idx]
	start := xml.StartElement{Name: el.Name(n), Attr: el.AppendAttrs(nil, n)}
	raw, bad, err := readRaw(&subtree{el: el, i: idx + 1, end: int(n.Close)}, &start)
	if err != nil || bad != nil {
		return nil, false
	}
	return raw, true
}

// subtree reads the tokens of the nodes from i through end.
type subtree struct {
	el     *xmltree.Element
	i, end int
}

func (t *subtree) Token() (xml.Token, error) {
	if t.i > t.end {
		return nil, io.EOF
	}
	n := &t.el.Nodes[t.i]
	t.i++
	return t.el.Token(n), nil
}

// inherited returns the bytes of el.Nodes[idx], which uses namespace
// declarations made outside it, with a start tag that makes them.
func inherited(el *xmltree.Element, idx int) string {
	n := &el.Nodes[idx]
	// The declarations in force from outside that the element and its
	// descendants use, each once.
	var u usedBinds
	for k := idx; k <= int(n.Close); k++ {
		m := &el.Nodes[k]
		if m.Kind != xmltree.Start {
			continue
		}
		if m.Outer >= n.Depth {
			k = int(m.Close) // nothing from outside in this subtree
			continue
		}
		u.add(el, m.Bind, n.Depth)
		for a := m.A0; a < m.A1; a++ {
			u.add(el, el.Attrs[a].Bind, n.Depth)
		}
	}
	return withDecls(el.Data[n.Off:n.EndOff], n, el, u.list)
}

// usedScan is how many bindings usedBinds compares by scanning before
// it keeps a set, so that inherited stays linear however many
// declarations an element uses.
const usedScan = 16

// usedBinds lists bindings, each once, in the order first added.
type usedBinds struct {
	list []int32
	few  [usedScan]int32 // list's first array
	set  map[int32]struct{}
}

// add adds the binding b if it was declared above depth (b < 0, no
// binding or the xml prefix's, is never added).
func (u *usedBinds) add(el *xmltree.Element, b, depth int32) {
	if b < 0 || el.BindDepth(b) >= depth {
		return
	}
	if u.set == nil {
		if slices.Contains(u.list, b) {
			return
		}
		if u.list == nil {
			u.list = u.few[:0]
		}
		u.list = append(u.list, b)
		if len(u.list) > usedScan {
			u.set = make(map[int32]struct{}, 2*len(u.list))
			for _, v := range u.list {
				u.set[v] = struct{}{}
			}
		}
		return
	}
	if _, ok := u.set[b]; ok {
		return
	}
	u.set[b] = struct{}{}
	u.list = append(u.list, b)
}

// withDecls returns data, an element's bytes, with declarations of the
// bindings used written into its start tag after the name.
func withDecls(data string, n *xmltree.Node, el *xmltree.Element, used []int32) string {
	name := 1 + int(n.Local.Len)
	if n.Prefix.Len > 0 {
		name += int(n.Prefix.Len) + 1
	}
	b := make([]byte, 0, len(data)+64)
	b = append(b, data[:name]...)
	for _, u := range used {
		bd := el.Binding(u)
		if bd.Prefix == "" {
			b = append(b, " xmlns='"...)
		} else {
			b = append(append(append(b, " xmlns:"...), bd.Prefix...), "='"...)
		}
		b = append(xmlenc.AppendEscaped(b, bd.URI), '\'')
	}
	b = append(b, data[name:]...)
	return string(b)
}

// wireAttr returns the value of the attribute local in no namespace of the
// start tag that data begins with, for a Raw whose bytes were received:
// checked by the parser as well-formed, in whatever form the sender
// wrote. The value is normalised as XML 1.0 §3.3.3 says.
func wireAttr(data, local string) string {
	i := 1
	for i < len(data) && !isTagSpace(data[i]) && data[i] != '>' && data[i] != '/' {
		i++
	}
	for i < len(data) {
		for i < len(data) && isTagSpace(data[i]) {
			i++
		}
		if i >= len(data) || data[i] == '>' || data[i] == '/' {
			return ""
		}
		start := i
		for i < len(data) && data[i] != '=' && !isTagSpace(data[i]) {
			i++
		}
		name := data[start:i]
		for i < len(data) && data[i] != '\'' && data[i] != '"' {
			i++
		}
		if i >= len(data) {
			return ""
		}
		q := data[i]
		end := strings.IndexByte(data[i+1:], q)
		if end < 0 {
			return ""
		}
		value := data[i+1 : i+1+end]
		i += end + 2
		if name == local {
			return normaliseValue(value, len(data) > maxSharedAttr)
		}
	}
	return ""
}

func isTagSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// normaliseValue returns an attribute value as written, checked, with its
// references replaced and white space turned into spaces; copy says to
// copy it even when nothing changes.
func normaliseValue(v string, copy bool) string {
	if !strings.ContainsAny(v, "&\t\n\r") {
		if copy {
			return strings.Clone(v)
		}
		return v
	}
	// The parser checked the references: use it to read them again.
	var p xmltree.Parser
	var el xmltree.Element
	if err := p.Parse("<a v='"+strings.ReplaceAll(v, "'", "&apos;")+"'/>", &el); err != nil || len(el.Attrs) != 1 {
		return ""
	}
	return strings.Clone(el.Str(el.Attrs[0].Value))
}

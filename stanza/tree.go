package stanza

import (
	"encoding/xml"
	"errors"
	"strings"

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

// treeNext is next over nodes.
func (t *tokens) treeNext() (xml.Token, error) {
	if t.i >= len(t.el.Nodes) {
		return nil, errTreeEnd
	}
	n := &t.el.Nodes[t.i]
	t.i++
	switch n.Kind {
	case xmltree.Start:
		return t.startOf(n), nil
	case xmltree.End:
		return xml.EndElement{Name: n.Name}, nil
	}
	return xml.CharData(n.Text), nil
}

// errTreeEnd is reading past the element's end, which the decoders never
// do.
var errTreeEnd = errors.New("stanza: reading past the element's end")

// startOf returns a Start node as a token; its attributes are a slice of
// the element's.
func (t *tokens) startOf(n *xmltree.Node) xml.StartElement {
	return xml.StartElement{Name: n.Name, Attr: t.el.Attrs[n.A0:n.A1:n.A1]}
}

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
			switch {
			case s == "" && b == nil:
				s = n.Text
			case b == nil:
				b = append([]byte(s), n.Text...)
			default:
				b = append(b, n.Text...)
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
			s.cur = s.startOf(n)
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
	return newTreeRaw(t.el, idx)
}

// newTreeRaw makes a Raw of the element el.Nodes[idx]: its bytes as
// received, and, when it uses namespace declarations made outside it, a
// start tag that makes them itself.
func newTreeRaw(el *xmltree.Element, idx int) *Raw {
	n := &el.Nodes[idx]
	data := el.Data[n.Off:n.EndOff]
	if n.Outer >= n.Depth {
		return &Raw{name: n.Name, data: data, received: true}
	}
	// The declarations in force from outside that the element and its
	// descendants use, each once.
	var used []int32
	add := func(b int32) {
		if b < 0 || el.Binds[b].Depth >= n.Depth {
			return
		}
		for _, u := range used {
			if u == b {
				return
			}
		}
		used = append(used, b)
	}
	for k := idx; k <= int(n.Close); k++ {
		m := &el.Nodes[k]
		if m.Kind != xmltree.Start || m.Outer >= n.Depth {
			continue
		}
		add(m.Bind)
		for a := m.A0; a < m.A1; a++ {
			add(el.AttrBind[a])
		}
		if len(used) > 16 {
			// Many: fall back on declaring everything once, by the
			// slower path that keeps this linear.
			return newTreeRawMany(el, idx)
		}
	}
	return &Raw{name: n.Name, data: withDecls(data, n, el, used), received: true}
}

// newTreeRawMany is newTreeRaw for an element that uses many declarations
// made outside it, with a set instead of a scan.
func newTreeRawMany(el *xmltree.Element, idx int) *Raw {
	n := &el.Nodes[idx]
	seen := make(map[int32]bool)
	var used []int32
	for k := idx; k <= int(n.Close); k++ {
		m := &el.Nodes[k]
		if m.Kind != xmltree.Start || m.Outer >= n.Depth {
			continue
		}
		binds := append([]int32{m.Bind}, el.AttrBind[m.A0:m.A1]...)
		for _, b := range binds {
			if b >= 0 && el.Binds[b].Depth < n.Depth && !seen[b] {
				seen[b] = true
				used = append(used, b)
			}
		}
	}
	return &Raw{name: n.Name, data: withDecls(el.Data[n.Off:n.EndOff], n, el, used), received: true}
}

// withDecls returns data, an element's bytes, with declarations of the
// bindings used written into its start tag after the name.
func withDecls(data string, n *xmltree.Node, el *xmltree.Element, used []int32) string {
	name := 1 + len(n.Name.Local)
	if n.Prefix != "" {
		name += len(n.Prefix) + 1
	}
	b := make([]byte, 0, len(data)+64)
	b = append(b, data[:name]...)
	for _, u := range used {
		bd := el.Binds[u]
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
	if strings.IndexAny(v, "&\t\n\r") < 0 {
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
	return strings.Clone(el.Attrs[0].Value)
}

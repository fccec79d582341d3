// Package xmltree parses one XML element held whole in memory into a flat
// list of nodes, straight from its bytes: the receiving half of Parley's
// stream reader (internal/wire frames each top-level element, this package
// parses it, stanza decodes the nodes into typed stanzas).
//
// It accepts XMPP's restricted XML (RFC 6120 §11) and nothing else, as
// strictly as XML 1.0 (5th edition) and Namespaces in XML 1.0 require:
// well-formedness, UTF-8, the Char production, name characters, namespace
// declaration and scoping, unique attributes (also after prefixes are
// resolved), character and the five predefined entity references, CDATA
// sections; comments, processing instructions, DTDs and other entity
// references are refused as restricted XML. Every check is linear in the
// input: attributes and namespace declarations are looked up through
// small scans while there are few, and through maps past that.
//
// Names and attribute values are reported as encoding/xml's Decoder.Token
// reports them, so that a reader of tokens sees the same thing whichever
// parser produced them: Name.Space is the namespace URI, a namespace
// declaration is an attribute {Space: "xmlns", Local: prefix} or
// {Space: "", Local: "xmlns"}, and the xml prefix resolves to its URI.
// Where the specifications and encoding/xml differ (fuzz_test.go lists
// each case), this package follows the specifications.
//
// Strings in an Element (names, values, text without references) are
// substrings of its Data: they cost nothing, and keep Data alive.
package xmltree

import (
	"encoding/xml"
	"fmt"
)

// Kind is the kind of a Node.
type Kind uint8

// Node kinds.
const (
	Start Kind = iota + 1 // a start tag (or an empty-element tag)
	Text                  // character data or a CDATA section
	End                   // an end tag (also after an empty-element tag)
)

// Span is a run of text in an Element: Len bytes of Data from Off, or,
// when Off is negative, of Decoded (text that references or line ends
// changed) from ^Off.
type Span struct {
	Off, Len int32
}

func span(from, to int) Span    { return Span{Off: int32(from), Len: int32(to - from)} }
func decoded(from, to int) Span { return Span{Off: ^int32(from), Len: int32(to - from)} }

// Node is one start tag, end tag or run of character data. It holds no
// pointers, so that parsing writes no pointer the garbage collector must
// see; read its strings through its Element. Fields other than Kind
// apply to some kinds only, as said.
type Node struct {
	Kind Kind
	// Prefix and Local are the element's name as written (Start, End).
	Prefix, Local Span
	// Text is the character data, references replaced and line ends
	// normalised (Text).
	Text Span
	// A0 and A1 delimit the element's attributes, Element.Attrs[A0:A1],
	// namespace declarations included (Start).
	A0, A1 int32
	// Close is the index of the element's End node (Start), or of its
	// Start node (End).
	Close int32
	// Off and EndOff delimit the element in Data, from its '<' to after
	// the '>' of its end tag (Start), or the bytes the text was read
	// from (Text; a CDATA section's content).
	Off, EndOff int32
	// Depth is 0 for the element parsed, 1 for its children… (Start, End).
	Depth int32
	// Bind is the binding the element's name was resolved with (see
	// Element.Binding), or NoBinding for an element in no namespace
	// (Start, End).
	Bind int32
	// Outer is the smallest Depth of a namespace declaration that the
	// element or a descendant uses for its name or an attribute's; -1 for
	// the context's, and MaxDepth+1 or more when none is used. Where it
	// is smaller than Depth, the element uses declarations made outside
	// itself, and its bytes alone do not say what its prefixes mean
	// (Start).
	Outer int32
	// SpaceInValue is set on a Start node when one of its attribute
	// values had a tab, line end or carriage return written as such,
	// which the value has as a space (XML 1.0 §3.3.3) but the element's
	// bytes do not.
	SpaceInValue bool
}

// Attr is an attribute as parsed. Like Node it holds no pointers.
type Attr struct {
	Prefix, Local, Value Span
	// Bind is the binding of the prefix, NoBinding without one, or
	// declBinding for a namespace declaration.
	Bind int32
}

// NoBinding is the Bind of a name in no namespace, and XMLBinding that of
// the predeclared xml prefix.
const (
	NoBinding  int32 = -1
	XMLBinding int32 = -2
	// declBinding marks an attribute that is a namespace declaration.
	declBinding int32 = -3
)

// notUsed is Outer when no declaration is used.
const notUsed int32 = 1 << 30

// Binding is a namespace declaration: Prefix ("" for the default
// namespace) bound to URI ("" to undeclare the default) at Depth (-1 for
// the context, the stream header's declarations).
type Binding struct {
	Prefix, URI string
	Depth       int32
}

// decl is a namespace declaration made in the element: a Binding held as
// spans, so that parsing writes no pointer.
type decl struct {
	Prefix, URI Span
	Depth       int32
}

// Element is one parsed element: its bytes and its nodes in document
// order, the first a Start and the last its End.
type Element struct {
	// Data is the element's bytes as received.
	Data string
	// Decoded holds the text and attribute values that references or
	// line ends changed, for the Spans with Dec set.
	Decoded string
	// Nodes are the element's nodes in document order.
	Nodes []Node
	// Attrs holds every Start node's attributes.
	Attrs []Attr

	// The bindings, numbered: the context's (the Parser's, shared) from
	// 0, then the declarations made in the element in document order.
	ctx   []Binding
	decls []decl

	scratch []xml.Attr // for StartOf
}

// Reset empties e, keeping its slices for reuse.
func (e *Element) Reset() {
	e.Data, e.Decoded = "", ""
	e.Nodes, e.Attrs, e.decls = e.Nodes[:0], e.Attrs[:0], e.decls[:0]
}

// Binding returns the binding numbered b (0 or more, as a Node's or an
// Attr's Bind): one of the context's, or a declaration made in e.
func (e *Element) Binding(b int32) Binding {
	if int(b) < len(e.ctx) {
		return e.ctx[b]
	}
	d := &e.decls[int(b)-len(e.ctx)]
	return Binding{Prefix: e.Str(d.Prefix), URI: e.Str(d.URI), Depth: d.Depth}
}

// BindDepth returns the Depth of the binding numbered b (0 or more).
func (e *Element) BindDepth(b int32) int32 {
	if int(b) < len(e.ctx) {
		return -1
	}
	return e.decls[int(b)-len(e.ctx)].Depth
}

// Declared returns the namespace declarations made in e, in document
// order.
func (e *Element) Declared() []Binding {
	var bs []Binding
	for k := range e.decls {
		bs = append(bs, e.Binding(int32(len(e.ctx)+k)))
	}
	return bs
}

// Str returns the text sp stands for.
func (e *Element) Str(sp Span) string {
	if sp.Off < 0 {
		return e.Decoded[^sp.Off : ^sp.Off+sp.Len]
	}
	return e.Data[sp.Off : sp.Off+sp.Len]
}

// URI returns the namespace a binding stands for.
func (e *Element) URI(b int32) string {
	switch b {
	case NoBinding, declBinding:
		return ""
	case XMLBinding:
		return xmlURI
	}
	if int(b) < len(e.ctx) {
		return e.ctx[b].URI
	}
	return e.Str(e.decls[int(b)-len(e.ctx)].URI)
}

// Name returns the name of a Start or End node, as encoding/xml's
// Decoder.Token reports it.
func (e *Element) Name(n *Node) xml.Name {
	return xml.Name{Space: e.URI(n.Bind), Local: e.Str(n.Local)}
}

// AttrName returns an attribute's name as encoding/xml's Decoder.Token
// reports it: a declaration is {Space: "xmlns", Local: prefix} or
// {Local: "xmlns"}.
func (e *Element) AttrName(a *Attr) xml.Name {
	if a.Bind == declBinding && a.Prefix.Len > 0 {
		return xml.Name{Space: "xmlns", Local: e.Str(a.Local)}
	}
	return xml.Name{Space: e.URI(a.Bind), Local: e.Str(a.Local)}
}

// Attr returns the value of n's attribute local in namespace space (""
// for an attribute without a prefix), and whether it has one.
func (e *Element) Attr(n *Node, space, local string) (string, bool) {
	for k := n.A0; k < n.A1; k++ {
		a := &e.Attrs[k]
		if a.Bind == declBinding || int(a.Local.Len) != len(local) {
			continue
		}
		if e.Str(a.Local) == local && e.URI(a.Bind) == space {
			return e.Str(a.Value), true
		}
	}
	return "", false
}

// AppendAttrs appends n's attributes as encoding/xml's tokens carry them.
func (e *Element) AppendAttrs(dst []xml.Attr, n *Node) []xml.Attr {
	for k := n.A0; k < n.A1; k++ {
		a := &e.Attrs[k]
		dst = append(dst, xml.Attr{Name: e.AttrName(a), Value: e.Str(a.Value)})
	}
	return dst
}

// Token returns a node as a token of its own, as encoding/xml's
// Decoder.Token would give it.
func (e *Element) Token(n *Node) xml.Token {
	switch n.Kind {
	case Start:
		return xml.StartElement{Name: e.Name(n), Attr: e.AppendAttrs(nil, n)}
	case End:
		return xml.EndElement{Name: e.Name(n)}
	}
	return xml.CharData(e.Str(n.Text))
}

// StartOf returns a Start node as a token. Its attributes are in scratch
// space of e's, valid until the next call.
func (e *Element) StartOf(n *Node) xml.StartElement {
	if n.A0 == n.A1 {
		return xml.StartElement{Name: e.Name(n)}
	}
	e.scratch = e.AppendAttrs(e.scratch[:0], n)
	return xml.StartElement{Name: e.Name(n), Attr: e.scratch[:len(e.scratch):len(e.scratch)]}
}

// Cond classifies a parse error as the stream error it calls for.
type Cond uint8

// Error conditions, after RFC 6120 §4.9.3.
const (
	NotWellFormed Cond = iota + 1 // not well-formed XML or namespaces
	Restricted                    // XML that RFC 6120 §11 forbids
	TooDeep                       // nesting past the limit (a policy violation)
)

// SyntaxError is a parse failure: what is wrong and where.
type SyntaxError struct {
	Cond Cond
	Msg  string
	// Offset is the byte offset in the input where the fault was found.
	Offset int
}

// Error returns "xmltree: " and the message, with the offset.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("xmltree: %s (at byte %d)", e.Msg, e.Offset)
}

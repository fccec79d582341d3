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
	"unsafe"
)

// Kind is the kind of a Node.
type Kind uint8

// Node kinds.
const (
	Start Kind = iota + 1 // a start tag (or an empty-element tag)
	Text                  // character data or a CDATA section
	End                   // an end tag (also after an empty-element tag)
)

// Node is one start tag, end tag or run of character data. Fields other
// than Kind apply to some kinds only, as said.
type Node struct {
	Kind Kind
	// Name is the element's namespace URI and local name (Start, End).
	Name xml.Name
	// Prefix is the element's prefix as written (Start, End).
	Prefix string
	// Text is the character data, references replaced and line ends
	// normalised (Text).
	Text string
	// A0 and A1 delimit the element's attributes, Element.Attrs[A0:A1],
	// namespace declarations included (Start).
	A0, A1 int32
	// Close is the index of the element's End node (Start).
	Close int32
	// Off and EndOff delimit the element in Data, from its '<' to after
	// the '>' of its end tag (Start).
	Off, EndOff int32
	// Depth is 0 for the element parsed, 1 for its children… (Start, End).
	Depth int32
	// Bind is the binding the element's name was resolved with, an index
	// into Element.Binds, or NoBinding for an element in no namespace
	// (Start).
	Bind int32
	// Outer is the smallest Depth of a namespace declaration that the
	// element or a descendant uses for its name or an attribute's; -1 for
	// the context's, and MaxDepth+1 or more when none is used. Where it
	// is smaller than Depth, the element uses declarations made outside
	// itself, and its bytes alone do not say what its prefixes mean
	// (Start).
	Outer int32
}

// NoBinding is the Bind of a name in no namespace, and XMLBinding that of
// the predeclared xml prefix.
const (
	NoBinding  int32 = -1
	XMLBinding int32 = -2
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

// Element is one parsed element: its bytes and its nodes in document
// order, the first a Start and the last its End.
type Element struct {
	// Data is the element's bytes as received.
	Data string
	// Nodes are the element's nodes in document order.
	Nodes []Node
	// Attrs holds every Start node's attributes.
	Attrs []xml.Attr
	// AttrBind is, for each of Attrs, the binding its prefix was resolved
	// with: NoBinding for an attribute without a prefix or a namespace
	// declaration, XMLBinding for the xml prefix.
	AttrBind []int32
	// Binds are the bindings met, the context's first.
	Binds []Binding
}

// Reset empties e, keeping its slices for reuse.
func (e *Element) Reset() {
	*e = Element{Nodes: e.Nodes[:0], Attrs: e.Attrs[:0], AttrBind: e.AttrBind[:0], Binds: e.Binds[:0]}
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

// Rebase makes e's strings that point into old, the string e was parsed
// from, point at the same offsets into cp instead: a copy of old's first
// len(cp) bytes, which must hold every such string. It is for a caller
// that parsed from a view of a buffer it will reuse, and copies out only
// the element.
func (e *Element) Rebase(old, cp string) {
	if len(old) == 0 {
		return
	}
	base := uintptr(unsafe.Pointer(unsafe.StringData(old)))
	end := base + uintptr(len(old))
	move := func(s *string) {
		if len(*s) == 0 {
			return
		}
		p := uintptr(unsafe.Pointer(unsafe.StringData(*s)))
		if p >= base && p < end {
			off := int(p - base)
			*s = cp[off : off+len(*s)]
		}
	}
	move(&e.Data)
	for i := range e.Nodes {
		n := &e.Nodes[i]
		move(&n.Name.Space)
		move(&n.Name.Local)
		move(&n.Prefix)
		move(&n.Text)
	}
	for i := range e.Attrs {
		a := &e.Attrs[i]
		move(&a.Name.Space)
		move(&a.Name.Local)
		move(&a.Value)
	}
	for i := range e.Binds {
		move(&e.Binds[i].Prefix)
		move(&e.Binds[i].URI)
	}
}

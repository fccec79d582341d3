package xmlenc

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"

	"github.com/parleyim/parley/internal/ns"
)

// xmlnsSpace is the Name.Space that encoding/xml gives to namespace
// declarations with a prefix (xmlns:foo='...').
const xmlnsSpace = "xmlns"

type frame struct {
	local    string
	ns       string // default namespace inside this element
	bindings int    // len(w.bindings) before this element's declarations
	// undeclared is set when the nearest xmlns attribute of the tokens in
	// scope is xmlns='': an element with an empty Name.Space is then in
	// no namespace, as encoding/xml's Decoder reports it, even below an
	// element in a namespace of its own (<p:a xmlns:p='u' xmlns=''><b/>).
	undeclared bool
}

// binding is a prefix declared for a namespace URI, in scope until the
// element that declared it ends.
type binding struct {
	prefix, uri string
	// prevPrefix and prevURI are what the index held for prefix and uri
	// before this binding (-1: nothing), restored when it goes out of
	// scope. They are set only while the Writer keeps an index.
	prevPrefix, prevURI int
}

// scanMax is how many attributes of one element, or bindings in scope,
// the checks compare one by one. Past it they use maps, so that a
// hostile element with tens of thousands of attributes (a megabyte of
// input holds over 100,000) costs time linear in its size instead of
// quadratic, while an ordinary element, with a handful of attributes and
// rarely any prefix, allocates nothing for the checks. A cap on
// attributes per element would be a second limit next to the stanza size
// limit, with no number that the protocol justifies, and the encoder
// would still need linear checks for payloads a user builds; maps keep
// every well-formed element acceptable at a cost the size limit bounds.
const scanMax = 16

// Writer is an xmlstream.TokenWriter that appends XML to B.
//
// Names are read the way encoding/xml's Decoder.Token reports them:
// Name.Space is a namespace URI. An element whose Name.Space is empty takes
// the namespace of an xmlns attribute it carries, or else inherits its
// parent's (encoding/xml's Encoder convention), except where the nearest
// xmlns attribute in scope is xmlns="": there it is in no namespace, as
// the Decoder means it. The output declares what it
// uses: the first element always carries xmlns, a child carries it when its
// namespace differs from its parent's, and attributes in other namespaces
// get a prefix declared on the element. Elements themselves are never
// prefixed. Comments are dropped; processing instructions and directives
// are refused, as are invalid names and characters. After an error the
// Writer refuses everything; B then holds a partial element.
//
// A Writer is not safe for concurrent use.
type Writer struct {
	B []byte
	// Default is the namespace in scope around the first element.
	Default string

	frames   []frame
	bindings []binding
	// byPrefix and byURI index bindings once more than scanMax have been
	// in scope at once, until Reset: the binding in force for a prefix,
	// and the latest binding of a namespace URI.
	byPrefix, byURI map[string]int
	seq             int
	pending         bool // a start tag is open, waiting for '>' or '/>'
	err             error
	// steps counts the comparisons and index operations of the
	// per-element checks, so that a test can show they grow linearly.
	steps int
}

// Reset makes w ready for a new document around the namespace def, keeping
// its buffers' capacity; B is emptied.
func (w *Writer) Reset(def string) {
	*w = Writer{B: w.B[:0], Default: def, frames: w.frames[:0], bindings: w.bindings[:0]}
}

// Depth returns the number of elements currently open.
func (w *Writer) Depth() int { return len(w.frames) }

// Close reports an error if an element is still open or an earlier token
// was refused.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if len(w.frames) > 0 {
		return w.fail(fmt.Errorf("xmlenc: element <%s> not closed", w.frames[len(w.frames)-1].local))
	}
	return nil
}

func (w *Writer) fail(err error) error {
	w.err = err
	return err
}

func (w *Writer) closeTag() {
	if w.pending {
		w.B = append(w.B, '>')
		w.pending = false
	}
}

// EncodeToken appends t.
func (w *Writer) EncodeToken(t xml.Token) error {
	if w.err != nil {
		return w.err
	}
	switch t := t.(type) {
	case xml.StartElement:
		return w.start(&t)
	case *xml.StartElement:
		return w.start(t)
	case xml.EndElement:
		return w.end(t.Name.Local)
	case *xml.EndElement:
		return w.end(t.Name.Local)
	case xml.CharData:
		return w.text(string(t))
	case *xml.CharData:
		return w.text(string(*t))
	case xml.Comment, *xml.Comment:
		return nil
	case xml.ProcInst, *xml.ProcInst:
		return w.fail(errors.New("xmlenc: processing instruction not allowed"))
	case xml.Directive, *xml.Directive:
		return w.fail(errors.New("xmlenc: directive not allowed"))
	default:
		return w.fail(fmt.Errorf("xmlenc: unsupported token %T", t))
	}
}

func (w *Writer) text(s string) error {
	if len(w.frames) == 0 {
		if IsSpace(s) {
			return nil
		}
		return w.fail(errors.New("xmlenc: text outside an element"))
	}
	if s == "" {
		return nil
	}
	w.closeTag()
	var err error
	if w.B, err = AppendText(w.B, s); err != nil {
		return w.fail(err)
	}
	return nil
}

func (w *Writer) end(local string) error {
	n := len(w.frames)
	if n == 0 {
		return w.fail(fmt.Errorf("xmlenc: end element </%s> without start", local))
	}
	f := w.frames[n-1]
	if f.local != local {
		return w.fail(fmt.Errorf("xmlenc: end element </%s> does not match <%s>", local, f.local))
	}
	if w.pending {
		w.B = append(w.B, '/', '>')
		w.pending = false
	} else {
		w.B = append(w.B, '<', '/')
		w.B = append(w.B, local...)
		w.B = append(w.B, '>')
	}
	w.unbind(f.bindings)
	w.frames = w.frames[:n-1]
	return nil
}

func (w *Writer) start(s *xml.StartElement) error {
	if !IsName(s.Name.Local) {
		return w.fail(fmt.Errorf("xmlenc: invalid element name %q", s.Name.Local))
	}
	parent, undeclared := w.Default, false
	if n := len(w.frames); n > 0 {
		parent, undeclared = w.frames[n-1].ns, w.frames[n-1].undeclared
	}
	def, hasDef := "", false
	for _, a := range s.Attr {
		if a.Name.Space == "" && a.Name.Local == xmlnsSpace {
			def, hasDef = a.Value, true
			break
		}
	}
	if hasDef {
		undeclared = def == ""
	}
	ns := s.Name.Space
	switch {
	case ns != "":
	case hasDef:
		ns = def
	case !undeclared:
		ns = parent
	}
	if err := w.checkDuplicates(s.Attr); err != nil {
		return w.fail(err)
	}
	w.closeTag()
	w.B = append(w.B, '<')
	w.B = append(w.B, s.Name.Local...)
	var err error
	if len(w.frames) == 0 || ns != parent {
		if w.B, err = AppendAttr(w.B, "xmlns", ns); err != nil {
			return w.fail(err)
		}
	}
	w.frames = append(w.frames, frame{local: s.Name.Local, ns: ns, bindings: len(w.bindings), undeclared: undeclared})
	w.pending = true
	// Declarations come first: the element's own, then those of the
	// prefixes made up for its attributes, then the other attributes.
	// Choosing prefixes only once every declaration of the element is in
	// scope means that a made-up prefix never collides with one the
	// element declares, and that an attribute never takes a prefix the
	// element rebinds. Writing the made-up declarations before any other
	// attribute means that reading the output back and writing it again
	// gives the same bytes.
	foreign := false
	for _, a := range s.Attr {
		switch {
		case a.Name.Space == xmlnsSpace:
			if err := w.declare(a); err != nil {
				return w.fail(err)
			}
		case isForeign(a.Name.Space):
			foreign = true
		}
	}
	if foreign {
		if err := w.declareMissing(s.Attr); err != nil {
			return w.fail(err)
		}
	}
	for _, a := range s.Attr {
		if err := w.attr(a); err != nil {
			return w.fail(err)
		}
	}
	return nil
}

// declareMissing declares a made-up prefix for each namespace of attrs
// that has no prefix in force.
func (w *Writer) declareMissing(attrs []xml.Attr) error {
	for _, a := range attrs {
		if !isForeign(a.Name.Space) || w.prefixFor(a.Name.Space) != "" {
			continue
		}
		prefix := w.newPrefix()
		var err error
		if w.B, err = appendPrefixedAttr(w.B, xmlnsSpace, prefix, a.Name.Space); err != nil {
			return err
		}
		w.bind(prefix, a.Name.Space)
	}
	return nil
}

// attrKey is the name by which attributes are compared: "xml" and its
// namespace URI are one namespace, written with one prefix.
func attrKey(n xml.Name) xml.Name {
	if n.Space == "xml" {
		n.Space = ns.XML
	}
	return n
}

// checkDuplicates refuses an element that carries an attribute twice:
// pairwise up to scanMax attributes, with a map past that.
func (w *Writer) checkDuplicates(attrs []xml.Attr) error {
	if len(attrs) <= scanMax {
		for i := 1; i < len(attrs); i++ {
			ki := attrKey(attrs[i].Name)
			for j := 0; j < i; j++ {
				if ki == attrKey(attrs[j].Name) {
					return duplicate(ki)
				}
			}
		}
		w.steps += len(attrs) * (len(attrs) - 1) / 2
		return nil
	}
	seen := make(map[xml.Name]struct{}, len(attrs))
	for _, a := range attrs {
		k := attrKey(a.Name)
		if _, dup := seen[k]; dup {
			return duplicate(k)
		}
		seen[k] = struct{}{}
	}
	w.steps += len(attrs)
	return nil
}

func duplicate(n xml.Name) error {
	if n.Space == "" {
		return fmt.Errorf("xmlenc: duplicate attribute %q", n.Local)
	}
	return fmt.Errorf("xmlenc: duplicate attribute %q in namespace %q", n.Local, n.Space)
}

// isForeign reports whether an attribute in namespace space needs a
// prefix bound by a declaration: not in no namespace, not a declaration,
// not xml.
func isForeign(space string) bool {
	switch space {
	case "", xmlnsSpace, "xml", ns.XML:
		return false
	}
	return true
}

// declare writes a namespace declaration of the element and binds its
// prefix.
func (w *Writer) declare(a xml.Attr) error {
	if a.Name.Local == "xml" && a.Value == ns.XML {
		return nil
	}
	if !IsName(a.Name.Local) || a.Name.Local == "xml" || a.Name.Local == xmlnsSpace || a.Value == "" {
		return fmt.Errorf("xmlenc: invalid namespace declaration xmlns:%s=%q", a.Name.Local, a.Value)
	}
	var err error
	w.B, err = appendPrefixedAttr(w.B, xmlnsSpace, a.Name.Local, a.Value)
	w.bind(a.Name.Local, a.Value)
	return err
}

// attr writes an attribute other than a namespace declaration; the
// prefix of its namespace is bound already.
func (w *Writer) attr(a xml.Attr) error {
	prefix := ""
	switch sp := a.Name.Space; {
	case sp == xmlnsSpace, sp == "" && a.Name.Local == xmlnsSpace:
		return nil // written already
	case sp == "xml", sp == ns.XML:
		prefix = "xml"
	case sp != "":
		prefix = w.prefixFor(sp)
	}
	if !IsName(a.Name.Local) {
		return fmt.Errorf("xmlenc: invalid attribute name %q", a.Name.Local)
	}
	var err error
	if prefix == "" {
		w.B, err = AppendAttr(w.B, a.Name.Local, a.Value)
		return err
	}
	w.B, err = appendPrefixedAttr(w.B, prefix, a.Name.Local, a.Value)
	return err
}

// bind puts prefix, bound to uri, in scope.
func (w *Writer) bind(prefix, uri string) {
	if w.byPrefix == nil && len(w.bindings) == scanMax {
		w.buildIndex()
	}
	b := binding{prefix: prefix, uri: uri, prevPrefix: -1, prevURI: -1}
	if w.byPrefix != nil {
		b.prevPrefix, b.prevURI = indexed(w.byPrefix, prefix), indexed(w.byURI, uri)
		w.byPrefix[prefix] = len(w.bindings)
		w.byURI[uri] = len(w.bindings)
		w.steps++
	}
	w.bindings = append(w.bindings, b)
}

// buildIndex indexes the bindings in scope.
func (w *Writer) buildIndex() {
	w.byPrefix = make(map[string]int, 2*scanMax)
	w.byURI = make(map[string]int, 2*scanMax)
	for i := range w.bindings {
		b := &w.bindings[i]
		b.prevPrefix, b.prevURI = indexed(w.byPrefix, b.prefix), indexed(w.byURI, b.uri)
		w.byPrefix[b.prefix] = i
		w.byURI[b.uri] = i
	}
	w.steps += len(w.bindings)
}

// unbind takes the bindings from mark on out of scope.
func (w *Writer) unbind(mark int) {
	if w.byPrefix != nil {
		for i := len(w.bindings) - 1; i >= mark; i-- {
			b := &w.bindings[i]
			restore(w.byPrefix, b.prefix, b.prevPrefix)
			restore(w.byURI, b.uri, b.prevURI)
		}
		w.steps += len(w.bindings) - mark
	}
	w.bindings = w.bindings[:mark]
}

func indexed(m map[string]int, k string) int {
	if i, ok := m[k]; ok {
		return i
	}
	return -1
}

func restore(m map[string]int, k string, i int) {
	if i < 0 {
		delete(m, k)
	} else {
		m[k] = i
	}
}

// inForce returns the index of the binding in force for prefix, or -1.
func (w *Writer) inForce(prefix string) int {
	if w.byPrefix != nil {
		w.steps++
		return indexed(w.byPrefix, prefix)
	}
	for i := len(w.bindings) - 1; i >= 0; i-- {
		w.steps++
		if w.bindings[i].prefix == prefix {
			return i
		}
	}
	return -1
}

// prefixFor returns the prefix of the latest binding of uri if that
// binding is still in force, or "": then the caller binds a new prefix.
// An older binding of uri that is still in force is not looked for,
// which would cost a scan per attribute; the output declares one prefix
// more in that case, and means the same.
func (w *Writer) prefixFor(uri string) string {
	i := -1
	if w.byURI != nil {
		w.steps++
		i = indexed(w.byURI, uri)
	} else {
		for j := len(w.bindings) - 1; j >= 0; j-- {
			w.steps++
			if w.bindings[j].uri == uri {
				i = j
				break
			}
		}
	}
	if i < 0 || w.inForce(w.bindings[i].prefix) != i {
		return ""
	}
	return w.bindings[i].prefix
}

// newPrefix returns a prefix of the form nsN that is not in scope. N only
// grows, so over a document the candidates tried are at most the prefixes
// made plus the nsN prefixes the input declares.
func (w *Writer) newPrefix() string {
	for {
		w.seq++
		p := "ns" + strconv.Itoa(w.seq)
		if w.inForce(p) < 0 {
			return p
		}
	}
}

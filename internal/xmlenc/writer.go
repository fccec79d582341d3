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
}

type binding struct{ prefix, uri string }

// Writer is an xmlstream.TokenWriter that appends XML to B.
//
// Names are read the way encoding/xml's Decoder.Token reports them:
// Name.Space is a namespace URI. An element whose Name.Space is empty takes
// the namespace of an xmlns attribute it carries, or else inherits its
// parent's (encoding/xml's Encoder convention). The output declares what it
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
	seq      int
	pending  bool // a start tag is open, waiting for '>' or '/>'
	err      error
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
	w.bindings = w.bindings[:f.bindings]
	w.frames = w.frames[:n-1]
	return nil
}

func (w *Writer) start(s *xml.StartElement) error {
	if !IsName(s.Name.Local) {
		return w.fail(fmt.Errorf("xmlenc: invalid element name %q", s.Name.Local))
	}
	parent := w.Default
	if n := len(w.frames); n > 0 {
		parent = w.frames[n-1].ns
	}
	ns := s.Name.Space
	if ns == "" {
		ns = parent
		for _, a := range s.Attr {
			if a.Name.Space == "" && a.Name.Local == xmlnsSpace {
				ns = a.Value
				break
			}
		}
	}
	if err := checkDuplicates(s.Attr); err != nil {
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
	mark := len(w.bindings)
	w.frames = append(w.frames, frame{local: s.Name.Local, ns: ns, bindings: mark})
	w.pending = true
	for _, a := range s.Attr {
		if err := w.attr(a); err != nil {
			return w.fail(err)
		}
	}
	return nil
}

func checkDuplicates(attrs []xml.Attr) error {
	for i := 1; i < len(attrs); i++ {
		for j := 0; j < i; j++ {
			if attrs[i].Name == attrs[j].Name {
				return fmt.Errorf("xmlenc: duplicate attribute %q", attrs[i].Name.Local)
			}
		}
	}
	return nil
}

func (w *Writer) attr(a xml.Attr) error {
	var err error
	switch sp := a.Name.Space; {
	case sp == "" && a.Name.Local == xmlnsSpace:
		return nil // the element's namespace, written already
	case sp == xmlnsSpace:
		if a.Name.Local == "xml" && a.Value == ns.XML {
			return nil
		}
		if !IsName(a.Name.Local) || a.Name.Local == "xml" || a.Name.Local == xmlnsSpace || a.Value == "" {
			return fmt.Errorf("xmlenc: invalid namespace declaration xmlns:%s=%q", a.Name.Local, a.Value)
		}
		w.B, err = appendPrefixedAttr(w.B, xmlnsSpace, a.Name.Local, a.Value)
		w.bindings = append(w.bindings, binding{a.Name.Local, a.Value})
		return err
	}
	if !IsName(a.Name.Local) {
		return fmt.Errorf("xmlenc: invalid attribute name %q", a.Name.Local)
	}
	prefix := ""
	switch sp := a.Name.Space; sp {
	case "":
	case "xml", ns.XML:
		prefix = "xml"
	default:
		prefix = w.prefixFor(sp)
		if prefix == "" {
			prefix = w.newPrefix()
			w.B, err = appendPrefixedAttr(w.B, xmlnsSpace, prefix, sp)
			if err != nil {
				return err
			}
			w.bindings = append(w.bindings, binding{prefix, sp})
		}
	}
	if prefix == "" {
		w.B, err = AppendAttr(w.B, a.Name.Local, a.Value)
		return err
	}
	w.B, err = appendPrefixedAttr(w.B, prefix, a.Name.Local, a.Value)
	return err
}

// prefixFor returns a prefix bound to uri in scope, or "".
func (w *Writer) prefixFor(uri string) string {
	for i := len(w.bindings) - 1; i >= 0; i-- {
		b := w.bindings[i]
		if b.uri != uri {
			continue
		}
		shadowed := false
		for _, later := range w.bindings[i+1:] {
			if later.prefix == b.prefix {
				shadowed = true
				break
			}
		}
		if !shadowed {
			return b.prefix
		}
	}
	return ""
}

func (w *Writer) newPrefix() string {
	for {
		w.seq++
		p := "ns" + strconv.Itoa(w.seq)
		used := false
		for _, b := range w.bindings {
			if b.prefix == p {
				used = true
				break
			}
		}
		if !used {
			return p
		}
	}
}

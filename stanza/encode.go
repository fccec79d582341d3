package stanza

import (
	"encoding/xml"
	"errors"
	"fmt"
	"sync"

	"mellium.im/xmlstream"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/xmlenc"
)

// out is the seam between the stanza structs and the two encodings: each
// struct describes itself once through out, and byteOut, tokenOut and
// checkOut turn that into bytes, tokens or validation. Errors are sticky.
type out interface {
	open(ns, local string)
	attr(name, value string) // an unprefixed attribute; name is a constant
	lang(value string)       // xml:lang
	text(s string)
	end(ns, local string)
	payload(p Payload)
	error() error
}

// textElem writes <local xml:lang=lang>value</local>.
func textElem(o out, ns, local, lang, value string) {
	o.open(ns, local)
	if lang != "" {
		o.lang(lang)
	}
	o.text(value)
	o.end(ns, local)
}

// byteOut appends XML for a stream whose default namespace is NS. Elements
// in NSStream are written with the prefix "stream".
type byteOut struct {
	b       []byte
	err     error
	ns      [8]string
	depth   int
	tagOpen bool
}

func (o *byteOut) error() error { return o.err }

func (o *byteOut) closeTag() {
	if o.tagOpen {
		o.b = append(o.b, '>')
		o.tagOpen = false
	}
}

func (o *byteOut) parent() string {
	if o.depth == 0 {
		return NS
	}
	return o.ns[o.depth-1]
}

func (o *byteOut) open(ns, local string) {
	if o.err != nil {
		return
	}
	if o.depth == len(o.ns) {
		o.err = fmt.Errorf("stanza: encoding too deep at <%s>", local)
		return
	}
	o.closeTag()
	o.b = append(o.b, '<')
	if ns == NSStream {
		o.b = append(o.b, "stream:"...)
		o.b = append(o.b, local...)
	} else {
		o.b = append(o.b, local...)
		if ns != o.parent() {
			o.attr("xmlns", ns)
		}
	}
	o.ns[o.depth] = ns
	o.depth++
	o.tagOpen = true
}

func (o *byteOut) attr(name, value string) {
	if o.err == nil {
		var err error
		if o.b, err = xmlenc.AppendAttr(o.b, name, value); err != nil {
			o.err = fmt.Errorf("stanza: attribute %s: %w", name, err)
		}
	}
}

func (o *byteOut) lang(value string) { o.attr("xml:lang", value) }

func (o *byteOut) text(s string) {
	if o.err != nil || s == "" {
		return
	}
	o.closeTag()
	var err error
	if o.b, err = xmlenc.AppendText(o.b, s); err != nil {
		o.err = fmt.Errorf("stanza: text: %w", err)
	}
}

func (o *byteOut) end(ns, local string) {
	if o.err != nil {
		return
	}
	o.depth--
	if o.tagOpen {
		o.b = append(o.b, '/', '>')
		o.tagOpen = false
		return
	}
	o.b = append(o.b, '<', '/')
	if ns == NSStream {
		o.b = append(o.b, "stream:"...)
	}
	o.b = append(o.b, local...)
	o.b = append(o.b, '>')
}

func (o *byteOut) payload(p Payload) {
	if o.err != nil {
		return
	}
	o.closeTag()
	if a, ok := p.(Appender); ok {
		o.b, o.err = a.AppendXML(o.b)
		return
	}
	w := xmlenc.Writer{B: o.b, Default: o.parent()}
	if _, err := p.WriteXML(&w); err != nil {
		o.err = fmt.Errorf("stanza: writing payload: %w", err)
		return
	}
	if err := w.Close(); err != nil {
		o.err = fmt.Errorf("stanza: writing payload: %w", err)
		return
	}
	o.b = w.B
}

// encoder is a value that describes itself through out.
type encoder interface{ encode(out) }

// byteOuts recycles byteOut values, which would otherwise escape to the
// heap on every AppendXML.
var byteOuts = sync.Pool{New: func() any { return new(byteOut) }}

// appendWith encodes e on a byteOut over b and returns b unchanged on
// error.
func appendWith(b []byte, e encoder) ([]byte, error) {
	o := byteOuts.Get().(*byteOut)
	*o = byteOut{b: b}
	e.encode(o)
	out, err := o.b, o.err
	*o = byteOut{}
	byteOuts.Put(o)
	if err != nil {
		return b, err
	}
	return out, nil
}

// checkOut only validates text and attribute values, so that WriteXML can
// refuse a stanza before writing any of its tokens. Payloads are checked
// as they are written, by checkedWriter.
type checkOut struct{ err error }

func (o *checkOut) error() error      { return o.err }
func (o *checkOut) open(_, _ string)  {}
func (o *checkOut) end(_, _ string)   {}
func (o *checkOut) payload(Payload)   {}
func (o *checkOut) lang(value string) { o.check(value) }
func (o *checkOut) attr(_, v string)  { o.check(v) }
func (o *checkOut) text(s string)     { o.check(s) }
func (o *checkOut) check(s string) {
	if o.err == nil {
		o.err = xmlenc.Valid(s)
	}
}

// tokenOut writes tokens whose names carry their namespace URIs.
type tokenOut struct {
	w       xmlstream.TokenWriter
	n       int
	err     error
	start   xml.StartElement
	pending bool
}

func (o *tokenOut) error() error { return o.err }

func (o *tokenOut) emit(t xml.Token) {
	if o.err != nil {
		return
	}
	if o.err = o.w.EncodeToken(t); o.err == nil {
		o.n++
	}
}

func (o *tokenOut) flush() {
	if o.pending {
		o.pending = false
		o.emit(o.start)
	}
}

func (o *tokenOut) open(ns, local string) {
	o.flush()
	o.start = xml.StartElement{Name: xml.Name{Space: ns, Local: local}}
	o.pending = true
}

func (o *tokenOut) attr(name, value string) {
	o.start.Attr = append(o.start.Attr, xml.Attr{Name: xml.Name{Local: name}, Value: value})
}

func (o *tokenOut) lang(value string) {
	o.start.Attr = append(o.start.Attr, xml.Attr{Name: xml.Name{Space: ns.XML, Local: "lang"}, Value: value})
}

func (o *tokenOut) text(s string) {
	o.flush()
	if s != "" {
		o.emit(xml.CharData(s))
	}
}

func (o *tokenOut) end(ns, local string) {
	o.flush()
	o.emit(xml.EndElement{Name: xml.Name{Space: ns, Local: local}})
}

func (o *tokenOut) payload(p Payload) {
	o.flush()
	if o.err != nil {
		return
	}
	c := checkedWriter{w: o.w}
	n, err := p.WriteXML(&c)
	o.n += n
	if err == nil && c.depth != 0 {
		err = errors.New("payload left an element open")
	}
	if err != nil {
		o.err = fmt.Errorf("stanza: writing payload: %w", err)
	}
}

// writeWith validates e, then writes it as tokens.
func writeWith(w xmlstream.TokenWriter, e encoder) (int, error) {
	var c checkOut
	e.encode(&c)
	if c.err != nil {
		return 0, c.err
	}
	o := tokenOut{w: w}
	e.encode(&o)
	return o.n, o.err
}

// checkedWriter refuses tokens a payload writes when they carry names or
// characters XML cannot represent, or would close an element the payload
// did not open, before they reach the real writer.
type checkedWriter struct {
	w     xmlstream.TokenWriter
	depth int
}

func (c *checkedWriter) EncodeToken(t xml.Token) error {
	switch t := t.(type) {
	case xml.StartElement:
		if err := checkStart(&t); err != nil {
			return err
		}
		c.depth++
	case *xml.StartElement:
		if err := checkStart(t); err != nil {
			return err
		}
		c.depth++
	case xml.EndElement, *xml.EndElement:
		if c.depth == 0 {
			return errors.New("stanza: payload closes an element it did not open")
		}
		c.depth--
	case xml.CharData:
		if err := xmlenc.Valid(string(t)); err != nil {
			return fmt.Errorf("stanza: text: %w", err)
		}
	case *xml.CharData:
		if err := xmlenc.Valid(string(*t)); err != nil {
			return fmt.Errorf("stanza: text: %w", err)
		}
	case xml.ProcInst, *xml.ProcInst, xml.Directive, *xml.Directive:
		return fmt.Errorf("stanza: %T not allowed in a stanza", t)
	}
	return c.w.EncodeToken(t)
}

func checkStart(s *xml.StartElement) error {
	if !xmlenc.IsName(s.Name.Local) {
		return fmt.Errorf("stanza: invalid element name %q", s.Name.Local)
	}
	if err := xmlenc.Valid(s.Name.Space); err != nil {
		return fmt.Errorf("stanza: namespace: %w", err)
	}
	for _, a := range s.Attr {
		if !xmlenc.IsName(a.Name.Local) {
			return fmt.Errorf("stanza: invalid attribute name %q", a.Name.Local)
		}
		if err := xmlenc.Valid(a.Value); err != nil {
			return fmt.Errorf("stanza: attribute %s: %w", a.Name.Local, err)
		}
	}
	return nil
}

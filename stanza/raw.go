package stanza

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"mellium.im/xmlstream"

	"github.com/parleyim/parley/internal/xmlenc"
)

// Raw is an XML element that the stanza structs do not model, kept
// whole: a received extension, an iq payload, the application-specific
// condition of an error. Its representation is private and may change;
// read it with Name, TokenReader and Decode, send it with WriteXML or
// AppendXML.
//
// A Raw is self-contained: it declares every namespace it uses, so it means
// the same wherever it is written. A Raw received on a stream keeps the
// element's bytes as they came, with the declarations it inherits from
// its ancestors added to its start tag: a part of its stanza's bytes
// (read once into one string, shared by everything decoded from that
// stanza), never the read buffer. A Raw read from tokens is written
// anew: comments are dropped and the prefixes of prefixed names may be
// renamed. Namespace declarations do not appear in TokenReader's tokens
// (so prefixes quoted in attribute values or text are not resolvable
// from tokens).
//
// A Raw is immutable once built and safe for concurrent use.
type Raw struct {
	name xml.Name
	// data is one element: serialised by xmlenc.Writer, or as received
	// (tree.go), then with the declarations it inherits added.
	data     string
	received bool
}

// Name returns the element's name; Space is the namespace URI.
func (r *Raw) Name() xml.Name { return r.name }

// String returns the element as XML.
func (r *Raw) String() string { return r.data }

// TokenReader returns a reader of the element's tokens, from its start
// element through its end element, then io.EOF. Names carry namespace
// URIs as with encoding/xml's Decoder.Token; namespace declarations
// (xmlns attributes) are left out, except xmlns=” on an element in no
// namespace.
func (r *Raw) TokenReader() xml.TokenReader {
	return &rawReader{d: xml.NewDecoder(strings.NewReader(r.data))}
}

// Attr returns the value of the element's attribute named local in no
// namespace, or "" if it has none.
func (r *Raw) Attr(local string) string {
	if r.received && local != "xmlns" {
		return wireAttr(r.data, local)
	}
	if v, ok := scanAttr(r.data, local); ok {
		return v
	}
	return decodeAttr(r.data, local)
}

// decodeAttr is Attr read with encoding/xml, for a start tag that
// scanAttr does not take on.
func decodeAttr(data, local string) string {
	rr := &rawReader{d: xml.NewDecoder(strings.NewReader(data))}
	tok, err := rr.Token()
	if err != nil {
		return ""
	}
	start, _ := tok.(xml.StartElement)
	for _, a := range start.Attr {
		if a.Name.Space == "" && a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// Text returns the character data of the element and its descendants,
// concatenated in document order.
func (r *Raw) Text() string {
	var b strings.Builder
	tr := r.TokenReader()
	for {
		tok, err := tr.Token()
		if err != nil {
			return b.String()
		}
		if cd, ok := tok.(xml.CharData); ok {
			b.Write(cd)
		}
	}
}

// Decode decodes the element into v with encoding/xml, as
// xml.NewTokenDecoder(r.TokenReader()).Decode(v) does.
func (r *Raw) Decode(v any) error {
	if err := xml.NewTokenDecoder(r.TokenReader()).Decode(v); err != nil {
		return fmt.Errorf("stanza: decoding <%s xmlns='%s'>: %w", r.name.Local, r.name.Space, err)
	}
	return nil
}

// WriteXML writes the element's tokens to w, a mellium.im/xmlstream
// TokenWriter.
func (r *Raw) WriteXML(w xmlstream.TokenWriter) (int, error) {
	tr := r.TokenReader()
	n := 0
	for {
		t, err := tr.Token()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("stanza: reading raw element: %w", err)
		}
		if err := w.EncodeToken(t); err != nil {
			return n, err
		}
		n++
	}
}

// AppendXML appends the element as XML.
func (r *Raw) AppendXML(b []byte) ([]byte, error) {
	return append(b, r.data...), nil
}

// rawReader tokenises a Raw's bytes and leaves out namespace declarations.
type rawReader struct{ d *xml.Decoder }

func (rr *rawReader) Token() (xml.Token, error) {
	for {
		t, err := rr.d.Token()
		if err != nil {
			return nil, err
		}
		switch tt := t.(type) {
		case xml.StartElement:
			attrs := tt.Attr[:0:0]
			for _, a := range tt.Attr {
				// A declaration is dropped, except xmlns='' on an element
				// in no namespace, which encoding/xml's Encoder would
				// otherwise put in its parent's namespace.
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns" && tt.Name.Space != "") {
					continue
				}
				attrs = append(attrs, a)
			}
			tt.Attr = attrs
			return tt, nil
		case xml.CharData, xml.EndElement:
			return t, nil
		}
	}
}

// ReadRaw reads the element whose start element start has just been read
// from r, through its end element, and keeps it as a Raw. Names in start
// and in the tokens are read as encoding/xml's Decoder.Token reports them;
// a start element with an empty Name.Space and no xmlns attribute is in
// the parent's namespace, and for start that is NS. Depth is followed
// iteratively, never by recursion.
//
// When the element cannot be kept (an invalid name or character, a
// processing instruction) ReadRaw still reads through its end, so r stays
// in step, and returns the error.
func ReadRaw(r xml.TokenReader, start xml.StartElement) (*Raw, error) {
	raw, bad, err := readRaw(r, &start)
	if err != nil {
		return nil, fmt.Errorf("stanza: reading: %w", err)
	}
	if bad != nil {
		return nil, bad
	}
	return raw, nil
}

// readRaw returns a reading error in err; a content error (the element is
// read but cannot be kept) in bad.
func readRaw(r xml.TokenReader, start *xml.StartElement) (raw *Raw, bad, err error) {
	w := rawWriters.Get().(*xmlenc.Writer)
	w.Reset(NS)
	defer func() {
		if cap(w.B) <= maxPooledRaw {
			rawWriters.Put(w)
		}
	}()
	name := start.Name
	if name.Space == "" {
		name.Space = NS
		for _, a := range start.Attr {
			if a.Name.Space == "" && a.Name.Local == "xmlns" {
				name.Space = a.Value
			}
		}
	}
	bad = w.EncodeToken(*start)
	for depth := 1; depth > 0; {
		t, rerr := r.Token()
		if rerr != nil {
			if rerr == io.EOF {
				rerr = io.ErrUnexpectedEOF
			}
			return nil, nil, rerr
		}
		switch t.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
		if bad == nil {
			bad = w.EncodeToken(t)
		}
	}
	if bad == nil {
		bad = w.Close()
	}
	if bad != nil {
		return nil, fmt.Errorf("stanza: element <%s>: %w", start.Name.Local, bad), nil
	}
	return &Raw{name: name, data: string(w.B)}, nil, nil
}

// rawWriters recycles the scratch writers of readRaw; a Raw keeps an
// exact-size copy of the bytes, as a string.
var rawWriters = sync.Pool{New: func() any { return new(xmlenc.Writer) }}

// maxPooledRaw bounds the buffer a pooled writer may keep.
const maxPooledRaw = 64 << 10

// ParseRaw parses data, which must hold exactly one element (surrounding
// whitespace allowed), into a Raw. An element without a namespace
// declaration is in NS.
func ParseRaw(data []byte) (*Raw, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	var raw *Raw
	for {
		t, err := d.Token()
		if err == io.EOF {
			if raw == nil {
				return nil, errors.New("stanza: no element to parse")
			}
			return raw, nil
		}
		if err != nil {
			return nil, fmt.Errorf("stanza: parsing raw element: %w", err)
		}
		switch t := t.(type) {
		case xml.StartElement:
			if raw != nil {
				return nil, errors.New("stanza: more than one element to parse")
			}
			if raw, err = ReadRaw(d, t); err != nil {
				return nil, err
			}
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return nil, errors.New("stanza: text outside the element to parse")
			}
		case xml.Comment:
		default:
			return nil, fmt.Errorf("stanza: unexpected %T outside the element to parse", t)
		}
	}
}

// Marshal encodes v with encoding/xml (xml.Marshal) and returns the
// element as a Raw, ready to send as a Payload. v must marshal to exactly
// one element; give it an XMLName with a namespace.
func Marshal(v any) (*Raw, error) {
	data, err := xml.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("stanza: marshalling %T: %w", v, err)
	}
	return ParseRaw(data)
}

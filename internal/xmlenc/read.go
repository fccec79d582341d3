package xmlenc

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
)

// The reading side of the payload packages: what each needs to read an
// element it received (as a stanza.Raw's tokens), so that disco, roster
// and im do not each keep a copy. Errors are plain; each package wraps
// them with its own name.

// ErrNoStart is returned by Start when the first token is not a start
// element.
var ErrNoStart = errors.New("element does not begin with a start tag")

// Start reads the first token of tr, which must be a start element, and
// returns it as read (a caller that keeps it past further reads of a
// reader that may reuse its tokens copies it).
func Start(tr xml.TokenReader) (xml.StartElement, error) {
	tok, err := tr.Token()
	if err != nil {
		return xml.StartElement{}, NoEOF(err)
	}
	start, ok := tok.(xml.StartElement)
	if !ok {
		return xml.StartElement{}, ErrNoStart
	}
	return start, nil
}

// Attr returns the value of the attribute named local in no namespace,
// and whether start has it.
func Attr(start xml.StartElement, local string) (string, bool) {
	for _, a := range start.Attr {
		if a.Name.Space == "" && a.Name.Local == local {
			return a.Value, true
		}
	}
	return "", false
}

// Text returns the character data inside the element whose start was just
// read from tr (its children's text included) and reads through its end.
// An input that ends first is io.ErrUnexpectedEOF.
func Text(tr xml.TokenReader) (string, error) {
	var b strings.Builder
	for depth := 1; depth > 0; {
		tok, err := tr.Token()
		if err != nil {
			return "", NoEOF(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			b.Write(t)
		}
	}
	return b.String(), nil
}

// EachChild calls fn for each child element of the element whose start
// was just read from tr, in order, and reads through that element's end.
// fn gets a copy of the child's start element and must read the child
// through its end (xmlstream.Skip does, for a child it does not want).
// Character data between children is passed over. An error from fn stops
// the walk and is returned as it is; an error reading tr is returned as
// read, except that io.EOF becomes io.ErrUnexpectedEOF (NoEOF).
func EachChild(tr xml.TokenReader, fn func(xml.StartElement) error) error {
	for {
		tok, err := tr.Token()
		if err != nil {
			return NoEOF(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := fn(t.Copy()); err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		}
	}
}

// NoEOF turns io.EOF into io.ErrUnexpectedEOF: inside an element, the end
// of the input is always unexpected.
func NoEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

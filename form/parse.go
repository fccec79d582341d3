package form

import (
	"encoding/xml"
	"errors"
	"fmt"

	"mellium.im/xmlstream"

	"github.com/parleyim/parley/internal/xmlenc"
	"github.com/parleyim/parley/stanza"
)

// ErrMalformed is wrapped by the errors of Parse and Read: the element is
// not a data form, or its XML ends early.
var ErrMalformed = errors.New("form: malformed data form")

// Parse reads a received <x xmlns='jabber:x:data'/> element.
func Parse(r *stanza.Raw) (Form, error) {
	if r == nil {
		return Form{}, fmt.Errorf("%w: no element", ErrMalformed)
	}
	if r.Name() != (xml.Name{Space: NS, Local: "x"}) {
		return Form{}, fmt.Errorf("%w: got <%s xmlns='%s'>", ErrMalformed, r.Name().Local, r.Name().Space)
	}
	tr := r.TokenReader()
	start, err := xmlenc.Start(tr)
	if err != nil {
		return Form{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return Read(tr, start.Copy())
}

// Read reads a data form from tr, whose start element (an
// <x xmlns='jabber:x:data'/>) was just read, through its end element;
// it is for packages that meet a form inside their own payload. Read is
// lenient where a reader can be: unknown children are skipped, unknown
// form and field types are kept as given, and so are fields without a
// var, values of fixed fields and several values of a single-valued
// field (what to do with those is the caller's to decide). Only XML that
// ends early or cannot be read is an error, and a start element that is
// not a data form.
func Read(tr xml.TokenReader, start xml.StartElement) (Form, error) {
	if start.Name != (xml.Name{Space: NS, Local: "x"}) {
		return Form{}, fmt.Errorf("%w: got <%s xmlns='%s'>", ErrMalformed, start.Name.Local, start.Name.Space)
	}
	t, _ := xmlenc.Attr(start, "type")
	f := Form{Type: Type(t)}
	err := xmlenc.EachChild(tr, func(child xml.StartElement) error {
		if child.Name.Space != NS {
			return xmlstream.Skip(tr)
		}
		switch child.Name.Local {
		case "title":
			s, err := xmlenc.Text(tr)
			f.Title = s
			return err
		case "instructions":
			s, err := xmlenc.Text(tr)
			f.Instructions = append(f.Instructions, s)
			return err
		case "field":
			fd, err := readField(tr, child)
			f.Fields = append(f.Fields, fd)
			return err
		case "reported":
			fs, err := readFields(tr)
			f.Reported = append(f.Reported, fs...)
			return err
		case "item":
			fs, err := readFields(tr)
			f.Items = append(f.Items, Item{Fields: fs})
			return err
		}
		return xmlstream.Skip(tr)
	})
	if err != nil {
		return Form{}, fmt.Errorf("%w: %w", ErrMalformed, xmlenc.NoEOF(err))
	}
	return f, nil
}

// readFields reads the <field/> children of a <reported/> or <item/>.
// It and readField return the errors of reading as they are; Read wraps
// them.
func readFields(tr xml.TokenReader) ([]Field, error) {
	var out []Field
	err := xmlenc.EachChild(tr, func(child xml.StartElement) error {
		if child.Name != (xml.Name{Space: NS, Local: "field"}) {
			return xmlstream.Skip(tr)
		}
		fd, err := readField(tr, child)
		out = append(out, fd)
		return err
	})
	return out, err
}

// readField reads a <field/> whose start was just read.
func readField(tr xml.TokenReader, start xml.StartElement) (Field, error) {
	fd := Field{Var: attr(start, "var"), Type: FieldType(attr(start, "type")), Label: attr(start, "label")}
	err := xmlenc.EachChild(tr, func(child xml.StartElement) error {
		if child.Name.Space != NS {
			return xmlstream.Skip(tr)
		}
		switch child.Name.Local {
		case "value":
			v, err := xmlenc.Text(tr)
			fd.Values = append(fd.Values, v)
			return err
		case "desc":
			v, err := xmlenc.Text(tr)
			fd.Desc = v
			return err
		case "required":
			fd.Required = true
			return xmlstream.Skip(tr)
		case "option":
			o := Option{Label: attr(child, "label")}
			err := xmlenc.EachChild(tr, func(c xml.StartElement) error {
				if c.Name != (xml.Name{Space: NS, Local: "value"}) {
					return xmlstream.Skip(tr)
				}
				v, err := xmlenc.Text(tr)
				o.Value = v
				return err
			})
			fd.Options = append(fd.Options, o)
			return err
		}
		return xmlstream.Skip(tr)
	})
	return fd, err
}

func attr(start xml.StartElement, name string) string {
	v, _ := xmlenc.Attr(start, name)
	return v
}

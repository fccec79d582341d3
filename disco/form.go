package disco

import (
	"encoding/xml"
	"slices"

	"github.com/parleyim/parley/internal/xmlenc"
)

// Form is a XEP-0004 data form as used for extended service discovery
// information (XEP-0128): a form of type "result" whose hidden FORM_TYPE
// field names the kind of information and whose other fields carry it.
// Type is the form's type attribute; "" is written as "result".
//
// Only fields are kept: the <title/>, <instructions/>, <reported/> and
// <item/> of a form are skipped when decoding. A Form is a plain value.
type Form struct {
	Type   string
	Fields []Field
}

// Field is one field of a Form: its var, its type (XEP-0004 §3.3; "" means
// none written) and its values in document order.
type Field struct {
	Var    string
	Type   string
	Values []string
}

// FormTypeVar is the var of the field that names a form's type.
const FormTypeVar = "FORM_TYPE"

// NewForm returns a result form with a hidden FORM_TYPE field whose value
// is formType, followed by fields.
func NewForm(formType string, fields ...Field) Form {
	all := make([]Field, 0, len(fields)+1)
	all = append(all, Field{Var: FormTypeVar, Type: "hidden", Values: []string{formType}})
	return Form{Type: "result", Fields: append(all, fields...)}
}

// FormType returns the value of the form's FORM_TYPE field, and false when
// the form has none, when it is not a hidden field (XEP-0068: it has no
// special meaning then) or when it has no value.
func (f Form) FormType() (string, bool) {
	for _, fd := range f.Fields {
		if fd.Var == FormTypeVar {
			if fd.Type != "hidden" || len(fd.Values) == 0 {
				return "", false
			}
			return fd.Values[0], true
		}
	}
	return "", false
}

// Field returns the first field named v.
func (f Form) Field(v string) (Field, bool) {
	for _, fd := range f.Fields {
		if fd.Var == v {
			return fd, true
		}
	}
	return Field{}, false
}

// Clone returns a deep copy of f.
func (f Form) Clone() Form {
	c := Form{Type: f.Type}
	if f.Fields != nil {
		c.Fields = make([]Field, len(f.Fields))
		for i, fd := range f.Fields {
			c.Fields[i] = Field{Var: fd.Var, Type: fd.Type, Values: slices.Clone(fd.Values)}
		}
	}
	return c
}

func (f Form) write(tw *xmlenc.Tokens) {
	typ := f.Type
	if typ == "" {
		typ = "result"
	}
	x := xml.Name{Space: NSData, Local: "x"}
	tw.Start(x, xml.Attr{Name: xml.Name{Local: "type"}, Value: typ})
	field := xml.Name{Space: NSData, Local: "field"}
	value := xml.Name{Space: NSData, Local: "value"}
	for _, fd := range f.Fields {
		attrs := xmlenc.OptAttr(nil, "var", fd.Var)
		attrs = xmlenc.OptAttr(attrs, "type", fd.Type)
		tw.Start(field, attrs...)
		for _, v := range fd.Values {
			tw.TextElement(value, v)
		}
		tw.End(field)
	}
	tw.End(x)
}

// Package form implements XEP-0004: Data Forms, the jabber:x:data
// element other protocols carry to ask a user for information and to
// return it: extended service discovery (XEP-0128), in-band registration
// (XEP-0077), group chat room configuration.
//
// A Form is a plain value: its type (form, submit, cancel or result), a
// title, instructions, fields and, in a result, the reported fields and
// the items. Parse and Read take one from the network; a Form writes
// itself (it is a stanza.Payload). Submit builds the submission of a
// received form from its defaults, and Set fills in the user's answers
// with the checks of the field's type.
//
// FORM_TYPE (XEP-0068) names the kind of a form: a hidden field whose
// value is a namespace. New puts it first; FormType reads it.
package form

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/jid"
)

// NS is the namespace of data forms.
const NS = ns.Data

// Type is the type attribute of a form (XEP-0004 §3.1).
type Type string

// The four form types.
const (
	// TypeForm asks for data: the receiver fills it in and submits it.
	TypeForm Type = "form"
	// TypeSubmit is the answer to a form.
	TypeSubmit Type = "submit"
	// TypeCancel declines to fill a form in.
	TypeCancel Type = "cancel"
	// TypeResult returns data: fields, or reported fields and items.
	TypeResult Type = "result"
)

// FieldType is the type attribute of a field (XEP-0004 §3.3). The empty
// FieldType means none was given, which reads as text-single.
type FieldType string

// The field types of XEP-0004 §3.3.
const (
	Boolean     FieldType = "boolean"
	Fixed       FieldType = "fixed"
	Hidden      FieldType = "hidden"
	JIDMulti    FieldType = "jid-multi"
	JIDSingle   FieldType = "jid-single"
	ListMulti   FieldType = "list-multi"
	ListSingle  FieldType = "list-single"
	TextMulti   FieldType = "text-multi"
	TextPrivate FieldType = "text-private"
	TextSingle  FieldType = "text-single"
)

// Multi reports whether a field of type t may carry several values
// (jid-multi, list-multi, text-multi). Every other type, and a type this
// package does not know, carries at most one.
func (t FieldType) Multi() bool {
	return t == JIDMulti || t == ListMulti || t == TextMulti
}

// TypeVar is the var of the field that names a form's kind (XEP-0068).
const TypeVar = "FORM_TYPE"

// Form is one data form. The zero value is an empty form without a type;
// a Form is a plain value, not safe to modify from several goroutines at
// once. Form implements stanza.Payload: it writes itself as
// <x xmlns='jabber:x:data'/>.
type Form struct {
	Type  Type
	Title string
	// Instructions are the form's <instructions/>, one per element, in
	// order (XEP-0004 §3.1: text lines to show the user).
	Instructions []string
	Fields       []Field
	// Reported are the column headings of a result with several items
	// (XEP-0004 §3.4): fields with var, label and type, without values.
	Reported []Field
	// Items are the rows of such a result.
	Items []Item
}

// Field is one field of a form. In a submission only Var and Values
// matter.
type Field struct {
	Var  string
	Type FieldType
	// Label is the field's human-readable name, Desc its longer
	// description (XEP-0004 §3.2).
	Label, Desc string
	// Required marks a field the form requires an answer to.
	Required bool
	// Values are the field's values in order: the default value(s) in a
	// form, the answer in a submission, the data in a result.
	Values []string
	// Options are the choices of a list-single or list-multi field.
	Options []Option
}

// Option is one choice of a list field.
type Option struct {
	Label, Value string
}

// Item is one row of a result with reported fields: a field (var and
// values) per column.
type Item struct {
	Fields []Field
}

// New returns a form of type t with a hidden FORM_TYPE field whose value
// is formType (left out when formType is ""), followed by fields.
func New(t Type, formType string, fields ...Field) Form {
	all := make([]Field, 0, len(fields)+1)
	if formType != "" {
		all = append(all, Field{Var: TypeVar, Type: Hidden, Values: []string{formType}})
	}
	return Form{Type: t, Fields: append(all, fields...)}
}

// FormType returns the value of the form's FORM_TYPE field, and false when
// the form has none, when it is not a hidden field (XEP-0068: it has no
// special meaning then) or when it has no value.
func (f Form) FormType() (string, bool) {
	fd, ok := f.Field(TypeVar)
	if !ok || fd.Type != Hidden || len(fd.Values) == 0 {
		return "", false
	}
	return fd.Values[0], true
}

// Field returns the first field whose var is v.
func (f Form) Field(v string) (Field, bool) {
	if i := f.index(v); i >= 0 {
		return f.Fields[i], true
	}
	return Field{}, false
}

// Value returns the first value of the field whose var is v, or "".
func (f Form) Value(v string) string {
	fd, _ := f.Field(v)
	return fd.Value()
}

func (f Form) index(v string) int {
	if v == "" {
		return -1
	}
	return slices.IndexFunc(f.Fields, func(fd Field) bool { return fd.Var == v })
}

// Value returns the field's first value, or "".
func (fd Field) Value() string {
	if len(fd.Values) == 0 {
		return ""
	}
	return fd.Values[0]
}

// Bool reads a boolean field's value (XEP-0004 §3.3: "1" or "true" is
// true, "0", "false" or no value is false).
func (fd Field) Bool() (bool, error) {
	switch fd.Value() {
	case "1", "true":
		return true, nil
	case "", "0", "false":
		return false, nil
	}
	return false, fmt.Errorf("form: field %q: %q is not a boolean", fd.Var, fd.Value())
}

// Value returns the first value of the item's field whose var is v, or "".
func (it Item) Value(v string) string {
	for _, fd := range it.Fields {
		if fd.Var == v {
			return fd.Value()
		}
	}
	return ""
}

// Errors of Set.
var (
	// ErrNoField means the form has no field of that var.
	ErrNoField = errors.New("form: no such field")
	// ErrValue means the values do not fit the field's type.
	ErrValue = errors.New("form: value does not fit the field")
)

// Set replaces the values of the field whose var is v. It checks what
// the field's type allows: one value at most unless the type is a multi
// type, "0", "1", "false" or "true" for a boolean, valid JIDs for the jid
// types, and nothing for a fixed field. Values of list fields are not
// checked against the options, since a form may accept others (XEP-0122).
// Errors wrap ErrNoField or ErrValue.
func (f *Form) Set(v string, values ...string) error {
	i := f.index(v)
	if i < 0 {
		return fmt.Errorf("%w: %q", ErrNoField, v)
	}
	fd := &f.Fields[i]
	if why := checkValues(fd.Type, values); why != "" {
		return fmt.Errorf("%w: field %q: %s", ErrValue, v, why)
	}
	fd.Values = slices.Clone(values)
	return nil
}

// SetBool sets a boolean field to "1" or "0".
func (f *Form) SetBool(v string, b bool) error {
	if b {
		return f.Set(v, "1")
	}
	return f.Set(v, "0")
}

func checkValues(t FieldType, values []string) string {
	switch {
	case t == Fixed:
		return "a fixed field is not answered"
	case len(values) > 1 && !t.Multi():
		return fmt.Sprintf("a %s field takes one value", typeName(t))
	}
	for _, v := range values {
		switch t {
		case Boolean:
			if v != "0" && v != "1" && v != "false" && v != "true" {
				return fmt.Sprintf("%q is not a boolean", v)
			}
		case JIDSingle, JIDMulti:
			if _, err := jid.Parse(v); err != nil {
				return fmt.Sprintf("%q is not a JID: %v", v, err)
			}
		case TextSingle, TextPrivate, ListSingle, "":
			if strings.ContainsAny(v, "\r\n") {
				return fmt.Sprintf("a %s value has no line breaks", typeName(t))
			}
		}
	}
	return ""
}

func typeName(t FieldType) string {
	if t == "" {
		return string(TextSingle)
	}
	return string(t)
}

// Missing returns the vars of the required fields that have no value.
func (f Form) Missing() []string {
	var out []string
	for _, fd := range f.Fields {
		if fd.Required && len(fd.Values) == 0 {
			out = append(out, fd.Var)
		}
	}
	return out
}

// Submit returns the submission of a received form as it stands: type
// submit, and for each field with a var other than a fixed one, its var
// type and values (the defaults the form came with, or what Set put
// there), without labels, descriptions or options (XEP-0004 §3.2). The
// type stays so that Set checks answers on the submission too, and the
// FORM_TYPE field stays hidden (XEP-0068 §3). Fill it in with Set, on
// the received form before Submit or on the submission.
func (f Form) Submit() Form {
	out := Form{Type: TypeSubmit, Fields: make([]Field, 0, len(f.Fields))}
	for _, fd := range f.Fields {
		if fd.Var == "" || fd.Type == Fixed {
			continue
		}
		sub := Field{Var: fd.Var, Type: fd.Type, Values: slices.Clone(fd.Values)}
		out.Fields = append(out.Fields, sub)
	}
	return out
}

// Cancel returns the form that declines to fill f in.
func (f Form) Cancel() Form { return Form{Type: TypeCancel} }

// Clone returns a deep copy of f.
func (f Form) Clone() Form {
	c := f
	c.Instructions = slices.Clone(f.Instructions)
	c.Fields = cloneFields(f.Fields)
	c.Reported = cloneFields(f.Reported)
	if f.Items != nil {
		c.Items = make([]Item, len(f.Items))
		for i, it := range f.Items {
			c.Items[i] = Item{Fields: cloneFields(it.Fields)}
		}
	}
	return c
}

func cloneFields(fs []Field) []Field {
	if fs == nil {
		return nil
	}
	out := make([]Field, len(fs))
	for i, fd := range fs {
		fd.Values = slices.Clone(fd.Values)
		fd.Options = slices.Clone(fd.Options)
		out[i] = fd
	}
	return out
}

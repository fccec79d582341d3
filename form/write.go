package form

import (
	"encoding/xml"

	"mellium.im/xmlstream"

	"github.com/parleyim/parley/internal/xmlenc"
)

// WriteXML writes f as <x xmlns='jabber:x:data'/>: the type (result when
// empty), the title, the instructions, the fields, then the reported
// fields and the items. Empty labels, descriptions and types are left
// out.
func (f Form) WriteXML(w xmlstream.TokenWriter) (int, error) {
	tw := xmlenc.Tokens{W: w}
	typ := f.Type
	if typ == "" {
		typ = TypeResult
	}
	x := xml.Name{Space: NS, Local: "x"}
	tw.Start(x, xml.Attr{Name: xml.Name{Local: "type"}, Value: string(typ)})
	if f.Title != "" {
		tw.TextElement(xml.Name{Space: NS, Local: "title"}, f.Title)
	}
	for _, in := range f.Instructions {
		tw.TextElement(xml.Name{Space: NS, Local: "instructions"}, in)
	}
	writeFields(&tw, f.Fields)
	if len(f.Reported) > 0 {
		rep := xml.Name{Space: NS, Local: "reported"}
		tw.Start(rep)
		writeFields(&tw, f.Reported)
		tw.End(rep)
	}
	item := xml.Name{Space: NS, Local: "item"}
	for _, it := range f.Items {
		tw.Start(item)
		writeFields(&tw, it.Fields)
		tw.End(item)
	}
	tw.End(x)
	return tw.N, tw.Err
}

func writeFields(tw *xmlenc.Tokens, fields []Field) {
	field := xml.Name{Space: NS, Local: "field"}
	value := xml.Name{Space: NS, Local: "value"}
	for _, fd := range fields {
		attrs := xmlenc.OptAttr(nil, "var", fd.Var)
		attrs = xmlenc.OptAttr(attrs, "type", string(fd.Type))
		attrs = xmlenc.OptAttr(attrs, "label", fd.Label)
		tw.Start(field, attrs...)
		if fd.Desc != "" {
			tw.TextElement(xml.Name{Space: NS, Local: "desc"}, fd.Desc)
		}
		if fd.Required {
			tw.Empty(xml.Name{Space: NS, Local: "required"})
		}
		for _, v := range fd.Values {
			tw.TextElement(value, v)
		}
		option := xml.Name{Space: NS, Local: "option"}
		for _, o := range fd.Options {
			tw.Start(option, xmlenc.OptAttr(nil, "label", o.Label)...)
			tw.TextElement(value, o.Value)
			tw.End(option)
		}
		tw.End(field)
	}
}

package disco

import (
	"encoding/xml"

	"mellium.im/xmlstream"
)

// tokenWriter writes tokens and keeps the count and the first error, so
// the writers above read as a list of elements.
type tokenWriter struct {
	w   xmlstream.TokenWriter
	n   int
	err error
}

func (t *tokenWriter) token(tok xml.Token) {
	if t.err != nil {
		return
	}
	if t.err = t.w.EncodeToken(tok); t.err == nil {
		t.n++
	}
}

func (t *tokenWriter) start(name xml.Name, attrs ...xml.Attr) {
	t.token(xml.StartElement{Name: name, Attr: attrs})
}

func (t *tokenWriter) end(name xml.Name) { t.token(xml.EndElement{Name: name}) }

func (t *tokenWriter) empty(name xml.Name, attrs ...xml.Attr) {
	t.start(name, attrs...)
	t.end(name)
}

// textElement writes <name>text</name>.
func (t *tokenWriter) textElement(name xml.Name, text string) {
	t.start(name)
	if text != "" {
		t.token(xml.CharData(text))
	}
	t.end(name)
}

// optAttr appends the attribute name=value when value is not empty.
func optAttr(attrs []xml.Attr, name, value string) []xml.Attr {
	if value == "" {
		return attrs
	}
	return append(attrs, xml.Attr{Name: xml.Name{Local: name}, Value: value})
}

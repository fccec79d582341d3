package xmlenc

import (
	"encoding/xml"

	"mellium.im/xmlstream"
)

// Tokens writes tokens to W, keeping their count and the first error, so
// that a payload's WriteXML reads as a list of elements and checks for an
// error once, at the end: after an error nothing more is written.
type Tokens struct {
	W   xmlstream.TokenWriter
	N   int   // tokens written
	Err error // the first error
}

// Token writes tok unless an earlier write failed.
func (t *Tokens) Token(tok xml.Token) {
	if t.Err != nil {
		return
	}
	if t.Err = t.W.EncodeToken(tok); t.Err == nil {
		t.N++
	}
}

// Start writes a start element.
func (t *Tokens) Start(name xml.Name, attrs ...xml.Attr) {
	t.Token(xml.StartElement{Name: name, Attr: attrs})
}

// End writes an end element.
func (t *Tokens) End(name xml.Name) { t.Token(xml.EndElement{Name: name}) }

// Empty writes an element without content.
func (t *Tokens) Empty(name xml.Name, attrs ...xml.Attr) {
	t.Start(name, attrs...)
	t.End(name)
}

// TextElement writes <name>text</name>.
func (t *Tokens) TextElement(name xml.Name, text string) {
	t.Start(name)
	if text != "" {
		t.Token(xml.CharData(text))
	}
	t.End(name)
}

// OptAttr appends the attribute local=value to attrs when value is not
// empty.
func OptAttr(attrs []xml.Attr, local, value string) []xml.Attr {
	if value == "" {
		return attrs
	}
	return append(attrs, xml.Attr{Name: xml.Name{Local: local}, Value: value})
}

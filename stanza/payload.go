package stanza

import (
	"mellium.im/xmlstream"
)

// Payload is an XML element that writes itself as tokens: an extension of
// a message or presence, the payload of an iq, the application-specific
// condition of an error. It has the method of xmlstream.WriterTo. *Raw, the
// feature packages' types and users' own types implement it; see also
// Marshal and PayloadFunc.
//
// The writer is a TokenWriter of the package mellium.im/xmlstream, an
// interface with the one method EncodeToken(xml.Token) error; import that
// package to implement Payload. A complete payload type, the user mood of
// XEP-0107:
//
//	import (
//		"encoding/xml"
//
//		"mellium.im/xmlstream"
//	)
//
//	// Mood is a user mood, such as "happy".
//	type Mood string
//
//	// WriteXML writes <mood xmlns='http://jabber.org/protocol/mood'><happy/></mood>.
//	func (m Mood) WriteXML(w xmlstream.TokenWriter) (int, error) {
//		mood := xml.StartElement{Name: xml.Name{Space: "http://jabber.org/protocol/mood", Local: "mood"}}
//		value := xml.StartElement{Name: xml.Name{Local: string(m)}}
//		for i, t := range []xml.Token{mood, value, value.End(), mood.End()} {
//			if err := w.EncodeToken(t); err != nil {
//				return i, err
//			}
//		}
//		return 4, nil
//	}
//
// A message carries it as one of its Extensions:
//
//	m := &stanza.Message{Header: stanza.Header{To: to}, Extensions: []stanza.Payload{Mood("happy")}}
//
// WriteXML should write exactly one element. Token names follow
// encoding/xml: Name.Space is the namespace URI, and an empty Name.Space
// inherits the parent's namespace. The stanza encoders refuse tokens with
// invalid names or characters.
type Payload interface {
	WriteXML(w xmlstream.TokenWriter) (n int, err error)
}

// Appender is implemented by payloads that can also append themselves as
// bytes. AppendXML uses it, when present, instead of WriteXML. The
// appended element must be self-contained: it declares every namespace it
// uses, its own included. On error AppendXML returns b unchanged.
type Appender interface {
	AppendXML(b []byte) ([]byte, error)
}

// PayloadFunc adapts a function to the Payload interface. w is a
// mellium.im/xmlstream TokenWriter, as for Payload.
type PayloadFunc func(w xmlstream.TokenWriter) (int, error)

// WriteXML calls f(w).
func (f PayloadFunc) WriteXML(w xmlstream.TokenWriter) (int, error) { return f(w) }

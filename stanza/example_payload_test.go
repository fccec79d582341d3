package stanza_test

import (
	"encoding/xml"
	"fmt"

	"mellium.im/xmlstream"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

// Mood is a user mood (XEP-0107), such as "happy": a payload type of the
// user's own.
type Mood string

// WriteXML writes <mood xmlns='http://jabber.org/protocol/mood'><happy/></mood>.
// Its writer is mellium.im/xmlstream's TokenWriter, which is why this file
// imports that package.
func (m Mood) WriteXML(w xmlstream.TokenWriter) (int, error) {
	mood := xml.StartElement{Name: xml.Name{Space: "http://jabber.org/protocol/mood", Local: "mood"}}
	value := xml.StartElement{Name: xml.Name{Local: string(m)}} // inherits mood's namespace
	for i, t := range []xml.Token{mood, value, value.End(), mood.End()} {
		if err := w.EncodeToken(t); err != nil {
			return i, err
		}
	}
	return 4, nil
}

// A payload of your own is a type with a WriteXML method that takes an
// xmlstream.TokenWriter from mellium.im/xmlstream.
func ExamplePayload() {
	m := &stanza.Message{
		Header:     stanza.Header{To: jid.MustParse("romeo@example.net")},
		Extensions: []stanza.Payload{Mood("happy")},
	}

	b, err := m.AppendXML(nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(b))
	// Output:
	// <message to='romeo@example.net'><mood xmlns='http://jabber.org/protocol/mood'><happy/></mood></message>
}

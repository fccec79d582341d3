package stanza_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

func Example_buildMessage() {
	m := &stanza.Message{
		Header: stanza.Header{
			ID: "ktx72v49",
			To: jid.MustParse("romeo@example.net"),
		},
		Type: stanza.MessageChat,
		Body: "Art thou not Romeo, and a Montague?",
	}
	b, err := m.AppendXML(nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(b))
	// Output:
	// <message id='ktx72v49' to='romeo@example.net' type='chat'><body>Art thou not Romeo, and a Montague?</body></message>
}

func ExampleDecoder_Decode() {
	const in = `<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>
<iq id='a78b4q6ha463' type='set'>
  <query xmlns='jabber:iq:roster'>
    <item jid='nurse@example.com' name='Nurse' subscription='both'><group>Servants</group></item>
  </query>
</iq>`
	d := xml.NewDecoder(strings.NewReader(in))
	if _, err := d.Token(); err != nil { // the stream header
		fmt.Println(err)
		return
	}
	var start xml.StartElement
	for {
		t, err := d.Token()
		if err != nil {
			fmt.Println(err)
			return
		}
		if se, ok := t.(xml.StartElement); ok {
			start = se
			break
		}
	}
	s, err := stanza.Decoder{}.Decode(d, start)
	if err != nil {
		fmt.Println(err)
		return
	}
	iq := s.(*stanza.IQ)
	raw, _ := iq.Raw()
	var query struct {
		XMLName xml.Name `xml:"jabber:iq:roster query"`
		Items   []struct {
			JID    string   `xml:"jid,attr"`
			Name   string   `xml:"name,attr"`
			Groups []string `xml:"group"`
		} `xml:"item"`
	}
	if err := raw.Decode(&query); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(iq.Type, iq.ID, raw.Name().Space)
	fmt.Println(query.Items[0].JID, query.Items[0].Name, query.Items[0].Groups)
	// Output:
	// set a78b4q6ha463 jabber:iq:roster
	// nurse@example.com Nurse [Servants]
}

func ExampleCondition() {
	// What a request helper returns when the server answered with an error.
	var err error = fmt.Errorf("disco: fetching items: %w",
		&stanza.Error{Type: stanza.ErrorCancel, Condition: stanza.ItemNotFound})

	switch {
	case errors.Is(err, stanza.ItemNotFound):
		fmt.Println("no such node")
	case errors.Is(err, stanza.ServiceUnavailable):
		fmt.Println("not supported")
	}
	var se *stanza.Error
	if errors.As(err, &se) {
		fmt.Println(se.Type)
	}
	// Output:
	// no such node
	// cancel
}

func ExampleMarshal() {
	type ping struct {
		XMLName xml.Name `xml:"urn:xmpp:ping ping"`
	}
	p, err := stanza.Marshal(ping{})
	if err != nil {
		fmt.Println(err)
		return
	}
	iq := &stanza.IQ{
		Header:  stanza.Header{ID: "c2s1", To: jid.MustParse("capulet.lit")},
		Type:    stanza.IQGet,
		Payload: p,
	}
	var buf bytes.Buffer
	enc := xml.NewEncoder(&buf)
	if _, err := iq.WriteXML(enc); err != nil {
		fmt.Println(err)
		return
	}
	if err := enc.Flush(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(buf.String())
	// Output:
	// <iq xmlns="jabber:client" id="c2s1" to="capulet.lit" type="get"><ping xmlns="urn:xmpp:ping"></ping></iq>
}

func ExampleIQ_ErrorReply() {
	req := &stanza.IQ{
		Header: stanza.Header{ID: "q1", From: jid.MustParse("juliet@example.com/balcony")},
		Type:   stanza.IQGet,
	}
	reply := req.ErrorReply(stanza.NewError(stanza.ServiceUnavailable, ""))
	b, _ := reply.AppendXML(nil)
	fmt.Println(string(b))
	// Output:
	// <iq id='q1' to='juliet@example.com/balcony' type='error'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>
}

func ExampleMessage_Reply() {
	in := &stanza.Message{
		Header: stanza.Header{ID: "k1", From: jid.MustParse("romeo@example.net/orchard")},
		Type:   stanza.MessageChat,
		Body:   "Art thou not Romeo?",
		Thread: stanza.Thread{ID: "e0ffe42b28561960c6b12b944a092794b9683a38"},
	}
	b, _ := in.Reply("Neither, fair saint, if either thee dislike.").AppendXML(nil)
	fmt.Println(string(b))

	// In a room the reply goes to the room, not to the occupant.
	in = &stanza.Message{
		Header: stanza.Header{From: jid.MustParse("coven@chat.shakespeare.lit/thirdwitch")},
		Type:   stanza.MessageGroupChat,
		Body:   "Thrice the brinded cat hath mew'd.",
	}
	b, _ = in.Reply("Thrice and once the hedge-pig whined.").AppendXML(nil)
	fmt.Println(string(b))
	// Output:
	// <message to='romeo@example.net/orchard' type='chat'><body>Neither, fair saint, if either thee dislike.</body><thread>e0ffe42b28561960c6b12b944a092794b9683a38</thread></message>
	// <message to='coven@chat.shakespeare.lit' type='groupchat'><body>Thrice and once the hedge-pig whined.</body></message>
}

func ExampleMessage_ErrorReply() {
	in := &stanza.Message{
		Header: stanza.Header{ID: "k2", From: jid.MustParse("romeo@example.net/orchard")},
		Type:   stanza.MessageChat,
	}
	b, _ := in.ErrorReply(stanza.NewError(stanza.FeatureNotImplemented, "")).AppendXML(nil)
	fmt.Println(string(b))
	// Output:
	// <message id='k2' to='romeo@example.net/orchard' type='error'><error type='cancel'><feature-not-implemented xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>
}

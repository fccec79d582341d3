package bench

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"regexp"
	"strings"

	"github.com/google/uuid"
	gsstanza "gosrc.io/xmpp/stanza"
	"mellium.im/xmlstream"
	mjid "mellium.im/xmpp/jid"
	mstanza "mellium.im/xmpp/stanza"

	"github.com/parleyim/parley/im"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

// The message every encoder writes: a chat message with a body, a thread,
// XEP-0085's active and a XEP-0184 request, as a client sends one.
const (
	encTo     = "juliet@example.test"
	encID     = "m-5f2c1a"
	encThread = "t-6a006e97"
	encBody   = "Art thou not Romeo, and a Montague? Neither, fair saint, if either thee dislike. How cam'st thou hither, tell me, and wherefore? The orchard walls are high & hard to climb."
)

// An encoder writes the message into a buffer of its own, reused from one
// message to the next as a session's writer is, and returns the bytes.
type encoder struct {
	name string
	new  func() func() ([]byte, error)
}

var encoders = []encoder{
	{"parley", newEncParley},
	{"mellium", newEncMellium},
	{"gosrc", newEncGosrc},
	{"go-xmpp", newEncGoXMPP},
	{floorName, newEncFloor},
}

// newEncParley is what Session.Send does with a stanza: AppendXML into a
// reused buffer.
func newEncParley() func() ([]byte, error) {
	var buf []byte
	to := jid.MustParse(encTo)
	return func() ([]byte, error) {
		m := &stanza.Message{
			Header:     stanza.Header{ID: encID, To: to},
			Type:       stanza.MessageChat,
			Body:       encBody,
			Thread:     stanza.Thread{ID: encThread},
			Extensions: []stanza.Payload{im.Active, im.ReceiptRequest{}},
		}
		var err error
		buf, err = m.AppendXML(buf[:0])
		return buf, err
	}
}

var (
	chatStatesActive = xml.Name{Space: "http://jabber.org/protocol/chatstates", Local: "active"}
	receiptsRequest  = xml.Name{Space: "urn:xmpp:receipts", Local: "request"}
)

// newEncMellium is what Session.Send does: copy the stanza's token reader
// into the session's xml.Encoder, then flush.
func newEncMellium() func() ([]byte, error) {
	var buf bytes.Buffer
	e := xml.NewEncoder(&buf)
	to := mjid.MustParse(encTo) // once, as an application keeps its contact's address
	return func() ([]byte, error) {
		buf.Reset()
		msg := mstanza.Message{ID: encID, To: to, Type: mstanza.ChatMessage}
		r := msg.Wrap(xmlstream.MultiReader(
			xmlstream.Wrap(xmlstream.Token(xml.CharData(encBody)), xml.StartElement{Name: xml.Name{Local: "body"}}),
			xmlstream.Wrap(xmlstream.Token(xml.CharData(encThread)), xml.StartElement{Name: xml.Name{Local: "thread"}}),
			xmlstream.Wrap(nil, xml.StartElement{Name: chatStatesActive}),
			xmlstream.Wrap(nil, xml.StartElement{Name: receiptsRequest}),
		))
		if _, err := xmlstream.Copy(e, r); err != nil {
			return nil, err
		}
		err := e.Flush()
		return buf.Bytes(), err
	}
}

// newEncGosrc is what Client.Send does: xml.Marshal the packet.
func newEncGosrc() func() ([]byte, error) {
	return func() ([]byte, error) {
		m := gsstanza.Message{
			Attrs:      gsstanza.Attrs{Type: gsstanza.MessageTypeChat, Id: encID, To: encTo},
			Body:       encBody,
			Thread:     encThread,
			Extensions: []gsstanza.MsgExtension{gsstanza.StateActive{}, gsstanza.ReceiptRequest{}},
		}
		return xml.Marshal(m)
	}
}

// newEncGoXMPP does what github.com/xmppo/go-xmpp v0.4.1's Client.Send
// does with a Chat (its writer is unexported): escape the fields with
// xml.Escape, clean the text with its validUTF8 (ToValidUTF8 and a regexp
// compiled per call), make a UUIDv7 for the id and origin-id, format the
// stanza with fmt.Sprintf and print it to the writer. Send has no chat
// state nor receipt request, and always adds xml:lang and an origin-id: its
// message is of the same size, not the same content.
func newEncGoXMPP() func() ([]byte, error) {
	var buf bytes.Buffer
	return func() ([]byte, error) {
		buf.Reset()
		remote, typ, text, thread := encTo, "chat", encBody, encThread
		thdtext := `<thread>` + goxmppEscape(thread) + `</thread>`
		text = goxmppValidUTF8(text)
		id, err := uuid.NewV7()
		if err != nil {
			return nil, err
		}
		originID := id.String()
		st := fmt.Sprintf("<message to='%s' type='%s' id='%s' xml:lang='en'>%s<body>%s</body>"+
			"<origin-id xmlns='%s' id='%s'/>%s%s</message>\n",
			goxmppEscape(remote), goxmppEscape(typ), originID, "", goxmppEscape(text),
			"urn:xmpp:sid:0", originID, "", thdtext)
		_, err = fmt.Fprint(&buf, st)
		return buf.Bytes(), err
	}
}

func goxmppEscape(s string) string {
	var b bytes.Buffer
	xml.Escape(&b, []byte(s))
	return b.String()
}

func goxmppValidUTF8(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	reg := regexp.MustCompile(`[\x{0000}-\x{0008}\x{000B}\x{000C}\x{000E}-\x{001F}]`)
	return reg.ReplaceAllString(s, "\uFFFD")
}

// newEncFloor writes the same tokens with encoding/xml's EncodeToken.
func newEncFloor() func() ([]byte, error) {
	var buf bytes.Buffer
	e := xml.NewEncoder(&buf)
	attrs := []xml.Attr{{Name: xml.Name{Local: "id"}, Value: encID}, {Name: xml.Name{Local: "to"}, Value: encTo}, {Name: xml.Name{Local: "type"}, Value: "chat"}}
	msg := xml.StartElement{Name: xml.Name{Local: "message"}, Attr: attrs}
	body := xml.StartElement{Name: xml.Name{Local: "body"}}
	thread := xml.StartElement{Name: xml.Name{Local: "thread"}}
	active := xml.StartElement{Name: chatStatesActive}
	request := xml.StartElement{Name: receiptsRequest}
	toks := []xml.Token{msg, body, xml.CharData(encBody), body.End(), thread, xml.CharData(encThread), thread.End(),
		active, active.End(), request, request.End(), msg.End()}
	return func() ([]byte, error) {
		buf.Reset()
		for _, t := range toks {
			if err := e.EncodeToken(t); err != nil {
				return nil, err
			}
		}
		err := e.Flush()
		return buf.Bytes(), err
	}
}

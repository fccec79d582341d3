package im_test

import (
	"bytes"
	"encoding/xml"
	"fmt"

	"github.com/parleyim/parley/im"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

// A chat message that asks for a receipt and says its sender is active,
// written as it goes on the wire, read back as the session's reader reads
// it, and its extensions parsed.
func Example() {
	m := &stanza.Message{
		Header:     stanza.Header{ID: "ktx72v49", To: jid.MustParse("romeo@example.net")},
		Type:       stanza.MessageChat,
		Body:       "Art thou not Romeo, and a Montague?",
		Extensions: []stanza.Payload{im.ReceiptRequest{}, im.Active, im.OriginID("ktx72v49")},
	}
	b, err := m.AppendXML(nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(b))

	// What the other side reads: a message whose extensions are *stanza.Raw.
	d := xml.NewDecoder(bytes.NewReader(b))
	d.DefaultSpace = stanza.NS
	start, err := d.Token()
	if err != nil {
		fmt.Println(err)
		return
	}
	st, err := stanza.Decoder{}.Decode(d, start.(xml.StartElement))
	if err != nil {
		fmt.Println(err)
		return
	}
	x, err := im.Parse(st.(*stanza.Message))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("receipt requested:", x.ReceiptRequest)
	fmt.Println("chat state:", x.ChatState)
	fmt.Println("origin-id:", x.OriginID)
	fmt.Println("unknown extensions:", len(x.Other))
	// Output:
	// <message id='ktx72v49' to='romeo@example.net' type='chat'><body>Art thou not Romeo, and a Montague?</body><request xmlns='urn:xmpp:receipts'/><active xmlns='http://jabber.org/protocol/chatstates'/><origin-id xmlns='urn:xmpp:sid:0' id='ktx72v49'/></message>
	// receipt requested: true
	// chat state: active
	// origin-id: ktx72v49
	// unknown extensions: 0
}

// A message from offline storage carries the server's delay: its stamp is
// read as a time.Time in UTC. A malformed stamp is a fault that Parse
// returns, with the rest of the message's extensions read all the same.
func ExampleParse_delay() {
	read := func(stamp string) {
		delay, err := stanza.ParseRaw([]byte(`<delay xmlns='urn:xmpp:delay' from='example.com' stamp='` + stamp + `'>Offline Storage</delay>`))
		if err != nil {
			fmt.Println(err)
			return
		}
		m := &stanza.Message{Body: "Wherefore art thou?", Extensions: []stanza.Payload{im.Composing, delay}}
		x, err := im.Parse(m)
		if err != nil {
			fmt.Println("error:", err)
		}
		for _, d := range x.Delays {
			fmt.Printf("delayed by %s since %s (%s)\n", d.From, d.Stamp.Format("2006-01-02 15:04:05.000 MST"), d.Reason)
		}
		fmt.Println("chat state:", x.ChatState, "| unread:", len(x.Other))
	}
	read("2002-09-10T23:08:25.123+02:00")
	read("2002-09-10T25:08:25Z")
	// Output:
	// delayed by example.com since 2002-09-10 21:08:25.123 UTC (Offline Storage)
	// chat state: composing | unread: 0
	// error: im: malformed extension: delay stamp "2002-09-10T25:08:25Z": field out of range
	// chat state: composing | unread: 1
}

// Only the account's own server may give a message an id a client relies
// on, and only when it announces urn:xmpp:sid:0: a contact can write any
// stanza-id.
func ExampleExtensions_TrustedStanzaID() {
	account := jid.MustParse("juliet@example.com/balcony")
	x := im.Extensions{StanzaIDs: []im.StanzaID{
		{ID: "forged", By: jid.MustParse("romeo@example.net")},
		{ID: "5f3dbc5e", By: jid.MustParse("juliet@example.com")},
	}}
	fmt.Println(x.TrustedStanzaID(account, true))
	fmt.Println(x.TrustedStanzaID(account, false))
	// Output:
	// 5f3dbc5e true
	//  false
}

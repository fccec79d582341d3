package im

import (
	"bytes"
	"encoding/xml"
	"testing"

	"github.com/parleyim/parley/stanza"
)

// benchChat is a chat message as a client sends it with this package: a
// receipt request, a chat state and an origin-id.
const benchChat = `<message from='juliet@example.com/balcony' id='ktx72v49' to='romeo@example.net/orchard' type='chat' xml:lang='en'>` +
	`<body>Art thou not Romeo, and a Montague?</body><request xmlns='urn:xmpp:receipts'/>` +
	`<active xmlns='http://jabber.org/protocol/chatstates'/><origin-id xmlns='urn:xmpp:sid:0' id='ktx72v49'/></message>`

func decodeBench(b *testing.B, data []byte) *stanza.Message {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.DefaultSpace = stanza.NS
	t, err := d.Token()
	if err != nil {
		b.Fatal(err)
	}
	st, err := stanza.Decoder{}.Decode(d, t.(xml.StartElement))
	if err != nil {
		b.Fatal(err)
	}
	return st.(*stanza.Message)
}

// BenchmarkParse decodes benchChat from bytes with encoding/xml and the
// stanza decoder, as the session does, then parses its extensions.
// "decode" is the baseline, decoding alone; "decode+Parse" is what a
// handler of parsed messages costs; "Parse" is Parse alone on the decoded
// message.
func BenchmarkParse(b *testing.B) {
	data := []byte(benchChat)
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			decodeBench(b, data)
		}
	})
	b.Run("decode+Parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			x, err := Parse(decodeBench(b, data))
			if err != nil || !x.ReceiptRequest || x.ChatState != Active || x.OriginID == "" {
				b.Fatal(x, err)
			}
		}
	})
	b.Run("Parse", func(b *testing.B) {
		m := decodeBench(b, data)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Parse(m); err != nil {
				b.Fatal(err)
			}
		}
	})
}

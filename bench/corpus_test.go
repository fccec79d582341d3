package bench

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// The decode corpus is one stream from the server to me@example.test/parley:
// a header, stanzas of about 400 bytes, and the close. The mix is 70% chat
// messages (body, thread, XEP-0085 active, XEP-0184 request), 20% presence
// (show, status, priority, XEP-0115 caps) and 10% iq (roster pushes, pings,
// disco#info results). It depends on the seed alone.

const (
	corpusSeed    = 20
	corpusStanzas = 2000
	account       = "me@example.test"
	resource      = "parley"
)

const streamHeader = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' from='example.test' to='me@example.test' id='s-8c1e0f' version='1.0' xml:lang='en'>`

var words = strings.Fields(`the of and to in is you that it he was for on are as with his they
at be this have from or one had by word but not what all were we when your can said there use an
each which she do how their if will up other about out many then them these so some her would make
like him into time has look two more write go see number no way could people my than first water
café naïve jalapeño über 🙂 👍 &amp; &lt;3 don't "quoted"`)

// corpus returns the stream's bytes and its number of stanzas.
func corpus(seed uint64, n int) ([]byte, int) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var b strings.Builder
	b.WriteString(streamHeader)
	me := account + "/" + resource
	for i := range n {
		peer := fmt.Sprintf("user%d@example.test", r.IntN(200))
		res := fmt.Sprintf("phone-%04x", r.IntN(1<<16))
		switch p := r.IntN(100); {
		case p < 70:
			fmt.Fprintf(&b, `<message from='%s/%s' to='%s' type='chat' id='m-%d-%08x'><body>%s</body><thread>t-%08x</thread><active xmlns='http://jabber.org/protocol/chatstates'/><request xmlns='urn:xmpp:receipts'/></message>`,
				peer, res, me, i, r.Uint32(), sentence(r, 170+r.IntN(60)), r.Uint32())
		case p < 90:
			show := []string{"away", "chat", "dnd", "xa"}[r.IntN(4)]
			fmt.Fprintf(&b, `<presence from='%s/%s' to='%s' id='p-%d'><show>%s</show><status>%s</status><priority>%d</priority><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://client.example/%d' ver='%s'/></presence>`,
				peer, res, me, i, show, sentence(r, 80+r.IntN(60)), r.IntN(128)-10, r.IntN(10), fmt.Sprintf("%016x%012x=", r.Uint64(), r.Uint64()>>16))
		default:
			switch r.IntN(3) {
			case 0:
				fmt.Fprintf(&b, `<iq type='set' id='push-%d' to='%s'><query xmlns='jabber:iq:roster' ver='v%d'><item jid='%s' name='%s' subscription='both'><group>Friends</group><group>Work %d</group></item></query></iq>`,
					i, me, r.IntN(1000), peer, strings.ReplaceAll(sentence(r, 20), "'", "&apos;"), r.IntN(9))
			case 1:
				fmt.Fprintf(&b, `<iq type='get' id='ping-%d' from='example.test' to='%s'><ping xmlns='urn:xmpp:ping'/></iq>`, i, me)
			default:
				fmt.Fprintf(&b, `<iq type='result' id='disco-%d' from='%s/%s' to='%s'><query xmlns='http://jabber.org/protocol/disco#info'><identity category='client' type='phone' name='Client %d'/><feature var='http://jabber.org/protocol/caps'/><feature var='http://jabber.org/protocol/chatstates'/><feature var='urn:xmpp:receipts'/><feature var='urn:xmpp:ping'/><feature var='http://jabber.org/protocol/disco#info'/></query></iq>`,
					i, peer, res, me, r.IntN(100))
			}
		}
	}
	b.WriteString(`</stream:stream>`)
	return []byte(b.String()), n
}

// sentence returns words up to about n bytes.
func sentence(r *rand.Rand, n int) string {
	var b strings.Builder
	for b.Len() < n {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[r.IntN(len(words))])
	}
	return b.String()
}

package im

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"runtime"
	"strconv"
	"testing"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
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

// encodingSender is a session.Sender that encodes what it is given, as a
// session does before writing, into a buffer it reuses.
type encodingSender struct {
	buf []byte
}

func (e *encodingSender) Send(_ context.Context, st stanza.Stanza) error {
	var err error
	e.buf, err = st.AppendXML(e.buf[:0])
	return err
}

func (e *encodingSender) SendIQ(context.Context, *stanza.IQ) (*stanza.IQ, error) {
	return nil, errors.New("no iq here")
}
func (e *encodingSender) Addr() jid.JID               { return jid.MustParse("juliet@example.com/balcony") }
func (e *encodingSender) Features() *session.Features { return &session.Features{} }

// BenchmarkConversationSend measures a conversation's send path: the
// message completed (address, thread, active, id, origin-id, receipt
// request) and encoded, as Conversation.Send does it with a session.
// "baseline" encodes the same message built by hand, with a fresh id; the
// difference is what the conversation costs.
func BenchmarkConversationSend(b *testing.B) {
	const body = "Art thou not Romeo, and a Montague?"
	romeo := jid.MustParse("romeo@example.net/orchard")
	b.Run("baseline", func(b *testing.B) {
		s := &encodingSender{}
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			id := stanza.NewID()
			m := &stanza.Message{Header: stanza.Header{ID: id, To: romeo}, Type: stanza.MessageChat, Body: body,
				Thread:     stanza.Thread{ID: "e0ffe42b28561960c6b12b944a092794b9683a38"},
				Extensions: []stanza.Payload{Active, OriginID(id), ReceiptRequest{}}}
			if err := s.Send(ctx, m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Conversation.Send", func(b *testing.B) {
		m := Handle(session.NewMux(), nil, &Options{RequestReceipts: true})
		// Locked onto romeo's resource, as after his first message.
		m.receive(jid.MustParse("juliet@example.com/balcony"), &stanza.Message{Header: stanza.Header{From: romeo}, Type: stanza.MessageChat,
			Extensions: []stanza.Payload{Active}})
		conv := m.Conversation(romeo)
		s := &encodingSender{}
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := conv.Send(ctx, s, body); err != nil {
				b.Fatal(err)
			}
		}
		if !bytes.Contains(s.buf, []byte("to='romeo@example.net/orchard'")) {
			b.Fatalf("not to the locked resource: %s", s.buf)
		}
	})
}

// BenchmarkConversationMemory reports the heap a Manager holds per
// conversation (B/conversation): 10,000 conversations with contacts whose
// JIDs exist before the measurement, each locked onto a resource, as
// after a message from every contact.
func BenchmarkConversationMemory(b *testing.B) {
	const n = 10000
	contacts := make([]*stanza.Message, n)
	for i := range contacts {
		from := jid.MustParse("contact" + strconv.Itoa(i) + "@example.net/phone")
		contacts[i] = &stanza.Message{Header: stanza.Header{From: from}, Type: stanza.MessageChat, Extensions: []stanza.Payload{Active}}
	}
	account := jid.MustParse("juliet@example.com/balcony")
	var perConv float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		m := Handle(session.NewMux(), nil, &Options{MaxConversations: n})
		for _, msg := range contacts {
			m.receive(account, msg)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if len(m.Conversations()) != n {
			b.Fatal("conversations dropped")
		}
		perConv = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(m)
	}
	b.ReportMetric(perConv, "B/conversation")
}

package im

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// fuzzRoster is juliet's roster as roster.Cache.Save writes it: romeo may
// see her presence, the nurse may not.
const fuzzRoster = `<roster xmlns='urn:parleyim:roster-cache:0' account='juliet@example.com'><query xmlns='jabber:iq:roster' ver='v1'>` +
	`<item jid='romeo@example.net' subscription='both'/><item jid='nurse@example.com' subscription='to'/></query></roster>`

var fuzzAccount = jid.MustParse("juliet@example.com/balcony")

var managerSeeds = []string{
	`<message from='romeo@example.net/orchard' id='m1' type='chat'><body>Hi</body><request xmlns='urn:xmpp:receipts'/><thread>t</thread></message>` +
		`<presence from='romeo@example.net/orchard'/><message from='romeo@example.net/garden' type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>`,
	`<message from='nurse@example.com/k' id='n' type='chat'><body>x</body><request xmlns='urn:xmpp:receipts'/></message>` +
		`<message from='a@x.example/1' type='chat'><body>1</body></message><message from='b@x.example/1' type='chat'><body>2</body></message>` +
		`<message from='c@x.example/1' type='chat'><body>3</body></message><message from='d@x.example/1' type='chat'><body>4</body></message>`,
	`<message from='romeo@example.net/orchard' type='chat'><gone xmlns='http://jabber.org/protocol/chatstates'/></message>` +
		`<message from='romeo@example.net/orchard' type='error' id='e'><error type='cancel'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>` +
		`<presence from='romeo@example.net' type='error'><error type='cancel'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>`,
	`<message from='romeo@example.net/orchard' type='chat' id='d'><body>late</body><delay xmlns='urn:xmpp:delay' stamp='2002-09-10T23:08:25Z'/><request xmlns='urn:xmpp:receipts'/></message>` +
		`<message from='room@muc.example/r' type='groupchat' id='g'><body>x</body><request xmlns='urn:xmpp:receipts'/></message>`,
	`<message from='juliet@example.com/phone' type='headline' id='h'><request xmlns='urn:xmpp:receipts'/></message><message type='chat' id='nf'><request xmlns='urn:xmpp:receipts'/></message>`,
}

// FuzzManager feeds a Manager messages and presence as the network could
// send them, under each receipt policy: nothing panics; it keeps at most
// MaxConversations, each addressed to its contact (bare, or a resource of
// it); and every receipt it would send acknowledges, to its sender, a
// chat or normal message with an id that asked for one, from someone the
// policy allows.
func FuzzManager(f *testing.F) {
	for _, s := range managerSeeds {
		for p := range 3 {
			f.Add([]byte(s), uint8(p))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, policy uint8) {
		mux := session.NewMux()
		rs := roster.Handle(mux)
		require.NoError(t, rs.Cache().Load(strings.NewReader(fuzzRoster)))
		m := Handle(mux, rs, &Options{Receipts: ReceiptPolicy(policy % 3), MaxConversations: 3})

		d := xml.NewDecoder(bytes.NewReader(append(append([]byte("<s xmlns='jabber:client'>"), data...), "</s>"...)))
		if _, err := d.Token(); err != nil {
			return
		}
		for range 64 {
			tok, err := d.Token()
			if err != nil {
				break
			}
			start, ok := tok.(xml.StartElement)
			if !ok {
				continue
			}
			st, err := stanza.Decoder{}.Decode(d, start)
			if err != nil {
				break // the session answers or drops it; the stream may be over
			}
			switch st := st.(type) {
			case *stanza.Message:
				in, repeat := m.receive(fuzzAccount, st)
				if repeat {
					continue
				}
				if ack := m.receipt(fuzzAccount, in); ack != nil {
					checkReceipt(t, m, st, ack)
				}
			case *stanza.Presence:
				m.handlePresence(t.Context(), nil, st)
			}
		}
		convs := m.Conversations()
		require.LessOrEqual(t, len(convs), 3)
		for _, with := range convs {
			require.Equal(t, with, with.Bare())
			require.Equal(t, with, m.Conversation(with).To().Bare())
		}
	})
}

func checkReceipt(t *testing.T, m *Manager, req, ack *stanza.Message) {
	t.Helper()
	require.NotEqual(t, NoReceipts, m.policy)
	require.NotEmpty(t, req.ID)
	require.Contains(t, []stanza.MessageType{stanza.MessageChat, stanza.MessageNormal}, req.Type)
	require.Equal(t, req.From, ack.To)
	require.Equal(t, req.Type, ack.Type)
	require.Equal(t, []stanza.Payload{Receipt(req.ID)}, ack.Extensions)
	_, asked := req.Extension(requestName)
	require.True(t, asked, "a receipt for a message that asked for none")
	if m.policy == ReceiptsToSubscribers {
		from := req.From.Bare()
		require.True(t, from == fuzzAccount.Bare() || from == jid.MustParse("romeo@example.net"),
			"a receipt to %s, who may not see juliet's presence", req.From)
	}
}

// Package im implements instant messaging on top of RFC 6121 §5 (RFC 3921
// §4 before it): conversations with contacts, sending and receiving
// messages, and their extensions — XEP-0184 Message Delivery Receipts,
// XEP-0085 Chat State Notifications, XEP-0203 Delayed Delivery (with
// XEP-0082 date-times) and XEP-0359 Unique and Stable Stanza IDs.
//
// # Registering
//
// Handle registers the package on a session.Mux after the roster and
// returns a Manager, which hands every incoming message to the
// application with its extensions read:
//
//	mux := session.NewMux()
//	r := roster.Handle(mux)
//	p := presence.Handle(mux, r, nil)
//	m := im.Handle(mux, r, &im.Options{Receipts: im.ReceiptsToSubscribers, RequestReceipts: true})
//	m.HandleMessage(func(ctx context.Context, s *session.Session, msg *im.Message) {
//		switch {
//		case msg.Error != nil: // msg.ID is the id Send returned
//		case msg.Receipt != "": // the message with that id was received
//		case msg.Body != "":
//			fmt.Println(msg.From, msg.Body, msg.ChatState, msg.Delays)
//		}
//	})
//	s, err := session.Dial(ctx, addr, password, &session.Config{Mux: mux})
//	…
//	conv := m.Conversation(romeo)
//	id, err := conv.Send(ctx, s, "Art thou not Romeo?")
//	err = conv.SendState(ctx, s, im.Composing)
//
// # Conversations
//
// A Conversation follows RFC 6121 §5.1: it sends to the contact's bare JID
// until one of the contact's resources writes, then to that full JID,
// until that resource sends presence, an error or gone; it keeps the
// thread; and it applies XEP-0085's rules to chat states (see
// Conversation). The Manager keeps at most Options.MaxConversations and
// forgets the one idle longest, so a flood of strangers costs bounded
// memory.
//
// # Receipts
//
// With Options.RequestReceipts, every chat and normal message with a body
// asks for a receipt; the acknowledgement reaches the application as a
// Message whose Receipt is the id Send returned. Options.Receipts decides
// which requests the Manager answers: none (NoReceipts, the default), those
// of contacts allowed to see the account's presence (ReceiptsToSubscribers:
// a receipt tells the sender the account is online, XEP-0184 §8), or
// everyone's. Error, groupchat and headline messages and messages without
// id are never answered.
//
// # Extensions
//
// Each extension is a type that writes itself (a stanza.Payload), to put
// in a stanza.Message's Extensions: ReceiptRequest and Receipt, ChatState
// (Active, Composing, Paused, Inactive, Gone), Delay, OriginID and
// StanzaID. Parse reads them back from a received message, whose unknown
// children the stanza package keeps as *stanza.Raw; the Manager calls it
// for every message it hands on:
//
//	m := &stanza.Message{
//		Header:     stanza.Header{ID: id, To: romeo},
//		Type:       stanza.MessageChat,
//		Body:       "Art thou not Romeo?",
//		Extensions: []stanza.Payload{im.ReceiptRequest{}, im.Active, im.OriginID(id)},
//	}
//	…
//	x, err := im.Parse(received) // x.ReceiptRequest, x.ChatState, x.Delays, x.OriginID…
//
// Parse looks only at the message's own children. Whatever it does not
// know stays in Extensions.Other as it came, in document order; so does
// every element it knows but cannot read, whose fault Parse returns
// (wrapping ErrMalformed) while still filling in the rest. A message with
// no body and only unknown extensions parses to an Extensions with only
// Other set; the Manager delivers it like any other, and one with a fault
// with Message.Fault set.
//
// # Rules where the XEPs leave room
//
//   - One of a kind: of two receipt requests, receipts, chat states or
//     origin-ids in one message, the first is read and the later ones stay
//     in Other. Delays and stanza-ids may legitimately come several times
//     (one per delaying entity, one per stamping entity) and are all kept,
//     in document order.
//   - A stamp is a XEP-0082 date-time with a time zone (Z or ±hh:mm) and
//     optional fractional seconds; it is kept in UTC. A missing or
//     malformed stamp, or one outside the years 0000–9999 once in UTC, is
//     a fault, never a panic. The legacy jabber:x:delay of XEP-0091 is not
//     read: it stays in Other.
//   - A <received/> without an id acknowledges the message whose id its
//     own message carries, as acknowledgements did before XEP-0184 gave
//     <received/> its id attribute; with neither it is a fault.
//   - Each message once: a chat, normal or headline message whose
//     sender's full JID and origin-id match one of the last RecentOrigins
//     received is dropped, receipt request and all. A stream resumed
//     after a broken connection (XEP-0198) can bring a sender's message
//     twice; XEP-0359 makes an origin-id unique per message, and Send
//     gives every message one. Groupchat and error messages, and messages
//     without an origin-id, are always delivered.
//   - A stanza-id is trusted only as Extensions.TrustedStanzaID says: by is
//     the account's bare JID, the account's server announces urn:xmpp:sid:0,
//     and no second stanza-id claims the same by. Anyone can write any
//     other.
//
// # Forwarded messages
//
// Parse never unwraps anything. A carbon-looking <received
// xmlns='urn:xmpp:carbons:2'/> or <sent/>, with the <forwarded/> message
// inside, stays in Other of a message from its real sender, and the
// receipts, chat states and delays inside the forwarded message are not
// the outer message's (the CVE-2017-5589 class of impersonation). A
// feature that unwraps carbons or archives must check the wrapper's sender
// first.
package im

import "github.com/parleyim/parley/internal/ns"

// Namespaces of the extensions this package implements.
const (
	NSReceipts   = ns.Receipts
	NSChatStates = ns.ChatStates
	NSDelay      = ns.Delay
	NSSID        = ns.SID
)

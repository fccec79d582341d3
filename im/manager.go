package im

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/parleyim/parley/disco"
	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// ReceiptPolicy says which receipt requests (XEP-0184) a Manager answers
// on the application's behalf.
type ReceiptPolicy uint8

const (
	// NoReceipts: the Manager answers none. The application sees each
	// request in Message.ReceiptRequest and may answer it itself with a
	// Receipt.
	NoReceipts ReceiptPolicy = iota
	// ReceiptsToSubscribers answers requests from the account's own
	// resources and from contacts whose roster item has subscription from
	// or both: those allowed to see the account's presence, which a
	// receipt reveals (XEP-0184 §8).
	ReceiptsToSubscribers
	// ReceiptsToAnyone answers requests from anyone. A stranger can then
	// learn that the account is online by asking for a receipt.
	ReceiptsToAnyone
)

// DefaultMaxConversations is the number of conversations a Manager keeps
// when Options.MaxConversations is zero.
const DefaultMaxConversations = 1000

// Options configures a Manager. The zero value (or nil) is useful: no
// automatic receipts, none requested, DefaultMaxConversations, stanza-ids
// checked, no logging.
type Options struct {
	// Receipts says which receipt requests the Manager answers itself.
	Receipts ReceiptPolicy
	// RequestReceipts makes Send, and a Conversation's Send and
	// SendMessage, ask for a receipt (XEP-0184) on every chat and normal
	// message with a body.
	RequestReceipts bool
	// MaxConversations is the number of conversations the Manager keeps
	// (see Conversation); past it the one idle longest is forgotten. Zero
	// means DefaultMaxConversations.
	MaxConversations int
	// IgnoreStanzaIDs skips the disco#info query of the account's bare JID
	// that each new stream otherwise begins with (one round trip); without
	// it Message.StanzaID stays empty.
	IgnoreStanzaIDs bool
	// Logger receives what the Manager ignores and why; nil means
	// silence.
	Logger *slog.Logger
}

// Message is a message as the Manager hands it to the application: the
// stanza as received, its extensions as Parse read them, the fault Parse
// reported, and the stanza-id the account's server gave it.
//
// Both embedded values are promoted: m.Body, m.From, m.Thread and m.Error
// are the stanza's; m.ReceiptRequest, m.ChatState and m.Delays are the
// extensions'. (m.Extensions is the parsed Extensions; the stanza's own
// child list is m.Message.Extensions.)
type Message struct {
	*stanza.Message
	Extensions

	// Fault is what Parse could not read (it wraps ErrMalformed), nil
	// otherwise. The elements at fault are in Other and everything else
	// was read; the message is delivered all the same.
	Fault error
	// StanzaID is the id the account's own server gave the message
	// (XEP-0359), as Extensions.TrustedStanzaID decides it, or "".
	StanzaID string
}

// Manager is the instant-messaging layer of the account a Mux's sessions
// log in to: it hands every incoming message to the application with its
// extensions read, keeps the conversations, completes and sends outgoing
// messages, and answers receipt requests under Options.Receipts. Handle
// makes it.
//
// A Manager is safe for concurrent use. Callbacks may be added while
// sessions run and apply to later messages. It follows one stream at a
// time, the way a reconnecting client uses a Mux.
type Manager struct {
	roster   *roster.Roster
	policy   ReceiptPolicy
	request  bool
	maxConvs int
	skipSID  bool
	log      *slog.Logger

	sid atomic.Bool // the account's server announces urn:xmpp:sid:0

	origins recentOrigins // to drop a message that arrives twice

	mu    sync.Mutex
	convs map[jid.JID]*conv
	lru   conv // sentinel of the list of conversations, most recent first

	fmu      sync.RWMutex
	handlers []func(ctx context.Context, s *session.Session, m *Message)
}

// Handle registers the im package on mux and returns its Manager. rs is
// the roster that roster.Handle registered on the same mux; the Manager
// reads subscriptions from it to decide on receipts. It may be nil only
// when Options.Receipts is not ReceiptsToSubscribers. Handle registers:
//
//   - a message handler for every message: it parses the extensions,
//     drops a message that came before (the same sender's full JID and
//     origin-id among the last RecentOrigins, for a chat, normal or
//     headline message), updates the conversation with the sender, calls
//     the HandleMessage callbacks, then answers a receipt request as
//     Options.Receipts says;
//   - a presence handler that unlocks a conversation when the resource it
//     is locked to sends presence (RFC 6121 §5.1);
//   - a start hook that, on each new stream (not a resumed one), unlocks
//     every conversation and, unless Options.IgnoreStanzaIDs, asks the
//     account's bare JID for its disco#info to learn whether its server
//     stamps stanza-ids (XEP-0359);
//   - the features urn:xmpp:receipts (when the Manager answers receipts)
//     and http://jabber.org/protocol/chatstates, for service discovery.
//
// Handle panics if rs is nil and Options.Receipts is ReceiptsToSubscribers.
func Handle(mux *session.Mux, rs *roster.Roster, opts *Options) *Manager {
	if opts == nil {
		opts = &Options{}
	}
	if rs == nil && opts.Receipts == ReceiptsToSubscribers {
		panic("im: ReceiptsToSubscribers needs the roster: call roster.Handle(mux) first and pass its result")
	}
	m := &Manager{
		roster:   rs,
		policy:   opts.Receipts,
		request:  opts.RequestReceipts,
		maxConvs: opts.MaxConversations,
		skipSID:  opts.IgnoreStanzaIDs,
		log:      opts.Logger,
		convs:    make(map[jid.JID]*conv),
	}
	m.lru.prev, m.lru.next = &m.lru, &m.lru
	if m.maxConvs <= 0 {
		m.maxConvs = DefaultMaxConversations
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	mux.HandleStart(m.start)
	mux.HandleMessage(session.MessageRoute{}, session.MessageHandlerFunc(m.handleMessage))
	mux.HandlePresence(session.PresenceRoute{}, session.PresenceHandlerFunc(m.handlePresence))
	mux.AddFeature(ns.ChatStates)
	if m.policy != NoReceipts {
		mux.AddFeature(ns.Receipts)
	}
	return m
}

// HandleMessage registers f to be called with every message the account
// receives, of every type, in arrival order, each once (a repeat is
// dropped: see RecentOrigins): chat, normal, headline and
// groupchat messages, and errors (type error: Message.Error is the
// *stanza.Error and Message.ID the id of the message it answers, which
// Send returned). A message whose extensions could not all be read comes
// with Fault set; one with no body and only unknown extensions comes with
// only Other set. f runs on the session's dispatcher, like a handler,
// after the Manager has updated the conversation with the sender and
// before it answers a receipt request.
func (m *Manager) HandleMessage(f func(ctx context.Context, s *session.Session, msg *Message)) {
	m.fmu.Lock()
	defer m.fmu.Unlock()
	m.handlers = append(m.handlers, f)
}

// StanzaIDs reports whether the account's server announced, at the start
// of the current stream, that it stamps stanza-ids (urn:xmpp:sid:0 in the
// disco#info of the account's bare JID). Always false with
// Options.IgnoreStanzaIDs.
func (m *Manager) StanzaIDs() bool { return m.sid.Load() }

func (m *Manager) start(ctx context.Context, s *session.Session, resumed bool) {
	if resumed {
		return
	}
	m.mu.Lock()
	for c := m.lru.next; c != &m.lru; c = c.next {
		c.unlock()
	}
	m.mu.Unlock()
	m.sid.Store(false)
	if m.skipSID {
		return
	}
	info, err := disco.GetInfo(ctx, s, s.Addr().Bare(), "")
	if err != nil {
		m.log.Debug("im: asking the account for its features; stanza-ids will not be trusted", "err", err)
		return
	}
	m.sid.Store(info.HasFeature(ns.SID))
}

func (m *Manager) handleMessage(ctx context.Context, s *session.Session, msg *stanza.Message) {
	in, repeat := m.receive(s.Addr(), msg)
	if repeat {
		// internal/testkit/deadlink counts these by the words "received again".
		m.log.Debug("im: message received again, dropped", "from", msg.From, "id", msg.ID, "origin-id", in.OriginID)
		return
	}
	m.fmu.RLock()
	fs := m.handlers
	m.fmu.RUnlock()
	for _, f := range fs {
		f(ctx, s, in)
	}
	if ack := m.receipt(s.Addr(), in); ack != nil {
		if err := s.Send(ctx, ack); err != nil {
			m.log.Debug("im: answering a receipt request", "to", in.From, "id", in.ID, "err", err)
		}
	}
}

// receive reads msg, received by account, and updates the conversation
// with its sender. repeat reports a message that came before (the same
// sender and origin-id, see RecentOrigins); the conversation is left as
// it is then.
func (m *Manager) receive(account jid.JID, msg *stanza.Message) (in *Message, repeat bool) {
	x, err := Parse(msg)
	if err != nil {
		m.log.Debug("im: message with a malformed extension", "from", msg.From, "id", msg.ID, "err", err)
	}
	in = &Message{Message: msg, Extensions: x, Fault: err}
	if m.origins.repeated(msg, x.OriginID) {
		return in, true
	}
	if id, ok := x.TrustedStanzaID(account, m.sid.Load()); ok {
		in.StanzaID = id
	}
	m.follow(in)
	return in, false
}

// receipt returns the acknowledgement of in, received by account, when in
// asks for one and the rules allow it: XEP-0184 §5 (never for an error or
// a groupchat message, or a message without id) and Options.Receipts.
// Headlines expect no answer (RFC 6121 §5.2.2) and get none either. It
// returns nil otherwise.
func (m *Manager) receipt(account jid.JID, in *Message) *stanza.Message {
	if m.policy == NoReceipts || !in.ReceiptRequest || in.ID == "" || in.From.IsZero() {
		return nil
	}
	switch in.Type {
	case stanza.MessageChat, stanza.MessageNormal, "":
	default:
		return nil
	}
	if m.policy == ReceiptsToSubscribers && !m.seesPresence(account, in.From) {
		m.log.Debug("im: receipt request from someone not subscribed to the account's presence: not answered", "from", in.From, "id", in.ID)
		return nil
	}
	return &stanza.Message{
		Header:     stanza.Header{ID: stanza.NewID(), To: in.From},
		Type:       in.Type,
		Extensions: []stanza.Payload{Receipt(in.ID)},
	}
}

// seesPresence reports whether from may see account's presence: it is the
// account itself, or a contact with subscription from or both.
func (m *Manager) seesPresence(account, from jid.JID) bool {
	bare := from.Bare()
	if bare == account.Bare() {
		return true
	}
	it, ok := m.roster.Cache().Item(bare)
	return ok && (it.Subscription == roster.SubscriptionFrom || it.Subscription == roster.SubscriptionBoth)
}

// Send sends msg, a chat, normal or headline message (RFC 6121 §5.2.2),
// once completed: an id when it has none; an origin-id (XEP-0359) equal to
// that id when it has none; a receipt request when Options.RequestReceipts
// is set and it is a chat or normal message with a body. It returns the
// id, which a receipt or an error answering the message will carry. msg
// itself is not modified.
//
// Send refuses, before sending anything, a message without To, of type
// error or groupchat, or with a thread parent but no thread id. The
// subject and body in the message's own language go in Subject and Body,
// the others in AltSubjects and AltBodies.
func (m *Manager) Send(ctx context.Context, s session.Sender, msg *stanza.Message) (string, error) {
	if msg == nil {
		return "", notSendable("nil message")
	}
	out := *msg
	out.Extensions = slices.Clip(out.Extensions)
	return m.send(ctx, s, &out)
}

// send completes out, which is the caller's to modify (its Extensions
// too, within their capacity), and sends it.
func (m *Manager) send(ctx context.Context, s session.Sender, out *stanza.Message) (string, error) {
	if err := m.complete(out); err != nil {
		return "", err
	}
	if err := s.Send(ctx, out); err != nil {
		return "", fmt.Errorf("im: sending message %s to %s: %w", out.ID, out.To, err)
	}
	return out.ID, nil
}

// ErrNotSendable is wrapped by Send's errors for a message it refuses to
// send.
var ErrNotSendable = errors.New("im: message not sendable")

func notSendable(why string) error { return fmt.Errorf("%w: %s", ErrNotSendable, why) }

// complete makes out the message Send sends: it checks it, then adds an
// id, an origin-id and a receipt request as Send says.
func (m *Manager) complete(out *stanza.Message) error {
	switch out.Type {
	case "", stanza.MessageNormal, stanza.MessageChat, stanza.MessageHeadline:
	case stanza.MessageError:
		return notSendable("an error is sent as Message.ErrorReply, with the id of the message it answers")
	case stanza.MessageGroupChat:
		return notSendable("groupchat messages go to a room, which this package does not join")
	default:
		return notSendable("unknown type " + string(out.Type))
	}
	if out.To.IsZero() {
		return notSendable("no recipient (To)")
	}
	if out.Thread.Parent != "" && out.Thread.ID == "" {
		return notSendable("a thread parent without a thread id")
	}
	if out.ID == "" {
		out.ID = stanza.NewID()
	}
	hasOrigin, hasRequest := false, false
	for _, p := range out.Extensions {
		switch p := p.(type) {
		case OriginID:
			hasOrigin = true
		case ReceiptRequest:
			hasRequest = true
		case *stanza.Raw:
			switch p.Name() {
			case originIDName:
				hasOrigin = true
			case requestName:
				hasRequest = true
			}
		}
	}
	if !hasOrigin {
		out.Extensions = append(out.Extensions, OriginID(out.ID))
	}
	if m.request && !hasRequest && out.Body != "" && out.Type != stanza.MessageHeadline {
		out.Extensions = append(out.Extensions, ReceiptRequest{})
	}
	return nil
}

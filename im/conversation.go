package im

import (
	"context"
	"fmt"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// Conversation is a one-to-one chat with a contact (RFC 6121 §5.1), as a
// Manager keeps it: the thread, the address the next message goes to, and
// what the contact has shown of chat states (XEP-0085). Get one with
// Manager.Conversation.
//
// Addressing follows RFC 6121 §5.1. Messages go to the contact's bare JID,
// which the server delivers to the contact's resources as it sees fit,
// until a chat message arrives from one of them; the conversation is then
// locked onto that full JID, and onto the next one that writes. It is
// unlocked (messages go to the bare JID again) when the locked resource
// sends presence (it went offline or changed its availability), sends an
// error or the chat state gone, and when a new stream begins. A message
// delivered late (with a delay: offline storage) does not lock: the
// resource that wrote it may be long gone.
//
// The thread is the last one the contact used, or a new one the Manager
// made; every message the Conversation sends carries it.
//
// Chat states follow XEP-0085 §5: a content message carries active unless
// the contact has shown it does not understand chat states (it sent a
// content message without one); a standalone notification (SendState) is
// sent only once the contact has sent a chat state itself, and never twice
// the same in a row. When a conversation unlocks, what is known of the
// contact's chat states is forgotten: the next resource may differ.
//
// A Conversation is a small value naming the contact; its state lives in
// the Manager, which keeps at most Options.MaxConversations and forgets
// the one idle longest past that. A forgotten conversation starts afresh
// (a new thread, unlocked) the next time it is used. A Conversation is
// safe for concurrent use.
type Conversation struct {
	m    *Manager
	with jid.JID
}

// conv is the state of a conversation, in the Manager's map and in its
// list of conversations, the most recently used first.
type conv struct {
	with       jid.JID
	thread     string
	locked     jid.JID // zero: unlocked
	peer       peerStates
	sent       ChatState // last chat state sent, NoChatState for none
	prev, next *conv
}

// peerStates is what a contact has shown of chat states.
type peerStates uint8

const (
	statesUnknown peerStates = iota
	statesSupported
	statesUnsupported
)

func (c *conv) unlock() {
	c.locked = jid.JID{}
	c.peer = statesUnknown
	c.sent = NoChatState
}

func (c *conv) to() jid.JID {
	if c.locked.IsZero() {
		return c.with
	}
	return c.locked
}

// Conversation returns the conversation with the contact whose bare JID is
// with's (a resource in with is ignored: a conversation starts at the bare
// JID).
func (m *Manager) Conversation(with jid.JID) Conversation {
	return Conversation{m: m, with: with.Bare()}
}

// Conversations returns the contacts of the conversations the Manager
// keeps, the most recently used first.
func (m *Manager) Conversations() []jid.JID {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]jid.JID, 0, len(m.convs))
	for c := m.lru.next; c != &m.lru; c = c.next {
		out = append(out, c.with)
	}
	return out
}

// conv returns the state of the conversation with the bare JID with,
// made if there is none, as the most recently used. m.mu is held.
func (m *Manager) convLocked(with jid.JID) *conv {
	c, ok := m.convs[with]
	if ok {
		if m.lru.next != c {
			c.prev.next, c.next.prev = c.next, c.prev
			m.pushFrontLocked(c)
		}
		return c
	}
	if len(m.convs) >= m.maxConvs {
		old := m.lru.prev
		old.prev.next, old.next.prev = old.next, old.prev
		delete(m.convs, old.with)
		m.log.Debug("im: forgetting the conversation idle longest", "with", old.with)
	}
	with = with.Clone() // kept: not the stanza's bytes
	c = &conv{with: with, thread: stanza.NewID()}
	m.convs[with] = c
	m.pushFrontLocked(c)
	return c
}

func (m *Manager) pushFrontLocked(c *conv) {
	c.prev, c.next = &m.lru, m.lru.next
	m.lru.next.prev = c
	m.lru.next = c
}

// follow updates the conversation with in's sender.
func (m *Manager) follow(in *Message) {
	from := in.From
	if from.IsZero() {
		return
	}
	switch in.Type {
	case stanza.MessageError:
		m.mu.Lock()
		if c, ok := m.convs[from.Bare()]; ok && c.locked == from {
			c.unlock()
		}
		m.mu.Unlock()
		return
	case stanza.MessageChat:
	default:
		return
	}
	if from.Resourcepart() == "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.convLocked(from.Bare())
	if in.Message.Thread.ID != "" {
		c.thread = in.Message.Thread.ID
	}
	if len(in.Delays) > 0 {
		return
	}
	if c.locked != from {
		c.unlock()
		c.locked = from
	}
	switch {
	case in.ChatState == Gone:
		c.unlock()
	case in.ChatState != NoChatState:
		c.peer = statesSupported
	case in.Body != "":
		c.peer = statesUnsupported
	}
}

// handlePresence unlocks the conversation locked onto p's sender: any
// available or unavailable presence from that resource, or a presence
// error from it or from the contact's bare JID.
func (m *Manager) handlePresence(_ context.Context, _ *session.Session, p *stanza.Presence) {
	switch p.Type {
	case stanza.PresenceAvailable, stanza.PresenceUnavailable, stanza.PresenceError:
	default:
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.convs[p.From.Bare()]
	if !ok || c.locked.IsZero() {
		return
	}
	if c.locked == p.From || p.Type == stanza.PresenceError && p.From.Resourcepart() == "" {
		c.unlock()
	}
}

// With returns the contact's bare JID.
func (c Conversation) With() jid.JID { return c.with }

// Thread returns the conversation's thread id.
func (c Conversation) Thread() string {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	return c.m.convLocked(c.with).thread
}

// To returns where the next message goes: the full JID the conversation is
// locked onto, or the contact's bare JID. Asking does not make the
// Manager keep a conversation it does not have (which could push out one
// in use).
func (c Conversation) To() jid.JID {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	if cv, ok := c.m.convs[c.with]; ok {
		return cv.to()
	}
	return c.with
}

// Send sends body to the contact as a chat message in the conversation's
// thread, as SendMessage does, and returns its id.
func (c Conversation) Send(ctx context.Context, s session.Sender, body string) (string, error) {
	return c.SendMessage(ctx, s, &stanza.Message{Body: body})
}

// SendMessage sends msg to the contact as a chat message: to the address
// To returns, of type chat, in the conversation's thread (unless msg has a
// thread of its own), with active when it has a body and no chat state of
// its own and the contact has not shown that it does not understand chat
// states, then completed and sent as Manager.Send does. It returns the
// message's id. msg's To and Type are ignored; msg itself is not
// modified.
func (c Conversation) SendMessage(ctx context.Context, s session.Sender, msg *stanza.Message) (string, error) {
	if msg == nil {
		return "", notSendable("nil message")
	}
	out := *msg
	out.Type = stanza.MessageChat
	hasState := false
	for _, p := range msg.Extensions {
		switch p := p.(type) {
		case ChatState:
			hasState = true
		case *stanza.Raw:
			hasState = hasState || p.Name().Space == NSChatStates
		}
	}
	// Room for active, the origin-id and the receipt request that may be
	// added, so that they cost one allocation.
	out.Extensions = make([]stanza.Payload, len(msg.Extensions), len(msg.Extensions)+3)
	copy(out.Extensions, msg.Extensions)
	c.m.mu.Lock()
	cv := c.m.convLocked(c.with)
	out.To = cv.to()
	if out.Thread.ID == "" {
		out.Thread.ID = cv.thread
	}
	if !hasState && out.Body != "" && cv.peer != statesUnsupported {
		out.Extensions = append(out.Extensions, Active)
		cv.sent = Active
	}
	c.m.mu.Unlock()
	return c.m.send(ctx, s, &out)
}

// SendState sends the chat state st to the contact as a standalone
// notification (XEP-0085 §5.5): a chat message in the conversation's
// thread with no body. It sends nothing, and returns nil, when the contact
// has not yet sent a chat state itself or when st is the state last sent.
func (c Conversation) SendState(ctx context.Context, s session.Sender, st ChatState) error {
	if st == NoChatState || int(st) >= len(chatStateNames) {
		return fmt.Errorf("im: SendState: not a chat state: %v", st)
	}
	c.m.mu.Lock()
	cv := c.m.convLocked(c.with)
	if cv.peer != statesSupported || cv.sent == st {
		c.m.mu.Unlock()
		return nil
	}
	cv.sent = st
	msg := &stanza.Message{
		Header:     stanza.Header{ID: stanza.NewID(), To: cv.to()},
		Type:       stanza.MessageChat,
		Thread:     stanza.Thread{ID: cv.thread},
		Extensions: []stanza.Payload{st},
	}
	c.m.mu.Unlock()
	if err := s.Send(ctx, msg); err != nil {
		return fmt.Errorf("im: sending chat state %s to %s: %w", st, msg.To, err)
	}
	return nil
}

package im

import (
	"encoding/xml"
	"fmt"

	"mellium.im/xmlstream"

	"github.com/parleyim/parley/internal/xmlenc"
)

// ChatState is a chat state notification of XEP-0085: what the sender is
// doing in a conversation. It implements stanza.Payload; the zero value,
// NoChatState, means a message carries none and cannot be written.
type ChatState uint8

// Chat states (XEP-0085 §2).
const (
	NoChatState ChatState = iota
	// Active: the user takes part in the conversation.
	Active
	// Composing: the user is composing a message.
	Composing
	// Paused: the user was composing and has stopped for a while.
	Paused
	// Inactive: the user has not been taking part for a while.
	Inactive
	// Gone: the user has left the conversation.
	Gone
)

var chatStateNames = [...]string{"", "active", "composing", "paused", "inactive", "gone"}

// String returns the element name of the state ("active", "composing",
// "paused", "inactive" or "gone"), "none" for NoChatState and "invalid"
// for a value out of range.
func (s ChatState) String() string {
	switch {
	case s == NoChatState:
		return "none"
	case int(s) < len(chatStateNames):
		return chatStateNames[s]
	}
	return "invalid"
}

// parseChatState returns the state an element of the chat states
// namespace named local stands for.
func parseChatState(local string) (ChatState, bool) {
	for i := Active; int(i) < len(chatStateNames); i++ {
		if chatStateNames[i] == local {
			return i, true
		}
	}
	return NoChatState, false
}

// WriteXML writes the state as an empty element, such as
// <composing xmlns='http://jabber.org/protocol/chatstates'/>. NoChatState
// and values out of range are an error.
func (s ChatState) WriteXML(w xmlstream.TokenWriter) (int, error) {
	if s == NoChatState || int(s) >= len(chatStateNames) {
		return 0, fmt.Errorf("im: cannot write chat state %d (%s)", uint8(s), s)
	}
	t := xmlenc.Tokens{W: w}
	t.Empty(xml.Name{Space: NSChatStates, Local: chatStateNames[s]})
	return t.N, t.Err
}

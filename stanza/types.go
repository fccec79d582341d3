package stanza

// MessageType is the type attribute of a message (RFC 6121 §5.2.2).
type MessageType string

// Message types. A missing or unknown type decodes as MessageNormal, and
// MessageNormal (or "") is written without a type attribute.
const (
	MessageNormal    MessageType = "normal"
	MessageChat      MessageType = "chat"
	MessageGroupChat MessageType = "groupchat"
	MessageHeadline  MessageType = "headline"
	MessageError     MessageType = "error"
)

func (t MessageType) valid() bool {
	switch t {
	case "", MessageNormal, MessageChat, MessageGroupChat, MessageHeadline, MessageError:
		return true
	}
	return false
}

// PresenceType is the type attribute of a presence (RFC 6121 §4.7.1).
// Available presence has no type attribute.
type PresenceType string

// Presence types.
const (
	PresenceAvailable    PresenceType = ""
	PresenceUnavailable  PresenceType = "unavailable"
	PresenceSubscribe    PresenceType = "subscribe"
	PresenceSubscribed   PresenceType = "subscribed"
	PresenceUnsubscribe  PresenceType = "unsubscribe"
	PresenceUnsubscribed PresenceType = "unsubscribed"
	PresenceProbe        PresenceType = "probe"
	PresenceError        PresenceType = "error"
)

func (t PresenceType) valid() bool {
	switch t {
	case PresenceAvailable, PresenceUnavailable, PresenceSubscribe, PresenceSubscribed,
		PresenceUnsubscribe, PresenceUnsubscribed, PresenceProbe, PresenceError:
		return true
	}
	return false
}

// IQType is the type attribute of an iq (RFC 6120 §8.2.3).
type IQType string

// IQ types.
const (
	IQGet    IQType = "get"
	IQSet    IQType = "set"
	IQResult IQType = "result"
	IQError  IQType = "error"
)

func (t IQType) valid() bool {
	switch t {
	case IQGet, IQSet, IQResult, IQError:
		return true
	}
	return false
}

// Show is the availability sub-state of an available presence (RFC 6121
// §4.7.2.1). ShowNone means plain "available".
type Show string

// Show values.
const (
	ShowNone Show = ""
	ShowAway Show = "away"
	ShowChat Show = "chat"
	ShowDND  Show = "dnd"
	ShowXA   Show = "xa"
)

func (s Show) valid() bool {
	switch s {
	case ShowNone, ShowAway, ShowChat, ShowDND, ShowXA:
		return true
	}
	return false
}

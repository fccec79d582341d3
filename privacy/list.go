package privacy

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/jid"
)

// NS is the namespace of privacy lists, jabber:iq:privacy (RFC 3921 §10,
// XEP-0016).
const NS = ns.Privacy

// ErrInvalid is wrapped by the errors of Validate and of the requests that
// refuse to send what breaks a rule of RFC 3921 §10 or XEP-0191: an empty
// list name, two items with the same order, a type, action or value out of
// range, a block without a JID. Nothing is sent then.
var ErrInvalid = errors.New("privacy: invalid request")

// Type is what an item matches on (RFC 3921 §10.1): a JID, a roster
// group, a subscription state, or everything (the fall-through item, with
// no type attribute).
type Type uint8

// Item types. The zero value is TypeNone, the fall-through item that
// matches every stanza.
const (
	TypeNone Type = iota
	TypeJID
	TypeGroup
	TypeSubscription
)

var typeNames = [...]string{"", "jid", "group", "subscription"}

// String returns the value of the type attribute: "jid", "group",
// "subscription", or "" for TypeNone.
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "invalid"
}

// Action is what an item does with a stanza it matches: allow it or deny
// it.
type Action uint8

// Actions. The zero value is Allow.
const (
	Allow Action = iota
	Deny
)

// String returns the value of the action attribute: "allow" or "deny".
func (a Action) String() string {
	switch a {
	case Allow:
		return "allow"
	case Deny:
		return "deny"
	}
	return "invalid"
}

// Kinds is a set of the stanza kinds an item covers (RFC 3921 §10.1): the
// child elements <message/>, <iq/>, <presence-in/> and <presence-out/> of
// an item. The empty set means every kind, as an item without children
// does.
type Kinds uint8

// Stanza kinds, to be combined with |.
const (
	Message Kinds = 1 << iota
	IQ
	PresenceIn
	PresenceOut

	allKinds = Message | IQ | PresenceIn | PresenceOut
)

var kindNames = [...]string{"message", "iq", "presence-in", "presence-out"}

// Covers reports whether an item with kinds k applies to stanzas of the
// kind kind: when k is empty (every kind) or holds kind.
func (k Kinds) Covers(kind Kinds) bool {
	return k == 0 || k&kind != 0
}

// Subscription values of an item of type subscription.
const (
	SubscriptionNone = "none"
	SubscriptionTo   = "to"
	SubscriptionFrom = "from"
	SubscriptionBoth = "both"
)

// Item is one rule of a privacy list (RFC 3921 §10.1).
//
// Type says what Value is: a JID (in its string form; full, bare,
// domain/resource or domain), a roster group name, or a subscription
// state (SubscriptionNone, …To, …From, …Both). A TypeNone item has no
// value and matches everything: it is the list's fall-through. Action
// allows or denies the stanzas the item matches; Order places the item in
// its list (lowest first), and is unique within the list. Kinds are the
// stanza kinds the item covers, none for all.
//
// An Item is a plain value.
type Item struct {
	Type   Type
	Value  string
	Action Action
	Order  uint32
	Kinds  Kinds
}

// JID returns the JID of an item of type jid, and whether it has one: the
// zero JID and false for other types or a value that does not parse.
func (it Item) JID() (jid.JID, bool) {
	if it.Type != TypeJID {
		return jid.JID{}, false
	}
	j, err := jid.Parse(it.Value)
	if err != nil {
		return jid.JID{}, false
	}
	return j, true
}

// Validate reports whether it can be sent: a type, action and kinds in
// range, a value that is a JID that parses for TypeJID, a group name that
// is not empty for TypeGroup, one of none, to, from and both for
// TypeSubscription, and no value for TypeNone. The error wraps ErrInvalid.
func (it Item) Validate() error {
	if _, err := it.checkedValue(); err != nil {
		return err
	}
	if it.Action > Deny {
		return invalid("item %d: action %d out of range", it.Order, it.Action)
	}
	if it.Kinds&^allKinds != 0 {
		return invalid("item %d: stanza kinds %#x out of range", it.Order, uint8(it.Kinds))
	}
	return nil
}

// checkedValue validates the type and value of it and returns the value
// in the form it is sent: a JID in its normalised form.
func (it Item) checkedValue() (string, error) {
	switch it.Type {
	case TypeNone:
		if it.Value != "" {
			return "", invalid("item %d: value %q without a type", it.Order, it.Value)
		}
	case TypeJID:
		j, err := jid.Parse(it.Value)
		if err != nil {
			return "", fmt.Errorf("%w: item %d: jid %q: %w", ErrInvalid, it.Order, it.Value, err)
		}
		return j.String(), nil
	case TypeGroup:
		if it.Value == "" {
			return "", invalid("item %d: empty group name", it.Order)
		}
	case TypeSubscription:
		switch it.Value {
		case SubscriptionNone, SubscriptionTo, SubscriptionFrom, SubscriptionBoth:
		default:
			return "", invalid("item %d: subscription %q is not none, to, from or both", it.Order, it.Value)
		}
	default:
		return "", invalid("item %d: type %d out of range", it.Order, it.Type)
	}
	return it.Value, nil
}

// List is a named privacy list (RFC 3921 §10): its items, which a server
// applies in increasing Order, the first that matches deciding.
//
// A List is a plain value; Clone copies its Items, the part it shares
// when copied.
type List struct {
	Name  string
	Items []Item
}

// Clone returns a copy of l that shares nothing with it.
func (l List) Clone() List {
	l.Items = slices.Clone(l.Items)
	return l
}

// Validate reports whether l can be sent to the server: a name that is not
// empty, items that are valid (Item.Validate) with orders unique within
// the list. The error wraps ErrInvalid.
func (l List) Validate() error {
	if l.Name == "" {
		return invalid("list without a name")
	}
	seen := make(map[uint32]struct{}, len(l.Items))
	for _, it := range l.Items {
		if err := it.Validate(); err != nil {
			return fmt.Errorf("list %q: %w", l.Name, err)
		}
		if _, dup := seen[it.Order]; dup {
			return invalid("list %q: order %d twice", l.Name, it.Order)
		}
		seen[it.Order] = struct{}{}
	}
	return nil
}

// Sorted returns a copy of l's items in increasing Order, the order in
// which a server applies them.
func (l List) Sorted() []Item {
	items := slices.Clone(l.Items)
	slices.SortStableFunc(items, func(a, b Item) int {
		switch {
		case a.Order < b.Order:
			return -1
		case a.Order > b.Order:
			return 1
		}
		return 0
	})
	return items
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

func formatOrder(o uint32) string { return strconv.FormatUint(uint64(o), 10) }

package roster

import (
	"slices"

	"github.com/parleyim/parley/jid"
)

// Subscription is the subscription state of a roster item (RFC 6121
// §2.1.2.5): whether the contact receives the user's presence, the user
// the contact's, both or neither. The server owns it; a client only
// reflects it.
type Subscription uint8

// Subscription states. The zero value is SubscriptionNone.
// SubscriptionRemove exists only on the wire: in a roster set it asks the
// server to remove the item, in a push it says the item is gone. No
// roster item held by a Cache has it.
const (
	SubscriptionNone Subscription = iota
	SubscriptionTo
	SubscriptionFrom
	SubscriptionBoth
	SubscriptionRemove
)

var subscriptionNames = [...]string{"none", "to", "from", "both", "remove"}

// String returns the value of the subscription attribute: "none", "to",
// "from", "both" or "remove".
func (s Subscription) String() string {
	if int(s) < len(subscriptionNames) {
		return subscriptionNames[s]
	}
	return "invalid"
}

// parseSubscription maps an attribute value to a Subscription; an absent
// attribute is "none" (RFC 6121 §2.1.2.5).
func parseSubscription(v string) (Subscription, bool) {
	if v == "" {
		return SubscriptionNone, true
	}
	for i, name := range subscriptionNames {
		if v == name {
			return Subscription(i), true
		}
	}
	return 0, false
}

// Item is one contact in a roster (RFC 6121 §2.1.2).
//
// JID identifies the item (usually a bare JID). Name is the user's
// handle for the contact, "" for none. Ask says a subscription request to
// the contact is pending (ask='subscribe'); Approved that the user
// pre-approved the contact's subscription request (RFC 6121 §3.4). Both,
// like Subscription, are the server's state: a roster set never sends
// them. Groups are the names of the groups the item belongs to, in the
// order received.
//
// An Item is a plain value; Clone copies its Groups, the one part it
// shares when copied.
type Item struct {
	JID          jid.JID
	Name         string
	Subscription Subscription
	Ask          bool
	Approved     bool
	Groups       []string
}

// Clone returns a copy of it that shares nothing with it.
func (it Item) Clone() Item {
	it.Groups = slices.Clone(it.Groups)
	return it
}

// InGroup reports whether the item belongs to the group named group.
func (it Item) InGroup(group string) bool {
	return slices.Contains(it.Groups, group)
}

// Equal reports whether it and other hold the same values, groups compared
// in order.
func (it Item) Equal(other Item) bool {
	return it.JID == other.JID && it.Name == other.Name &&
		it.Subscription == other.Subscription && it.Ask == other.Ask &&
		it.Approved == other.Approved && slices.Equal(it.Groups, other.Groups)
}

package roster

import (
	"encoding/xml"
	"errors"
	"fmt"

	"mellium.im/xmlstream"

	"github.com/parleyim/parley/internal/xmlenc"
)

var (
	queryName = xml.Name{Space: NS, Local: "query"}
	itemName  = xml.Name{Space: NS, Local: "item"}
	groupName = xml.Name{Space: NS, Local: "group"}
)

// Query is the <query xmlns='jabber:iq:roster'/> element (RFC 6121 §2.1):
// the payload of a roster get (no items), of its result (the whole
// roster), of a roster set and of a roster push (one item each).
//
// Ver is the roster version (RFC 6121 §2.6). Versioned says the element
// carries a ver attribute, which matters where the empty version means
// something: a get with ver=” asks for a versioned roster without having
// one, a get without ver asks for an unversioned one. ParseQuery sets
// Versioned when the attribute is present; WriteXML writes the attribute
// when Versioned is set or Ver is not empty.
//
// Query implements stanza.Payload. It is a plain value: not safe to mutate
// from several goroutines at once.
type Query struct {
	Ver       string
	Versioned bool
	Items     []Item
}

// WriteXML writes q as <query xmlns='jabber:iq:roster'/> with its items.
// An item without a JID or with a Subscription out of range is an error,
// and nothing further is written.
func (q *Query) WriteXML(w xmlstream.TokenWriter) (int, error) {
	tw := xmlenc.Tokens{W: w}
	var attrs []xml.Attr
	if q.Versioned || q.Ver != "" {
		attrs = []xml.Attr{{Name: xml.Name{Local: "ver"}, Value: q.Ver}}
	}
	tw.Token(xml.StartElement{Name: queryName, Attr: attrs})
	for i := range q.Items {
		if err := writeItem(&tw, &q.Items[i]); err != nil {
			return tw.N, err
		}
	}
	tw.Token(xml.EndElement{Name: queryName})
	return tw.N, tw.Err
}

// writeItem writes one <item/>; it returns an error for an item that
// cannot be written (which is also recorded in t.Err).
func writeItem(t *xmlenc.Tokens, it *Item) error {
	if it.JID.IsZero() {
		t.Err = errors.New("roster: item without a JID")
		return t.Err
	}
	if it.Subscription > SubscriptionRemove {
		t.Err = fmt.Errorf("roster: item %s: invalid subscription %d", it.JID, it.Subscription)
		return t.Err
	}
	attrs := make([]xml.Attr, 0, 5)
	attrs = append(attrs, xml.Attr{Name: xml.Name{Local: "jid"}, Value: it.JID.String()})
	if it.Name != "" {
		attrs = append(attrs, xml.Attr{Name: xml.Name{Local: "name"}, Value: it.Name})
	}
	if it.Subscription != SubscriptionNone {
		attrs = append(attrs, xml.Attr{Name: xml.Name{Local: "subscription"}, Value: it.Subscription.String()})
	}
	if it.Ask {
		attrs = append(attrs, xml.Attr{Name: xml.Name{Local: "ask"}, Value: "subscribe"})
	}
	if it.Approved {
		attrs = append(attrs, xml.Attr{Name: xml.Name{Local: "approved"}, Value: "true"})
	}
	t.Token(xml.StartElement{Name: itemName, Attr: attrs})
	for _, g := range it.Groups {
		t.Token(xml.StartElement{Name: groupName})
		if g != "" {
			t.Token(xml.CharData(g))
		}
		t.Token(xml.EndElement{Name: groupName})
	}
	t.Token(xml.EndElement{Name: itemName})
	return t.Err
}

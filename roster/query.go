package roster

import (
	"encoding/xml"
	"errors"
	"fmt"

	"mellium.im/xmlstream"
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
	tw := tokenWriter{w: w}
	var attrs []xml.Attr
	if q.Versioned || q.Ver != "" {
		attrs = []xml.Attr{{Name: xml.Name{Local: "ver"}, Value: q.Ver}}
	}
	tw.token(xml.StartElement{Name: queryName, Attr: attrs})
	for i := range q.Items {
		if err := tw.item(&q.Items[i]); err != nil {
			return tw.n, err
		}
	}
	tw.token(xml.EndElement{Name: queryName})
	return tw.n, tw.err
}

// tokenWriter writes tokens and keeps the count and the first error.
type tokenWriter struct {
	w   xmlstream.TokenWriter
	n   int
	err error
}

func (t *tokenWriter) token(tok xml.Token) {
	if t.err != nil {
		return
	}
	if t.err = t.w.EncodeToken(tok); t.err == nil {
		t.n++
	}
}

// item writes one <item/>; it returns an error for an item that cannot be
// written (which is also recorded in t.err).
func (t *tokenWriter) item(it *Item) error {
	if it.JID.IsZero() {
		t.err = errors.New("roster: item without a JID")
		return t.err
	}
	if it.Subscription > SubscriptionRemove {
		t.err = fmt.Errorf("roster: item %s: invalid subscription %d", it.JID, it.Subscription)
		return t.err
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
	t.token(xml.StartElement{Name: itemName, Attr: attrs})
	for _, g := range it.Groups {
		t.token(xml.StartElement{Name: groupName})
		if g != "" {
			t.token(xml.CharData(g))
		}
		t.token(xml.EndElement{Name: groupName})
	}
	t.token(xml.EndElement{Name: itemName})
	return t.err
}

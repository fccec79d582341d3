package privacy

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"mellium.im/xmlstream"

	"github.com/parleyim/parley/internal/xmlenc"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

var (
	queryName   = xml.Name{Space: NS, Local: "query"}
	activeName  = xml.Name{Space: NS, Local: "active"}
	defaultName = xml.Name{Space: NS, Local: "default"}
	listName    = xml.Name{Space: NS, Local: "list"}
	itemName    = xml.Name{Space: NS, Local: "item"}
)

// ErrMalformed is wrapped by the errors of ParseQuery and ParseBlocking,
// and by those of the requests and push handlers, when the server's data
// breaks a rule of the protocol.
var ErrMalformed = errors.New("privacy: malformed element")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// Query is the <query xmlns='jabber:iq:privacy'/> element (RFC 3921 §10):
// the payload of every privacy-list request, result and push.
//
//   - Empty, it asks for the names of the lists (a get).
//   - With HasActive, it holds <active/>: named Active when Active is not
//     empty, and declining the active list (a set) when it is.
//   - With HasDefault, it holds <default/>, the same way.
//   - Lists are the <list/> elements: the names of all lists in a result to
//     the names get; one list by name in a get, in a push and in a set that
//     removes it (no items); one list with its items in a result and in a
//     set that creates or replaces it.
//
// A set holds exactly one of <active/>, <default/> and <list/>; the
// request functions build the right one. Query implements stanza.Payload.
// It is a plain value: not safe to mutate from several goroutines at once.
type Query struct {
	Active     string
	HasActive  bool
	Default    string
	HasDefault bool
	Lists      []List
}

// WriteXML writes q as <query xmlns='jabber:iq:privacy'/>. An item that
// fails Item.Validate, or a list without a name, is an error, and nothing
// further is written; orders are not checked here (List.Validate does).
func (q *Query) WriteXML(w xmlstream.TokenWriter) (int, error) {
	tw := xmlenc.Tokens{W: w}
	tw.Start(queryName)
	if q.HasActive {
		tw.Empty(activeName, xmlenc.OptAttr(nil, "name", q.Active)...)
	}
	if q.HasDefault {
		tw.Empty(defaultName, xmlenc.OptAttr(nil, "name", q.Default)...)
	}
	for i := range q.Lists {
		if err := writeList(&tw, &q.Lists[i]); err != nil {
			return tw.N, err
		}
	}
	tw.End(queryName)
	return tw.N, tw.Err
}

// writeList writes one <list/>; an error is also recorded in t.Err.
func writeList(t *xmlenc.Tokens, l *List) error {
	if l.Name == "" {
		t.Err = invalid("list without a name")
		return t.Err
	}
	t.Start(listName, xml.Attr{Name: xml.Name{Local: "name"}, Value: l.Name})
	for i := range l.Items {
		if err := writeItem(t, &l.Items[i]); err != nil {
			return err
		}
	}
	t.End(listName)
	return t.Err
}

// writeItem writes one <item/>; an error is also recorded in t.Err.
func writeItem(t *xmlenc.Tokens, it *Item) error {
	if err := it.Validate(); err != nil {
		t.Err = err
		return err
	}
	value, _ := it.checkedValue()
	attrs := make([]xml.Attr, 0, 4)
	if it.Type != TypeNone {
		attrs = append(attrs,
			xml.Attr{Name: xml.Name{Local: "type"}, Value: it.Type.String()},
			xml.Attr{Name: xml.Name{Local: "value"}, Value: value})
	}
	attrs = append(attrs,
		xml.Attr{Name: xml.Name{Local: "action"}, Value: it.Action.String()},
		xml.Attr{Name: xml.Name{Local: "order"}, Value: formatOrder(it.Order)})
	t.Start(itemName, attrs...)
	for i, name := range kindNames {
		if it.Kinds&(1<<i) != 0 {
			t.Empty(xml.Name{Space: NS, Local: name})
		}
	}
	t.End(itemName)
	return t.Err
}

// ParseQuery reads a <query xmlns='jabber:iq:privacy'/> element, as
// received in a privacy-list result or push. The element is refused whole,
// with an error wrapping ErrMalformed, when it is not a privacy query, when
// a <list/> has no name, or when one of its items has a type other than
// jid, group and subscription, no value for its type or a value invalid
// for it (a JID that does not parse, an empty group, a subscription other
// than none, to, from and both), no action or one other than allow and
// deny, or no order or one that is not an unsigned 32-bit integer. A JID
// value is kept in its normalised form. Unknown child elements and
// attributes are skipped; a second <active/> or <default/> replaces the
// first.
//
// ParseQuery keeps what the element says: whether a list's orders are
// unique, or a set holds one element, depends on what the element answers
// and is checked where that is known (List.Validate).
func ParseQuery(r *stanza.Raw) (*Query, error) {
	if r == nil {
		return nil, malformed("no privacy query")
	}
	if r.Name() != queryName {
		return nil, malformed("got <%s xmlns='%s'>, want a privacy query", r.Name().Local, r.Name().Space)
	}
	tr := xml.NewDecoder(strings.NewReader(r.String()))
	if _, err := xmlenc.Start(tr); err != nil {
		return nil, readError(err)
	}
	q := &Query{}
	for {
		tok, err := tr.Token()
		if err != nil {
			return nil, readError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name {
			case activeName:
				q.Active, _ = xmlenc.Attr(t, "name")
				q.HasActive = true
				err = skip(tr)
			case defaultName:
				q.Default, _ = xmlenc.Attr(t, "name")
				q.HasDefault = true
				err = skip(tr)
			case listName:
				var l List
				if l, err = readList(tr, t); err == nil {
					q.Lists = append(q.Lists, l)
				}
			default:
				err = skip(tr)
			}
			if err != nil {
				return nil, err
			}
		case xml.EndElement:
			return q, nil
		}
	}
}

// readList reads the <list/> whose start was just read, through its end.
func readList(tr xml.TokenReader, start xml.StartElement) (List, error) {
	var l List
	l.Name, _ = xmlenc.Attr(start, "name")
	if l.Name == "" {
		return l, malformed("list without a name")
	}
	for {
		tok, err := tr.Token()
		if err != nil {
			return l, readError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name != itemName {
				if err := skip(tr); err != nil {
					return l, err
				}
				continue
			}
			it, err := readItem(tr, t, l.Name)
			if err != nil {
				return l, err
			}
			l.Items = append(l.Items, it)
		case xml.EndElement:
			return l, nil
		}
	}
}

// readItem reads the <item/> of the list named list whose start was just
// read, through its end.
func readItem(tr xml.TokenReader, start xml.StartElement, list string) (Item, error) {
	bad := func(format string, args ...any) error {
		return malformed("list %q: "+format, append([]any{list}, args...)...)
	}
	var it Item
	typ, _ := xmlenc.Attr(start, "type")
	value, hasValue := xmlenc.Attr(start, "value")
	action, _ := xmlenc.Attr(start, "action")
	order, hasOrder := xmlenc.Attr(start, "order")
	if !hasOrder {
		return it, bad("item without order")
	}
	o, err := strconv.ParseUint(order, 10, 32)
	if err != nil {
		return it, bad("item order %q is not an unsigned integer", order)
	}
	it.Order = uint32(o)
	switch action {
	case "allow":
		it.Action = Allow
	case "deny":
		it.Action = Deny
	default:
		return it, bad("item %d: action %q is not allow or deny", it.Order, action)
	}
	switch typ {
	case "":
		// The fall-through item: a value without a type means nothing.
	case "jid", "group", "subscription":
		if !hasValue {
			return it, bad("item %d: type %s without a value", it.Order, typ)
		}
		switch typ {
		case "jid":
			it.Type = TypeJID
			j, err := jid.Parse(value)
			if err != nil {
				return it, fmt.Errorf("%w: list %q: item %d: jid %q: %w", ErrMalformed, list, it.Order, value, err)
			}
			value = j.String()
		case "group":
			it.Type = TypeGroup
			if value == "" {
				return it, bad("item %d: empty group name", it.Order)
			}
		default:
			it.Type = TypeSubscription
			switch value {
			case SubscriptionNone, SubscriptionTo, SubscriptionFrom, SubscriptionBoth:
			default:
				return it, bad("item %d: subscription %q is not none, to, from or both", it.Order, value)
			}
		}
		it.Value = value
	default:
		return it, bad("item %d: unknown type %q", it.Order, typ)
	}
	for {
		tok, err := tr.Token()
		if err != nil {
			return it, readError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space == NS {
				for i, name := range kindNames {
					if t.Name.Local == name {
						it.Kinds |= 1 << i
					}
				}
			}
			if err := skip(tr); err != nil {
				return it, err
			}
		case xml.EndElement:
			return it, nil
		}
	}
}

func skip(tr xml.TokenReader) error {
	if err := xmlstream.Skip(tr); err != nil {
		return readError(err)
	}
	return nil
}

// readError wraps a failure to read a Raw's tokens, which cannot happen
// short of a bug in stanza.Raw: an EOF before the end is unexpected.
func readError(err error) error {
	return fmt.Errorf("privacy: reading element: %w", xmlenc.NoEOF(err))
}

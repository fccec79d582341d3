package roster

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	"mellium.im/xmlstream"

	"github.com/parleyim/parley/internal/xmlenc"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

// ErrMalformed is wrapped by the errors of ParseQuery and by those of
// Fetch, Set and the push handler when the server's data breaks a rule of
// the protocol.
var ErrMalformed = errors.New("roster: malformed roster query")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// ParseQuery reads a <query xmlns='jabber:iq:roster'/> element, as
// received in a roster result, set or push. The element is refused whole,
// with an error wrapping ErrMalformed, when it is not a roster query or
// when one of its items has no jid, an invalid jid, a subscription other
// than none, to, from, both or remove, an ask other than subscribe (or
// RFC 3921's unsubscribe, read as no pending request) or an approved that
// is not a boolean. Unknown child elements and attributes are skipped.
//
// ParseQuery keeps what the element says: the rules on the number of items,
// on subscription='remove' and on empty or duplicate groups depend on
// whether the element is a result, a set or a push, and are checked where
// that is known (Fetch and the push handler; a server checks a set).
func ParseQuery(r *stanza.Raw) (*Query, error) {
	if r == nil {
		return nil, malformed("no roster query")
	}
	if r.Name() != queryName {
		return nil, malformed("got <%s xmlns='%s'>, want a roster query", r.Name().Local, r.Name().Space)
	}
	// The Raw's own bytes, read by a decoder of their own: Raw.TokenReader
	// would copy every start element to drop its namespace declarations.
	tr := xml.NewDecoder(strings.NewReader(r.String()))
	tok, err := tr.Token()
	if err != nil {
		return nil, fmt.Errorf("roster: reading query: %w", err)
	}
	start, ok := tok.(xml.StartElement)
	if !ok {
		return nil, malformed("query does not begin with a start tag")
	}
	q := &Query{}
	q.Ver, q.Versioned = xmlenc.Attr(start, "ver")
	for {
		tok, err := tr.Token()
		if err != nil {
			return nil, readError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name != itemName {
				if err := skip(tr); err != nil {
					return nil, err
				}
				continue
			}
			it, err := readItem(tr, t)
			if err != nil {
				return nil, err
			}
			q.Items = append(q.Items, it)
		case xml.EndElement:
			return q, nil
		}
	}
}

// readItem reads the <item/> whose start was just read, through its end.
func readItem(tr xml.TokenReader, start xml.StartElement) (Item, error) {
	var it Item
	var s, sub, ask, approved string
	var hasJID bool
	for _, a := range start.Attr {
		if a.Name.Space != "" {
			continue
		}
		switch a.Name.Local {
		case "jid":
			s, hasJID = a.Value, true
		case "name":
			it.Name = a.Value
		case "subscription":
			sub = a.Value
		case "ask":
			ask = a.Value
		case "approved":
			approved = a.Value
		}
	}
	if !hasJID || s == "" {
		return it, malformed("item without jid")
	}
	j, err := jid.Parse(s)
	if err != nil {
		return it, fmt.Errorf("%w: item jid %q: %w", ErrMalformed, s, err)
	}
	it.JID = j
	var ok bool
	if it.Subscription, ok = parseSubscription(sub); !ok {
		return it, malformed("item %s: unknown subscription %q", j, sub)
	}
	switch ask {
	case "", "unsubscribe": // RFC 3921 §7.1 allowed unsubscribe; RFC 6121 dropped it
	case "subscribe":
		it.Ask = true
	default:
		return it, malformed("item %s: unknown ask %q", j, ask)
	}
	switch approved {
	case "", "false", "0":
	case "true", "1":
		it.Approved = true
	default:
		return it, malformed("item %s: approved %q is not a boolean", j, approved)
	}
	for {
		tok, err := tr.Token()
		if err != nil {
			return it, readError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name != groupName {
				if err := skip(tr); err != nil {
					return it, err
				}
				continue
			}
			g, err := text(tr)
			if err != nil {
				return it, err
			}
			it.Groups = append(it.Groups, g)
		case xml.EndElement:
			return it, nil
		}
	}
}

// text returns the character data inside the element whose start was just
// read (its children's text included) and reads through its end.
func text(tr xml.TokenReader) (string, error) {
	v, err := xmlenc.Text(tr)
	if err != nil {
		return "", readError(err)
	}
	return v, nil
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
	return fmt.Errorf("roster: reading query: %w", xmlenc.NoEOF(err))
}

package im

import (
	"encoding/xml"
	"errors"
	"fmt"

	"github.com/parleyim/parley/internal/xmlenc"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

// ErrMalformed is wrapped by every error of Parse: an extension it knows
// breaks a rule of its XEP.
var ErrMalformed = errors.New("im: malformed extension")

// Extensions are the extensions of one message, as Parse reads them.
//
// Each field is the zero value when the message does not carry that
// extension. Receipt is the id of the message a <received/> acknowledges;
// Delays and StanzaIDs are in document order. Other holds the message's
// other extensions as they came (*stanza.Raw for a received message), in
// document order: those Parse does not know, the later ones of a kind of
// which only the first is read, and those it could not read.
//
// Extensions is a plain value: not safe to mutate from several goroutines
// at once.
type Extensions struct {
	ReceiptRequest bool
	Receipt        Receipt
	ChatState      ChatState
	Delays         []Delay
	OriginID       OriginID
	StanzaIDs      []StanzaID
	Other          []stanza.Payload
}

// Payloads returns the extensions as payloads to send: the receipt
// request, the receipt, the chat state, the delays, the origin-id and the
// stanza-ids that are set, then Other. A message built with them parses
// back to the same Extensions.
func (x Extensions) Payloads() []stanza.Payload {
	ps := make([]stanza.Payload, 0, 4+len(x.Delays)+len(x.StanzaIDs)+len(x.Other))
	if x.ReceiptRequest {
		ps = append(ps, ReceiptRequest{})
	}
	if x.Receipt != "" {
		ps = append(ps, x.Receipt)
	}
	if x.ChatState != NoChatState {
		ps = append(ps, x.ChatState)
	}
	for _, d := range x.Delays {
		ps = append(ps, d)
	}
	if x.OriginID != "" {
		ps = append(ps, x.OriginID)
	}
	for _, s := range x.StanzaIDs {
		ps = append(ps, s)
	}
	return append(ps, x.Other...)
}

// Parse reads the extensions of m: its own child elements only, never
// those inside a forwarded message. Received extensions are *stanza.Raw;
// values of this package's types (a message built rather than received)
// are taken as they are.
//
// Of the receipt request, the receipt, the chat state and the origin-id
// only the first of each is read; later ones stay in Other. Every delay
// and stanza-id is read. An element Parse knows but cannot read — a delay
// without a valid stamp or with an invalid from, a <received/> without an
// id in a message without one, an origin-id or stanza-id without an id, a
// stanza-id without a valid by — stays in Other too, and its fault is
// returned, wrapping ErrMalformed (several are joined with errors.Join);
// the other extensions are read all the same. A nil m has none.
func Parse(m *stanza.Message) (Extensions, error) {
	if m == nil {
		return Extensions{}, nil
	}
	p := parser{msgID: m.ID}
	for _, e := range m.Extensions {
		ok, err := p.add(e)
		if err != nil {
			p.errs = append(p.errs, err)
		}
		if !ok {
			p.x.Other = append(p.x.Other, e)
		}
	}
	return p.x, errors.Join(p.errs...)
}

// kind is a one-of-a-kind extension, as a bit of parser.seen.
type kind uint8

const (
	kindRequest kind = 1 << iota
	kindReceipt
	kindChatState
	kindOriginID
)

type parser struct {
	x     Extensions
	seen  kind
	msgID string
	errs  []error
}

// first reports whether k is met for the first time, and marks it.
func (p *parser) first(k kind) bool {
	if p.seen&k != 0 {
		return false
	}
	p.seen |= k
	return true
}

// add reads e into p.x, and reports whether it did.
func (p *parser) add(e stanza.Payload) (bool, error) {
	switch v := deref(e).(type) {
	case *stanza.Raw:
		if v == nil {
			return false, nil
		}
		return p.raw(v)
	case ReceiptRequest:
		if p.first(kindRequest) {
			p.x.ReceiptRequest = true
			return true, nil
		}
	case Receipt:
		if p.first(kindReceipt) {
			p.x.Receipt = v
			return true, nil
		}
	case ChatState:
		if p.first(kindChatState) {
			p.x.ChatState = v
			return true, nil
		}
	case OriginID:
		if p.first(kindOriginID) {
			p.x.OriginID = v
			return true, nil
		}
	case Delay:
		p.x.Delays = append(p.x.Delays, v)
		return true, nil
	case StanzaID:
		p.x.StanzaIDs = append(p.x.StanzaIDs, v)
		return true, nil
	}
	return false, nil
}

// deref returns the value a non-nil pointer to one of this package's
// payload types points to, and any other payload as it is.
func deref(e stanza.Payload) stanza.Payload {
	switch v := e.(type) {
	case *ReceiptRequest:
		if v != nil {
			return *v
		}
	case *Receipt:
		if v != nil {
			return *v
		}
	case *ChatState:
		if v != nil {
			return *v
		}
	case *OriginID:
		if v != nil {
			return *v
		}
	case *Delay:
		if v != nil {
			return *v
		}
	case *StanzaID:
		if v != nil {
			return *v
		}
	}
	return e
}

// raw reads a received extension.
func (p *parser) raw(r *stanza.Raw) (bool, error) {
	name := r.Name()
	switch {
	case name == requestName:
		if p.first(kindRequest) {
			p.x.ReceiptRequest = true
			return true, nil
		}
	case name == receivedName:
		if p.first(kindReceipt) {
			return p.receipt(r)
		}
	case name.Space == NSChatStates:
		s, ok := parseChatState(name.Local)
		if ok && p.first(kindChatState) {
			p.x.ChatState = s
			return true, nil
		}
	case name == delayName:
		return p.delay(r)
	case name == originIDName:
		if p.first(kindOriginID) {
			return p.originID(r)
		}
	case name == stanzaIDName:
		return p.stanzaID(r)
	}
	return false, nil
}

func (p *parser) receipt(r *stanza.Raw) (bool, error) {
	id := r.Attr("id")
	if id == "" {
		// The early form of XEP-0184: the acknowledgement carried the id
		// of the message it acknowledged as its own.
		id = p.msgID
	}
	if id == "" {
		return false, fmt.Errorf("%w: receipt without the id of the message it acknowledges", ErrMalformed)
	}
	p.x.Receipt = Receipt(id)
	return true, nil
}

func (p *parser) originID(r *stanza.Raw) (bool, error) {
	id := r.Attr("id")
	if id == "" {
		return false, fmt.Errorf("%w: origin-id without an id", ErrMalformed)
	}
	p.x.OriginID = OriginID(id)
	return true, nil
}

func (p *parser) stanzaID(r *stanza.Raw) (bool, error) {
	id, by := r.Attr("id"), r.Attr("by")
	if id == "" {
		return false, fmt.Errorf("%w: stanza-id without an id", ErrMalformed)
	}
	if by == "" {
		return false, fmt.Errorf("%w: stanza-id %q without a by", ErrMalformed, id)
	}
	j, err := jid.Parse(by)
	if err != nil {
		return false, fmt.Errorf("%w: stanza-id %q by %q: %w", ErrMalformed, id, by, err)
	}
	p.x.StanzaIDs = append(p.x.StanzaIDs, StanzaID{ID: id, By: j})
	return true, nil
}

func (p *parser) delay(r *stanza.Raw) (bool, error) {
	tr := r.TokenReader()
	start, err := firstStart(tr)
	if err != nil {
		return false, err
	}
	var d Delay
	if from := attr(start, "from"); from != "" {
		if d.From, err = jid.Parse(from); err != nil {
			return false, fmt.Errorf("%w: delay from %q: %w", ErrMalformed, from, err)
		}
	}
	stamp := attr(start, "stamp")
	if stamp == "" {
		return false, fmt.Errorf("%w: delay without a stamp", ErrMalformed)
	}
	if d.Stamp, err = parseStamp(stamp); err != nil {
		return false, err
	}
	if d.Reason, err = xmlenc.Text(tr); err != nil {
		return false, unreadable(err)
	}
	p.x.Delays = append(p.x.Delays, d)
	return true, nil
}

func firstStart(tr xml.TokenReader) (xml.StartElement, error) {
	start, err := xmlenc.Start(tr)
	if err != nil {
		return start, unreadable(err)
	}
	return start, nil
}

// unreadable wraps a failure to read a Raw's tokens, which only a bug in
// stanza.Raw could cause.
func unreadable(err error) error {
	return fmt.Errorf("%w: reading element: %w", ErrMalformed, err)
}

// attr returns the value of the attribute local in no namespace, or "".
func attr(start xml.StartElement, local string) string {
	v, _ := xmlenc.Attr(start, local)
	return v
}

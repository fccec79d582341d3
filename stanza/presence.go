package stanza

import (
	"encoding/xml"
	"strconv"
	"strings"

	"mellium.im/xmlstream"
)

// Presence is a presence stanza (RFC 6121 §4).
//
// Status is the status in the stanza's default language (no xml:lang, or
// the stanza's Lang); AltStatuses holds the other languages in document
// order. Priority is -128..127; a missing priority is 0 (RFC 6121
// §4.7.2.3), and 0 is written as no <priority/>. An unknown <show/> value
// decodes as ShowNone.
//
// A Presence is a plain value: not safe to mutate from several goroutines
// at once; encoding and reading it concurrently is safe.
type Presence struct {
	Header
	Type PresenceType

	Show        Show
	Status      string
	AltStatuses []Text
	Priority    int8

	// Error is the stanza error of a presence of type error.
	Error *Error
	// Extensions are the other child elements, in document order.
	// Decoded ones are *Raw.
	Extensions []Payload
}

// Name returns {NS, "presence"}.
func (p *Presence) Name() xml.Name { return xml.Name{Space: NS, Local: "presence"} }

func (*Presence) isStanza() {}

// Extension returns the first decoded extension named name.
func (p *Presence) Extension(name xml.Name) (*Raw, bool) {
	return findExtension(p.Extensions, name)
}

// ErrorReply returns the error that answers p with e: same id, from and
// to swapped (RFC 6120 §8.3.1), as IQ.ErrorReply does. A presence of type
// error must not be answered with another error.
func (p *Presence) ErrorReply(e *Error) *Presence {
	return &Presence{Header: p.Header.reply(), Type: PresenceError, Error: e}
}

func (p *Presence) check() error {
	if !p.Type.valid() {
		return &encodeError{"presence", "unknown type " + string(p.Type)}
	}
	if !p.Show.valid() {
		return &encodeError{"presence", "unknown show " + string(p.Show)}
	}
	if p.Error != nil {
		return p.Error.check()
	}
	return nil
}

func (p *Presence) encode(o out) {
	o.open(NS, "presence")
	encodeHeader(o, &p.Header, string(p.Type))
	if p.Show != ShowNone {
		textElem(o, NS, "show", "", string(p.Show))
	}
	if p.Status != "" {
		textElem(o, NS, "status", "", p.Status)
	}
	for _, t := range p.AltStatuses {
		textElem(o, NS, "status", t.Lang, t.Value)
	}
	if p.Priority != 0 {
		var buf [4]byte
		textElem(o, NS, "priority", "", string(strconv.AppendInt(buf[:0], int64(p.Priority), 10)))
	}
	if p.Error != nil {
		p.Error.encode(o)
	}
	for _, x := range p.Extensions {
		o.payload(x)
	}
	o.end(NS, "presence")
}

// WriteXML writes the presence as tokens to w (a mellium.im/xmlstream
// TokenWriter; an *xml.Encoder is one).
func (p *Presence) WriteXML(w xmlstream.TokenWriter) (int, error) {
	if err := p.check(); err != nil {
		return 0, err
	}
	return writeWith(w, p)
}

// AppendXML appends the presence to b, for a stream whose default
// namespace is jabber:client. On error it returns b unchanged.
func (p *Presence) AppendXML(b []byte) ([]byte, error) {
	if err := p.check(); err != nil {
		return b, err
	}
	return appendWith(b, p)
}

// DecodePresence reads the presence whose start element start has just
// been read from r, through its end element. An unknown type or a priority
// that is not an integer in -128..127 is an *InvalidError. See Decode.
func DecodePresence(r xml.TokenReader, start xml.StartElement) (*Presence, error) {
	return decodePresence(r, start, "")
}

func decodePresence(r xml.TokenReader, start xml.StartElement, lang string) (*Presence, error) {
	var s stanzaReader
	s.init(r, &start, lang)
	p, ext := newStanza[Presence](&s.tokens)
	p.Type, p.Extensions = PresenceType(s.typ), ext
	if !p.Type.valid() {
		s.fault(BadRequest, "unknown presence type "+strconv.Quote(s.typ), nil)
	}
	var seen presenceSeen
	for {
		c, err := s.child()
		if err != nil {
			return nil, err
		}
		if c == nil {
			break
		}
		if err := p.decodeChild(&s, c, &seen); err != nil {
			return nil, err
		}
	}
	if p.Type == PresenceError && p.Error == nil {
		p.Error = &Error{Type: ErrorCancel, Condition: UndefinedCondition}
	}
	p.Header = s.h
	if err := s.result(); err != nil {
		return nil, err
	}
	return p, nil
}

// presenceSeen records which single-valued children were read already.
type presenceSeen struct{ show, priority bool }

// decodeChild reads one child element of the presence through its end.
func (p *Presence) decodeChild(s *stanzaReader, c *xml.StartElement, seen *presenceSeen) error {
	if c.Name.Space == NS {
		switch c.Name.Local {
		case "show":
			v, err := s.text()
			if err == nil && !seen.show {
				seen.show = true
				if sh := Show(strings.TrimSpace(v)); sh.valid() {
					p.Show = sh
				}
			}
			return err
		case "status":
			lang := langOf(c)
			v, err := s.text()
			if err == nil {
				addText(&p.Status, &p.AltStatuses, lang, s.h.Lang, v)
			}
			return err
		case "priority":
			v, err := s.text()
			if err == nil && !seen.priority {
				seen.priority = true
				p.Priority = s.priority(v)
			}
			return err
		case "error":
			if p.Error != nil {
				return s.skip()
			}
			e, err := s.error(c)
			p.Error = e
			return err
		}
	}
	raw, err := s.extension(c)
	if raw != nil {
		p.Extensions = append(p.Extensions, raw)
	}
	return err
}

// priority parses the content of <priority/>; empty content is 0.
func (s *stanzaReader) priority(v string) int8 {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 8)
	if err != nil {
		s.fault(BadRequest, "priority "+strconv.Quote(v)+" is not an integer in -128..127", err)
		return 0
	}
	return int8(n)
}

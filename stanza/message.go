package stanza

import (
	"encoding/xml"

	"mellium.im/xmlstream"
)

// Message is a message stanza (RFC 6121 §5).
//
// Subject and Body are those in the stanza's default language: with no
// xml:lang, or with the stanza's own Lang. AltSubjects and AltBodies hold
// the other languages in document order. When several default-language
// bodies arrive, the first non-empty one is kept.
//
// A Message is a plain value: not safe to mutate from several goroutines
// at once; encoding and reading it concurrently is safe.
type Message struct {
	Header
	Type MessageType

	Subject     string
	AltSubjects []Text
	Body        string
	AltBodies   []Text
	Thread      Thread

	// Error is the stanza error of a message of type error.
	Error *Error
	// Extensions are the other child elements, in document order.
	// Decoded ones are *Raw.
	Extensions []Payload
}

// Name returns {NS, "message"}.
func (m *Message) Name() xml.Name { return xml.Name{Space: NS, Local: "message"} }

func (*Message) isStanza() {}

// Extension returns the first decoded extension named name.
func (m *Message) Extension(name xml.Name) (*Raw, bool) {
	return findExtension(m.Extensions, name)
}

// Reply returns a message that answers m with body, as a user replying
// in a client would: to m's sender, of m's type, in m's thread (RFC 6121
// §5.2.5: a reply carries the thread of the message it answers).
//
// A groupchat reply goes to the room, the bare JID of m's sender (the
// occupant's address room@service/nick), so that every occupant gets it;
// a reply to a message of type error, or of a type Parley does not know,
// is a normal message. A headline expects no reply (RFC 6121 §5.2.2),
// but Reply keeps its type all the same. The reply has no id and no
// from: set ID if you need one, and the server stamps the sender's
// address (RFC 6120 §8.1.2.1).
func (m *Message) Reply(body string) *Message {
	r := &Message{Header: Header{To: m.From}, Type: m.Type, Body: body, Thread: m.Thread}
	switch m.Type {
	case MessageGroupChat:
		r.To = m.From.Bare()
	case MessageChat, MessageNormal, MessageHeadline:
	default:
		r.Type = MessageNormal
	}
	return r
}

// ErrorReply returns the error that answers m with e: same id, from and
// to swapped (RFC 6120 §8.3.1), as IQ.ErrorReply does. The original
// content is not echoed. A message of type error must not be answered
// with another error.
func (m *Message) ErrorReply(e *Error) *Message {
	return &Message{Header: m.Header.reply(), Type: MessageError, Error: e}
}

func findExtension(exts []Payload, name xml.Name) (*Raw, bool) {
	for _, p := range exts {
		if r, ok := p.(*Raw); ok && r.name == name {
			return r, true
		}
	}
	return nil, false
}

func (m *Message) check() error {
	if !m.Type.valid() {
		return &encodeError{"message", "unknown type " + string(m.Type)}
	}
	if m.Error != nil {
		return m.Error.check()
	}
	return nil
}

func encodeHeader(o out, h *Header, typ string) {
	if h.ID != "" {
		o.attr("id", h.ID)
	}
	if !h.From.IsZero() {
		o.attr("from", h.From.String())
	}
	if !h.To.IsZero() {
		o.attr("to", h.To.String())
	}
	if typ != "" {
		o.attr("type", typ)
	}
	if h.Lang != "" {
		o.lang(h.Lang)
	}
}

func (m *Message) encode(o out) {
	o.open(NS, "message")
	typ := m.Type
	if typ == MessageNormal {
		typ = ""
	}
	encodeHeader(o, &m.Header, string(typ))
	if m.Subject != "" {
		textElem(o, NS, "subject", "", m.Subject)
	}
	for _, t := range m.AltSubjects {
		textElem(o, NS, "subject", t.Lang, t.Value)
	}
	if m.Body != "" {
		textElem(o, NS, "body", "", m.Body)
	}
	for _, t := range m.AltBodies {
		textElem(o, NS, "body", t.Lang, t.Value)
	}
	if m.Thread != (Thread{}) {
		o.open(NS, "thread")
		if m.Thread.Parent != "" {
			o.attr("parent", m.Thread.Parent)
		}
		o.text(m.Thread.ID)
		o.end(NS, "thread")
	}
	if m.Error != nil {
		m.Error.encode(o)
	}
	for _, p := range m.Extensions {
		o.payload(p)
	}
	o.end(NS, "message")
}

// WriteXML writes the message as tokens to w (a mellium.im/xmlstream
// TokenWriter; an *xml.Encoder is one).
func (m *Message) WriteXML(w xmlstream.TokenWriter) (int, error) {
	if err := m.check(); err != nil {
		return 0, err
	}
	return writeWith(w, m)
}

// AppendXML appends the message to b, for a stream whose default namespace
// is jabber:client. On error it returns b unchanged.
func (m *Message) AppendXML(b []byte) ([]byte, error) {
	if err := m.check(); err != nil {
		return b, err
	}
	return appendWith(b, m)
}

// DecodeMessage reads the message whose start element start has just been
// read from r, through its end element. See Decode.
func DecodeMessage(r xml.TokenReader, start xml.StartElement) (*Message, error) {
	return decodeMessage(r, start, "")
}

func decodeMessage(r xml.TokenReader, start xml.StartElement, lang string) (*Message, error) {
	var s stanzaReader
	s.init(r, &start, lang)
	m, ext := newStanza[Message](&s.tokens)
	m.Type, m.Extensions = MessageType(s.typ), ext
	if !m.Type.valid() || m.Type == "" {
		m.Type = MessageNormal
	}
	for {
		c, err := s.child()
		if err != nil {
			return nil, err
		}
		if c == nil {
			break
		}
		if err := m.decodeChild(&s, c); err != nil {
			return nil, err
		}
	}
	if m.Type == MessageError && m.Error == nil {
		m.Error = &Error{Type: ErrorCancel, Condition: UndefinedCondition}
	}
	m.Header = s.h
	if err := s.result(); err != nil {
		return nil, err
	}
	return m, nil
}

// decodeChild reads one child element of the message through its end.
func (m *Message) decodeChild(s *stanzaReader, c *xml.StartElement) error {
	if c.Name.Space == NS {
		switch c.Name.Local {
		case "body", "subject":
			lang := langOf(c)
			v, err := s.text()
			if err != nil {
				return err
			}
			if c.Name.Local == "subject" {
				addText(&m.Subject, &m.AltSubjects, lang, s.h.Lang, v)
			} else {
				addText(&m.Body, &m.AltBodies, lang, s.h.Lang, v)
			}
			return nil
		case "thread":
			if m.Thread != (Thread{}) {
				return s.skip()
			}
			parent := attrOf(c, "parent")
			v, err := s.text()
			if err != nil {
				return err
			}
			m.Thread = Thread{ID: v, Parent: parent}
			return nil
		case "error":
			if m.Error != nil {
				return s.skip()
			}
			e, err := s.error(c)
			m.Error = e
			return err
		}
	}
	raw, err := s.extension(c)
	if raw != nil {
		m.Extensions = append(m.Extensions, raw)
	}
	return err
}

// addText files a text element in the default language (no xml:lang, or
// the stanza's) into main, unless main has one already, and any other into
// alts.
func addText(main *string, alts *[]Text, lang, stanzaLang, v string) {
	if lang != "" && lang != stanzaLang {
		*alts = append(*alts, Text{Lang: lang, Value: v})
		return
	}
	if *main == "" {
		*main = v
	}
}

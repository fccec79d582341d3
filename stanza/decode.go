package stanza

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/parleyim/parley/internal/jidcache"
	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/xmltree"
	"github.com/parleyim/parley/jid"
)

// InvalidError is the stanza-level fault: the stanza was read through its
// end, the stream is still in step, but the stanza breaks a rule of RFC
// 6120 or 6121 (an iq without id, an unknown type, a malformed from or to,
// an out-of-range priority). It says which stanza and why, and carries the
// stanza error to answer with, when the stanza may be answered.
//
// Errors of the token reader itself (XML-level faults) are never an
// InvalidError; errors.As tells the two apart.
//
// An InvalidError is a plain value, safe to read from several goroutines.
type InvalidError struct {
	// Kind is the stanza's element name: "message", "presence" or "iq".
	Kind string
	// Header holds the attributes that could be read; a malformed from or
	// to is left zero.
	Header
	// Type is the type attribute as received.
	Type string
	// Reason says what is wrong.
	Reason string
	// Reply is the error to answer with: bad-request or jid-malformed.
	Reply *Error
	// Err is the underlying cause, if any (a JID parse error).
	Err error
}

// Error returns a description naming the stanza and the reason.
func (e *InvalidError) Error() string {
	var b strings.Builder
	b.WriteString("stanza: invalid ")
	b.WriteString(e.Kind)
	if e.ID != "" {
		b.WriteString(" id=")
		b.WriteString(fmt.Sprintf("%q", e.ID))
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause and the reply condition, so that both
// errors.Is(err, cause) and errors.Is(err, stanza.BadRequest) work.
func (e *InvalidError) Unwrap() []error {
	var errs []error
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	if e.Reply != nil {
		errs = append(errs, e.Reply)
	}
	return errs
}

// Answerable reports whether the stanza may be answered with Reply: it has
// an id, and is not itself an error or an iq result (RFC 6120 §8.3.1,
// §8.2.3).
func (e *InvalidError) Answerable() bool {
	if e.Reply == nil || e.Type == "error" || (e.Kind == "iq" && (e.Type == "result" || e.ID == "")) {
		return false
	}
	return true
}

// Decoder turns the stanzas of one stream into typed values. The zero
// Decoder is ready to use, for a stream without a default language.
type Decoder struct {
	// Lang is the stream's default xml:lang (the stream header's): a
	// stanza without xml:lang of its own inherits it (RFC 6120 §4.7.4),
	// so its Lang is Lang and a body or status in that language is the
	// default one rather than an alternative.
	Lang string
}

// Decode reads one stanza whose start element start has just been read
// from r, through its matching end element, and returns a *Message, a
// *Presence or an *IQ. r must resolve namespaces as encoding/xml's
// Decoder.Token does.
//
// A stanza that breaks a rule is read through its end all the same, and
// Decode returns an *InvalidError. A start element that is not a stanza of
// jabber:client is skipped, and the error returned matches
// StreamUnsupportedStanzaType with errors.Is. Errors of r are returned
// wrapped.
func (d Decoder) Decode(r xml.TokenReader, start xml.StartElement) (Stanza, error) {
	lang := d.Lang
	if start.Name.Space == NS {
		switch start.Name.Local {
		case "message":
			return decodeMessage(r, start, lang)
		case "presence":
			return decodePresence(r, start, lang)
		case "iq":
			return decodeIQ(r, start, lang)
		}
	}
	t := tokens{r: r}
	if err := t.skip(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("stanza: <%s xmlns='%s'> is not a stanza: %w",
		start.Name.Local, start.Name.Space, StreamUnsupportedStanzaType)
}

// tokens is the seam between the stanza decoders and the XML reader: the
// decoders read only through it. It wraps reader errors so that they are
// never taken for stanza-level faults.
type tokens struct {
	r xml.TokenReader
	// el, when set, is the element read as nodes (tree.go), and i the
	// next node.
	el *xmltree.Element
	i  int
	// foreign is, over nodes, how many children of the stanza are in a
	// namespace other than NS: the extensions it will likely have, for
	// which slab (Raws allocated together) and the Extensions slice are
	// made at once.
	foreign int
	slab    []Raw
	// nsBind is, over nodes, the binding of the stanza element's name
	// when it stands for NS, else NoBinding.
	nsBind int32
}

// next returns the next token; io.EOF inside an element is unexpected.
func (t *tokens) next() (xml.Token, error) {
	if t.el != nil {
		return t.treeNext()
	}
	tok, err := t.r.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("stanza: reading: %w", err)
	}
	return tok, nil
}

// skip reads through the end of the element whose start has been read.
func (t *tokens) skip() error {
	if t.el != nil {
		t.treeSkip()
		return nil
	}
	for depth := 1; depth > 0; {
		tok, err := t.next()
		if err != nil {
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
	}
	return nil
}

// text reads through the end of the element whose start has been read and
// returns its character data; text inside child elements is left out.
func (t *tokens) text() (string, error) {
	if t.el != nil {
		return t.treeText(), nil
	}
	var s string
	var b []byte
	for depth := 1; depth > 0; {
		tok, err := t.next()
		if err != nil {
			return "", err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth != 1 {
				continue
			}
			switch {
			case s == "" && b == nil:
				s = string(tok)
			case b == nil:
				b = append([]byte(s), tok...)
			default:
				b = append(b, tok...)
			}
		}
	}
	if b != nil {
		return string(b), nil
	}
	return s, nil
}

// raw reads the element whose start has been read as a Raw. A content
// error is returned in bad, with err nil.
func (t *tokens) raw(start *xml.StartElement) (raw *Raw, bad, err error) {
	if t.el != nil {
		return t.treeRaw(), nil, nil
	}
	raw, bad, err = readRaw(t.r, start)
	if err != nil {
		return nil, nil, fmt.Errorf("stanza: reading: %w", err)
	}
	return raw, bad, nil
}

// langOf returns the xml:lang attribute of s.
func langOf(s *xml.StartElement) string {
	for _, a := range s.Attr {
		if a.Name.Local == "lang" && (a.Name.Space == ns.XML || a.Name.Space == "xml") {
			return a.Value
		}
	}
	return ""
}

// attrOf returns the unprefixed attribute name of s.
func attrOf(s *xml.StartElement, name string) string {
	for _, a := range s.Attr {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// stanzaReader holds what all three decoders share: the header, the first
// fault found, and the tokens.
type stanzaReader struct {
	tokens
	kind string
	h    Header
	typ  string
	bad  *InvalidError
	cur  xml.StartElement // the child being read
}

func (s *stanzaReader) init(r xml.TokenReader, start *xml.StartElement, lang string) {
	s.tokens.r = r
	s.kind = start.Name.Local
	s.h.Lang = lang
	if el := treeOf(r); el != nil {
		var cache *jidcache.Cache
		if cs, ok := r.(cacheSource); ok {
			cache = cs.JIDCache()
		}
		s.initTree(el, cache)
		return
	}
	for _, a := range start.Attr {
		s.header(a.Name, a.Value)
	}
}

// header reads one attribute of the stanza element.
func (s *stanzaReader) header(name xml.Name, v string) {
	switch {
	case name.Space == "" && name.Local == "id":
		s.h.ID = v
	case name.Space == "" && name.Local == "type":
		s.typ = v
	case name.Space == "" && name.Local == "from":
		s.h.From = s.jid("from", v)
	case name.Space == "" && name.Local == "to":
		s.h.To = s.jid("to", v)
	case name.Local == "lang" && (name.Space == ns.XML || name.Space == "xml"):
		s.h.Lang = v
	}
}

func (s *stanzaReader) jid(attr, v string) jid.JID {
	j, err := jid.Parse(v)
	return s.checkJID(attr, j, err)
}

// cachedJID is jid through slot, which keeps the address a stream
// repeats; without one, it is jid.
func (s *stanzaReader) cachedJID(attr, v string, slot *jidcache.Slot) jid.JID {
	if slot == nil {
		return s.jid(attr, v)
	}
	j, err := slot.Parse(v)
	return s.checkJID(attr, j, err)
}

// checkJID records a malformed address as the stanza's fault.
func (s *stanzaReader) checkJID(attr string, j jid.JID, err error) jid.JID {
	if err != nil {
		s.fault(JIDMalformed, "malformed "+attr+" address", err)
		return jid.JID{}
	}
	return j
}

// fault records the first stanza-level fault.
func (s *stanzaReader) fault(c Condition, reason string, err error) {
	if s.bad == nil {
		s.bad = &InvalidError{Kind: s.kind, Reason: reason, Reply: NewError(c, ""), Err: err}
	}
}

// result returns the recorded fault, completed with the header, or nil.
func (s *stanzaReader) result() error {
	if s.bad == nil {
		return nil
	}
	s.bad.Header = s.h
	s.bad.Type = s.typ
	return s.bad
}

// extension reads a child as a Raw; a child that cannot be kept is a
// fault.
func (s *stanzaReader) extension(start *xml.StartElement) (*Raw, error) {
	raw, bad, err := s.raw(start)
	if err != nil {
		return nil, err
	}
	if bad != nil {
		s.fault(BadRequest, "unusable child element", bad)
	}
	return raw, nil
}

// child returns the start of the stanza's next child element, or nil at
// the stanza's end element. The caller reads through the child's end
// before asking for the next one.
func (s *stanzaReader) child() (*xml.StartElement, error) {
	if s.el != nil {
		return s.treeChild(), nil
	}
	for {
		tok, err := s.next()
		if err != nil {
			return nil, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			s.cur = tok
			return &s.cur, nil
		case xml.EndElement:
			return nil, nil
		}
	}
}

// error reads an <error/> child.
func (s *stanzaReader) error(start *xml.StartElement) (*Error, error) {
	e, err := decodeError(&s.tokens, start)
	if err != nil {
		return nil, err
	}
	return e, nil
}

// decodeError reads the <error/> element whose start has been read.
func decodeError(t *tokens, start *xml.StartElement) (*Error, error) {
	e := &Error{}
	if by := attrOf(start, "by"); by != "" {
		if j, err := jid.Parse(by); err == nil {
			e.By = j
		}
	}
	textSeen := false
	for {
		tok, err := t.next()
		if err != nil {
			return nil, err
		}
		var child xml.StartElement
		switch tok := tok.(type) {
		case xml.EndElement:
			if !e.Condition.Known() {
				e.Condition = UndefinedCondition
			}
			e.Type = ErrorType(attrOf(start, "type"))
			if !e.Type.valid() {
				e.Type = DefaultType(e.Condition)
			}
			return e, nil
		case xml.StartElement:
			child = tok
		default:
			continue
		}
		switch {
		case child.Name.Space == NSStanzaErrors && child.Name.Local == "text":
			v, err := t.text()
			if err != nil {
				return nil, err
			}
			keepText(&e.Text, &e.TextLang, &e.AltTexts, &textSeen, langOf(&child), v)
		case child.Name.Space == NSStanzaErrors && e.Condition == "" && Condition(child.Name.Local).Known():
			e.Condition = Condition(child.Name.Local)
			v, err := t.text()
			if err != nil {
				return nil, err
			}
			if e.Condition == Gone || e.Condition == Redirect {
				e.URI = strings.TrimSpace(v)
			}
		case child.Name.Space != NSStanzaErrors && e.App == nil:
			raw, bad, err := t.raw(&child)
			if err != nil {
				return nil, err
			}
			if bad == nil {
				e.App = raw
			}
		default:
			if err := t.skip(); err != nil {
				return nil, err
			}
		}
	}
}

// keepText records one <text/> of an error: the first is the main text,
// the others its alternatives in other languages.
func keepText(text, lang *string, alts *[]Text, seen *bool, l, v string) {
	if !*seen {
		*seen = true
		*text, *lang = v, l
		return
	}
	*alts = append(*alts, Text{Lang: l, Value: v})
}

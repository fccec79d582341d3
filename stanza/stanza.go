// Package stanza implements the XMPP stanzas of RFC 6120 §8 (XMPP Core)
// and RFC 6121 §4–§5 (XMPP IM and Presence): typed Message, Presence and IQ
// values with a common Header, stanza errors (RFC 6120 §8.3), stream errors
// (RFC 6120 §4.9), and Raw, an opaque holder for child elements the structs
// do not model.
//
// Stanzas are plain values. Build them with composite literals, send them
// with AppendXML (the fast path: bytes for a stream whose default namespace
// is jabber:client) or WriteXML (tokens for an xmlstream.TokenWriter), and
// read them with Decode from an xml.TokenReader that resolves namespaces
// the way encoding/xml's Decoder.Token does. To answer a stanza, IQ has
// Result and ErrorReply, Message has Reply and ErrorReply, and Presence
// has ErrorReply.
//
// A payload to send is any Payload: a value with a WriteXML method. *Raw is
// one, the feature packages' types are others, and a user's own type needs
// one method (or Marshal, or PayloadFunc). There is no registry of
// extension types: received extensions stay *Raw until the code that knows
// them decodes them with Raw.Decode or reads Raw.TokenReader.
//
// Encoding refuses, with an error and without writing, any text or
// attribute value that XML 1.0 cannot carry (control characters other than
// tab, newline and carriage return, U+FFFE, U+FFFF, invalid UTF-8).
//
// Unknown attributes on the stanza element itself are dropped when
// decoding; unknown child elements are kept, in document order, as *Raw.
//
// # mellium.im/xmlstream
//
// Payload, PayloadFunc and every WriteXML method take an
// xmlstream.TokenWriter, from the package mellium.im/xmlstream (a module
// Parley depends on; go mod tidy adds it to your go.mod at the version
// Parley uses). It is an interface with one method,
// EncodeToken(xml.Token) error, which encoding/xml's *Encoder has. Code
// that implements Payload imports it:
//
//	import "mellium.im/xmlstream"
//
// See Payload for a complete payload type.
package stanza

import (
	"encoding/xml"

	"mellium.im/xmlstream"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/jid"
)

// Namespaces used by stanzas and stream errors.
const (
	// NS is the content namespace of a client stream, RFC 6120 §4.8.
	NS = ns.Client
	// NSStanzaErrors qualifies the conditions and text of a stanza error.
	NSStanzaErrors = ns.StanzaErrors
	// NSStreamErrors qualifies the conditions and text of a stream error.
	NSStreamErrors = ns.StreamErrors
	// NSStream is the namespace of the stream element and of <stream:error>.
	NSStream = ns.Stream
)

// Header is what every stanza carries: the id, from, to and xml:lang
// attributes (RFC 6120 §8.1). The type attribute lives in each stanza
// struct because its values differ. Lang is the stanza's own xml:lang; when
// empty the stanza inherits the stream's.
//
// A Header is a plain value: safe to copy, not safe to mutate from several
// goroutines at once.
type Header struct {
	ID       string
	From, To jid.JID
	Lang     string
}

// StanzaHeader returns h itself, so that *Message, *Presence and *IQ share
// it through embedding.
func (h *Header) StanzaHeader() *Header { return h }

// reply returns the header of a reply to h: same id, from and to swapped,
// no language.
func (h *Header) reply() Header {
	return Header{ID: h.ID, From: h.To, To: h.From}
}

// Stanza is implemented by *Message, *Presence and *IQ, and only by them.
type Stanza interface {
	// StanzaHeader returns a pointer to the stanza's header.
	StanzaHeader() *Header
	// WriteXML writes the stanza as tokens to w, a
	// mellium.im/xmlstream TokenWriter (an *xml.Encoder is one); every
	// element's Name.Space
	// is its namespace URI, NS for the stanza element and its modelled
	// children. The stanza's own fields are checked before the first
	// token; a payload that fails leaves a partial stanza on w.
	WriteXML(w xmlstream.TokenWriter) (int, error)
	// AppendXML appends the stanza for a stream whose default namespace
	// is jabber:client (no xmlns on the stanza element). On error b is
	// returned unchanged.
	AppendXML(b []byte) ([]byte, error)
	// Name returns the stanza element's name.
	Name() xml.Name

	isStanza()
}

// Text is a human-readable string in a language: a body, a subject or a
// status in the language named by Lang (an xml:lang value). It is a plain
// value.
type Text struct {
	Lang, Value string
}

// Thread identifies a conversation thread of a message (RFC 6121 §5.2.5):
// ID is the thread's identifier, Parent the optional parent thread's. It
// is a plain, comparable value.
type Thread struct {
	ID, Parent string
}

package im

import (
	"encoding/xml"
	"errors"

	"mellium.im/xmlstream"

	"github.com/parleyim/parley/internal/xmlenc"
	"github.com/parleyim/parley/jid"
)

var (
	originIDName = xml.Name{Space: NSSID, Local: "origin-id"}
	stanzaIDName = xml.Name{Space: NSSID, Local: "stanza-id"}
)

// OriginID is <origin-id xmlns='urn:xmpp:sid:0' id='…'/> (XEP-0359): an
// id the sending client gave its message, which servers and rooms keep
// as it is even when they change the message's id attribute. It
// implements stanza.Payload.
type OriginID string

// WriteXML writes <origin-id xmlns='urn:xmpp:sid:0' id='…'/>. An empty id
// is an error.
func (o OriginID) WriteXML(w xmlstream.TokenWriter) (int, error) {
	if o == "" {
		return 0, errors.New("im: origin-id without an id")
	}
	return writeWithID(w, originIDName, string(o))
}

// writeWithID writes the empty element name with the attribute id.
func writeWithID(w xmlstream.TokenWriter, name xml.Name, id string) (int, error) {
	t := xmlenc.Tokens{W: w}
	t.Empty(name, xml.Attr{Name: xml.Name{Local: "id"}, Value: id})
	return t.N, t.Err
}

// StanzaID is <stanza-id xmlns='urn:xmpp:sid:0' id='…' by='…'/>
// (XEP-0359): the id that the entity By (a server archiving for an
// account, a room) gave the message. Anyone can write a stanza-id with any
// By; see Extensions.TrustedStanzaID for the one a client may rely on.
//
// StanzaID implements stanza.Payload. It is a plain, comparable value.
type StanzaID struct {
	ID string
	By jid.JID
}

// WriteXML writes <stanza-id xmlns='urn:xmpp:sid:0' id='…' by='…'/>. An
// empty ID or a zero By is an error.
func (s StanzaID) WriteXML(w xmlstream.TokenWriter) (int, error) {
	if s.ID == "" || s.By.IsZero() {
		return 0, errors.New("im: stanza-id without an id or a by")
	}
	t := xmlenc.Tokens{W: w}
	t.Empty(stanzaIDName,
		xml.Attr{Name: xml.Name{Local: "id"}, Value: s.ID},
		xml.Attr{Name: xml.Name{Local: "by"}, Value: s.By.String()})
	return t.N, t.Err
}

// TrustedStanzaID returns the id that the account's own server gave the
// message, under XEP-0359's security rule: the one stanza-id whose By is
// account's bare JID, when sidAdvertised says that the account's
// disco#info lists urn:xmpp:sid:0 (a server that announces it follows the
// XEP's rules and deletes stanza-ids that claim to be by it before adding
// its own; one that does not may pass a contact's forgery on). When sidAdvertised is false, when no stanza-id has
// that By, or when several do (which a server that keeps the rule never
// lets through), there is none. A stanza-id by anyone else, a contact or
// another server, is never trusted here.
func (x Extensions) TrustedStanzaID(account jid.JID, sidAdvertised bool) (string, bool) {
	if !sidAdvertised || account.IsZero() {
		return "", false
	}
	bare := account.Bare()
	var id string
	found := false
	for _, s := range x.StanzaIDs {
		if s.By != bare {
			continue
		}
		if found {
			return "", false
		}
		id, found = s.ID, true
	}
	return id, found
}

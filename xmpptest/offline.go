package xmpptest

import (
	"encoding/xml"
	"slices"
	"time"

	"mellium.im/xmlstream"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

// Offline storage (XEP-0160). A chat or normal message for an account
// with no available resource of priority ≥ 0 (RFC 6121 §8.5.2.1.1; to a
// full JID whose resource is offline too, §8.5.3.2.1) is kept, stamped
// with a XEP-0203 delay, and delivered, oldest first and once, to the
// first resource that sends available presence of priority ≥ 0, after
// what its initial presence brings (contacts' presence, the account's
// other resources, pending subscription requests). Config.NoOfflineStorage
// turns it off: such messages are answered with service-unavailable.
//
// Compared with Prosody 0.12 and ejabberd 23.01 step by step
// (offlinecases_test.go). Both store chat and normal messages, also to a
// full JID whose resource is offline, and with only negative-priority
// resources online; neither stores headline (dropped) or error (dropped)
// messages, both refuse groupchat with service-unavailable, and a second
// resource gets nothing. Where they differ xmpptest follows XEP-0160:
//   - a message that carries only a chat state is not stored (§5) but
//     refused with service-unavailable, as ejabberd (RFC 6121 §8.5.2.1.1:
//     a server that does not store returns that error); Prosody stores it;
//   - the messages go also to a resource that raises its priority from
//     negative to ≥ 0 (§2: "when the recipient next sends non-negative
//     available presence"), as ejabberd; Prosody waits for the initial
//     presence of priority ≥ 0 of some resource;
//   - they come after the presence the initial presence brings, as
//     Prosody; ejabberd sends them before even the echo of the presence;
//   - past maxOffline messages an account's storage is full and a new
//     message is refused with service-unavailable (§2 step 3). ejabberd
//     has a limit (max_user_offline_messages, 5000 as xmppd configures
//     it), past which its mod_offline answers resource-constraint (read
//     from its module, not run: the table does not fill 5000); Prosody's
//     mod_offline has none.
// The delay's from is the server's domain, as both servers write it, and
// its text "Offline storage", as ejabberd's (Prosody's has none; the
// text is for humans).

// maxOffline bounds the messages an account keeps offline.
const maxOffline = 1000

const (
	// featureMsgOffline is XEP-0160's disco#info feature of the domain.
	featureMsgOffline = "msgoffline"
	delayText         = "Offline storage"
)

// registerOffline advertises offline storage unless it is turned off.
func (s *Server) registerOffline() {
	if !s.cfg.NoOfflineStorage {
		s.addFeature(scopeServer, featureMsgOffline)
	}
}

// delay is a XEP-0203 delay element.
type delay struct {
	from jid.JID
	at   time.Time
	text string
}

// WriteXML writes <delay xmlns='urn:xmpp:delay' from='…' stamp='…'>text</delay>,
// the stamp in UTC with milliseconds (XEP-0082).
func (d delay) WriteXML(w xmlstream.TokenWriter) (int, error) {
	start := xml.StartElement{Name: xml.Name{Space: ns.Delay, Local: "delay"}, Attr: []xml.Attr{
		{Name: xml.Name{Local: "from"}, Value: d.from.String()},
		{Name: xml.Name{Local: "stamp"}, Value: d.at.UTC().Format("2006-01-02T15:04:05.000Z")},
	}}
	toks := []xml.Token{start, xml.CharData(d.text), start.End()}
	for i, t := range toks {
		if err := w.EncodeToken(t); err != nil {
			return i, err
		}
	}
	return len(toks), nil
}

// storable reports whether a message that found no resource is kept
// offline: chat and normal ones, unless it carries only a chat state.
func (s *Server) storable(m *stanza.Message) bool {
	if s.cfg.NoOfflineStorage {
		return false
	}
	switch m.Type {
	case stanza.MessageNormal, stanza.MessageChat, "":
		return !chatStateOnly(m)
	}
	return false
}

// chatStateOnly reports whether m is a standalone chat state
// notification (XEP-0085 §5.5): no body, no subject, a chat state, and
// nothing else but ids (XEP-0359).
func chatStateOnly(m *stanza.Message) bool {
	if m.Body != "" || m.Subject != "" || len(m.AltBodies) > 0 || len(m.AltSubjects) > 0 {
		return false
	}
	state := false
	for _, e := range m.Extensions {
		raw, ok := e.(*stanza.Raw)
		if !ok {
			return false
		}
		switch raw.Name().Space {
		case ns.ChatStates:
			state = true
		case ns.SID:
		default:
			return false
		}
	}
	return state
}

// store keeps m for a, stamped now, and reports whether there was room.
// s.mu is held.
func (s *Server) store(a *account, m *stanza.Message) bool {
	return s.storeAt(a, m, time.Now())
}

// storeAt keeps m for a, stamped at (unless it carries a delay already),
// and reports whether there was room. s.mu is held.
func (s *Server) storeAt(a *account, m *stanza.Message, at time.Time) bool {
	if len(a.offline) >= maxOffline {
		return false
	}
	q := *m
	if !hasDelay(m) {
		q.Extensions = append(slices.Clip(m.Extensions), delay{from: s.domain, at: at, text: delayText})
	}
	a.offline = append(a.offline, &q)
	return true
}

// deliverOffline queues a's stored messages for c, oldest first, and
// forgets them. s.mu is held.
func (o *outbox) deliverOffline(a *account, c *conn) {
	for i, m := range a.offline {
		o.send(c, m)
		a.offline[i] = nil
	}
	a.offline = nil
}

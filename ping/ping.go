// Package ping implements XEP-0199: XMPP Ping.
//
// Send pings an entity and measures the round trip; Handle makes a client
// answer pings (and, through the Mux, announce urn:xmpp:ping in its
// service discovery answers).
package ping

import (
	"context"
	"encoding/xml"
	"fmt"
	"time"

	"mellium.im/xmlstream"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// NS is the namespace of XMPP Ping.
const NS = ns.Ping

// Payload is the <ping xmlns='urn:xmpp:ping'/> element. It implements
// stanza.Payload.
type Payload struct{}

// WriteXML writes <ping xmlns='urn:xmpp:ping'/>.
func (Payload) WriteXML(w xmlstream.TokenWriter) (int, error) {
	name := xml.Name{Space: NS, Local: "ping"}
	if err := w.EncodeToken(xml.StartElement{Name: name}); err != nil {
		return 0, err
	}
	if err := w.EncodeToken(xml.EndElement{Name: name}); err != nil {
		return 1, err
	}
	return 2, nil
}

// Send pings the entity to (a server, another client's full JID; the zero
// JID pings the account's own server on its behalf) and returns the round
// trip: from just before the ping is written to the arrival of the reply.
//
// When the reply is an iq error, Send returns the round trip together with
// the error (which wraps the *stanza.Error, so errors.Is(err,
// stanza.ServiceUnavailable) works): an answer arrived, so the path to the
// entity works, but Send does not call it a success. XEP-0199 has an entity
// without ping support answer service-unavailable (or
// feature-not-implemented), which proves it is there; yet a server also
// answers service-unavailable on behalf of a full JID that has no session
// (RFC 6121 §8.5.3.2.1), which proves nothing about the entity. A caller
// that only wants reachability of the server can treat rtt > 0 as success.
// When no reply arrives (ctx ends, the session ends), rtt is 0.
func Send(ctx context.Context, s session.Sender, to jid.JID) (rtt time.Duration, err error) {
	return SendIQ(ctx, s, &stanza.IQ{Header: stanza.Header{To: to}})
}

// SendIQ is Send with the iq envelope given by the caller (its id, to,
// xml:lang); its Type and Payload are ignored and iq is not modified.
func SendIQ(ctx context.Context, s session.Sender, iq *stanza.IQ) (rtt time.Duration, err error) {
	req := *iq
	req.Type = stanza.IQGet
	req.Payload = Payload{}
	req.Error = nil
	start := time.Now()
	reply, err := s.SendIQ(ctx, &req)
	if reply != nil {
		rtt = time.Since(start)
	}
	if err != nil {
		to := "own account"
		if !iq.To.IsZero() {
			to = iq.To.String()
		}
		return rtt, fmt.Errorf("ping: %s: %w", to, err)
	}
	return rtt, nil
}

// Handle registers an answer to pings on mux: an empty result to every
// <ping xmlns='urn:xmpp:ping'/> get. The Mux then lists
// urn:xmpp:ping among its features.
func Handle(mux *session.Mux) {
	mux.HandleIQFunc(stanza.IQGet, xml.Name{Space: NS, Local: "ping"}, answer)
}

func answer(context.Context, *session.Session, *stanza.IQ) (stanza.Payload, error) {
	return nil, nil
}

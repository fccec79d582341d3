package xmpptest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"slices"
	"time"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/serverside/saslauth"
	"github.com/parleyim/parley/internal/xmlenc"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

// scope says on whose behalf the server answers an iq: its domain's, or an
// account's (an iq without 'to', or to a bare JID). Handlers are registered
// per scope, so the domain and an account may answer the same payload
// differently (disco#info, for one).
type scope uint8

const (
	scopeServer scope = 1 << iota
	scopeAccount
)

// scopes lists every scope, for registering a handler under several.
var scopes = [...]scope{scopeServer, scopeAccount}

// iqFunc answers an iq get or set addressed to the server (to is its
// domain) or to an account (to is the bare JID). It runs on the sender's
// goroutine: c is the sender's connection. It returns the result's
// payload (nil for none), or a *stanza.Error or stanza.Condition.
type iqFunc func(c *conn, iq *stanza.IQ, to jid.JID) (stanza.Payload, error)

// handleIQ registers fn for iqs of type typ whose payload is name (or, with
// an empty Local, any payload of name.Space), in each scope set in sc. A
// later registration for the same type, name and scope replaces an earlier
// one. It is called from New only, before the server serves anything.
func (s *Server) handleIQ(typ stanza.IQType, name xml.Name, sc scope, fn iqFunc) {
	if s.iqHandlers == nil {
		s.iqHandlers = map[iqKey]iqFunc{}
	}
	for _, one := range scopes {
		if sc&one != 0 {
			s.iqHandlers[iqKey{typ, name, one}] = fn
		}
	}
}

// addFeature adds a feature to the disco#info answer of the domain
// (scopeServer) or of every account (scopeAccount), or both.
func (s *Server) addFeature(sc scope, ns string) {
	for _, one := range scopes {
		if sc&one == 0 {
			continue
		}
		list := &s.discoFeatures
		if one == scopeAccount {
			list = &s.accountFeatures
		}
		if !slices.Contains(*list, ns) {
			*list = append(*list, ns)
			slices.Sort(*list)
		}
	}
}

// registerCore registers what this package implements: ping, service
// discovery of the domain and of the accounts, and the session iq.
func (s *Server) registerCore() {
	ping := func(*conn, *stanza.IQ, jid.JID) (stanza.Payload, error) { return nil, nil }
	both := scopeServer | scopeAccount
	s.handleIQ(stanza.IQGet, xml.Name{Space: ns.Ping, Local: "ping"}, both, ping)
	s.handleIQ(stanza.IQGet, xml.Name{Space: ns.DiscoInfo, Local: "query"}, scopeServer, s.discoInfo)
	s.handleIQ(stanza.IQGet, xml.Name{Space: ns.DiscoInfo, Local: "query"}, scopeAccount, s.accountDiscoInfo)
	s.handleIQ(stanza.IQGet, xml.Name{Space: ns.DiscoItems, Local: "query"}, both, discoItems)
	s.handleIQ(stanza.IQSet, xml.Name{Space: ns.Session, Local: "session"}, both,
		func(c *conn, _ *stanza.IQ, _ jid.JID) (stanza.Payload, error) {
			c.session = true
			return nil, nil
		})
	for _, f := range []string{ns.DiscoInfo, ns.DiscoItems, ns.Ping} {
		s.addFeature(both, f)
	}
}

// answerIQ has the server answer an iq on behalf of to, with the handler
// registered in scope sc.
func (s *Server) answerIQ(c *conn, iq *stanza.IQ, to jid.JID, sc scope) {
	if iq.Type != stanza.IQGet && iq.Type != stanza.IQSet {
		return // results and errors to the server are dropped
	}
	raw, ok := iq.Raw()
	if !ok {
		c.bounceCond(iq, stanza.BadRequest)
		return
	}
	name := raw.Name()
	fn, ok := s.iqHandlers[iqKey{iq.Type, name, sc}]
	if !ok {
		fn, ok = s.iqHandlers[iqKey{iq.Type, xml.Name{Space: name.Space}, sc}]
	}
	if !ok {
		c.bounceCond(iq, stanza.ServiceUnavailable)
		return
	}
	p, err := fn(c, iq, to)
	if err != nil {
		var se *stanza.Error
		var cond stanza.Condition
		switch {
		case errors.As(err, &se):
		case errors.As(err, &cond):
			se = stanza.NewError(cond, "")
		default:
			se = stanza.NewError(stanza.InternalServerError, "")
		}
		c.bounce(iq, se)
		return
	}
	c.reply(iq.Result(p))
}

// discoInfo answers disco#info for the domain (XEP-0030 §3.1): a server/im
// identity and the domain's features.
func (s *Server) discoInfo(_ *conn, iq *stanza.IQ, _ jid.JID) (stanza.Payload, error) {
	return infoQuery(iq, "<identity category='server' type='im' name='Parley xmpptest'/>", s.discoFeatures)
}

// accountDiscoInfo answers disco#info for an account's bare JID on its
// behalf (XEP-0030 §3.1: the server replies for a hosted account, with the
// primary identity account/registered). Every account is registered and,
// as presence subscriptions are not tracked yet, anyone may ask; the
// features are what the server answers for the account.
func (s *Server) accountDiscoInfo(_ *conn, iq *stanza.IQ, _ jid.JID) (stanza.Payload, error) {
	return infoQuery(iq, "<identity category='account' type='registered'/>", s.accountFeatures)
}

// infoQuery builds a disco#info result from a fixed identity element and
// features; a query for any node is item-not-found.
func infoQuery(iq *stanza.IQ, identity string, features []string) (stanza.Payload, error) {
	raw, _ := iq.Raw()
	if raw.Attr("node") != "" {
		return nil, stanza.ItemNotFound
	}
	b := []byte("<query xmlns='" + ns.DiscoInfo + "'>" + identity)
	for _, f := range features {
		b = append(b, "<feature var='"...)
		b = xmlenc.AppendEscaped(b, f)
		b = append(b, "'/>"...)
	}
	b = append(b, "</query>"...)
	return stanza.ParseRaw(b)
}

// discoItems answers disco#items for the domain or an account: neither
// has any.
func discoItems(_ *conn, iq *stanza.IQ, _ jid.JID) (stanza.Payload, error) {
	raw, _ := iq.Raw()
	if raw.Attr("node") != "" {
		return nil, stanza.ItemNotFound
	}
	return stanza.ParseRaw([]byte("<query xmlns='" + ns.DiscoItems + "'/>"))
}

// bind binds a resource (RFC 6120 §7.6, §7.7). It reports true once a
// resource is bound; a refused bind has been answered.
func (c *conn) bind(iq *stanza.IQ, raw *stanza.Raw) (bool, error) {
	var v struct {
		XMLName  xml.Name `xml:"urn:ietf:params:xml:ns:xmpp-bind bind"`
		Resource string   `xml:"resource"`
	}
	if err := raw.Decode(&v); err != nil {
		return false, c.writeStanza(iq.ErrorReply(stanza.NewError(stanza.BadRequest, "unreadable bind request")))
	}
	res := v.Resource
	if res == "" {
		res = "xmpptest-" + newID()[:8]
	}
	s := c.srv
	full, err := jid.New(c.user, s.domain.Domainpart(), res)
	if err != nil {
		return false, c.writeStanza(iq.ErrorReply(stanza.NewError(stanza.BadRequest, "invalid resourcepart")))
	}
	s.mu.Lock()
	a := s.accounts[c.user]
	if a == nil {
		s.mu.Unlock()
		return false, &stanza.StreamError{Condition: stanza.StreamNotAuthorized, Text: "the account is gone"}
	}
	old := a.resources[full.Resourcepart()]
	if old != nil && s.cfg.RefuseConflicts {
		s.mu.Unlock()
		return false, c.writeStanza(iq.ErrorReply(stanza.NewError(stanza.Conflict, "the resource is bound by another session")))
	}
	if old != nil {
		old.bound = false
	}
	a.resources[full.Resourcepart()] = c
	c.addr, c.bound = full, true
	s.last[full] = c
	s.mu.Unlock()
	if old != nil {
		// The replaced resource is gone before the new one is bound:
		// its contacts see it go unavailable first (its own goroutine,
		// no longer bound, runs no end hooks).
		for _, h := range s.endHooks {
			h(old)
		}
		old.shutdown(&stanza.StreamError{Condition: stanza.StreamConflict, Text: "replaced by a new session"}, time.Second)
	}
	result, err := stanza.ParseRaw(appendBindResult(nil, full))
	if err != nil {
		return false, err
	}
	reply := iq.Result(result)
	reply.From, reply.To = jid.JID{}, full
	return true, c.writeStanza(reply)
}

func appendBindResult(b []byte, full jid.JID) []byte {
	b = append(b, "<bind xmlns='"+ns.Bind+"'><jid>"...)
	b = xmlenc.AppendEscaped(b, full.String())
	return append(b, "</jid></bind>"...)
}

// advertisedBindings returns the channel binding types to advertise.
func advertisedBindings(c *conn) []string {
	if c.srv.cfg.NoChannelBinding {
		return nil
	}
	return saslauth.ChannelBindingTypes(c.tlsState)
}

// newID returns 16 random hex digits.
func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

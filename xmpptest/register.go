package xmpptest

import (
	"encoding/xml"
	"time"

	"github.com/parleyim/parley/form"
	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/register"
	"github.com/parleyim/parley/stanza"
)

// In-band registration (XEP-0077), on when Config.Registration is set:
// the stream feature and the get and set of jabber:iq:register before
// authentication (create an account), and on a logged-in stream (read
// the registration, change the password, remove the account).

// registerFeature is the stream feature offered before authentication.
const registerFeature = "<register xmlns='" + ns.RegisterFeature + "'/>"

// Texts of the registration errors, which tests may compare.
const (
	regInstructions    = "Choose a username and password for use with this service."
	regMissing         = "The username and the password are required."
	regBadUsername     = "The requested username is invalid."
	regTaken           = "The requested username already exists."
	regOtherAccount    = "The username is not the account's."
	regRemoved         = "Account removed"
	regPasswordChanged = "Password changed"
)

// registerRegistration registers the logged-in half: the handlers for
// jabber:iq:register on the domain and on the account itself, and the
// domain's disco feature.
func (s *Server) registerRegistration() {
	if !s.cfg.Registration {
		return
	}
	q := xml.Name{Space: ns.Register, Local: "query"}
	both := scopeServer | scopeAccount
	s.handleIQ(stanza.IQGet, q, both, s.registrationInfo)
	s.handleIQ(stanza.IQSet, q, both, s.changeRegistration)
	s.addFeature(scopeServer, ns.Register)
}

// preAuthIQ answers an iq sent before authentication: registration when
// enabled, anything else not-authorized (RFC 6120 §4.9.3.12 would end
// the stream; an iq error lets the client go on and log in).
func (c *conn) preAuthIQ(raw *stanza.Raw) error {
	tr := raw.TokenReader()
	tok, err := tr.Token()
	if err != nil {
		return asStreamError(err)
	}
	start, ok := tok.(xml.StartElement)
	if !ok {
		return &stanza.StreamError{Condition: stanza.StreamBadFormat, Text: "an iq without a start tag"}
	}
	st, err := stanza.Decoder{}.Decode(tr, start)
	if err != nil {
		return asStreamError(err)
	}
	iq, ok := st.(*stanza.IQ)
	if !ok || (iq.Type != stanza.IQGet && iq.Type != stanza.IQSet) {
		return nil // results and errors are dropped
	}
	if !iq.To.IsZero() && iq.To != c.srv.domain {
		return c.writeStanza(preAuthReply(iq, nil, stanza.NewError(stanza.ServiceUnavailable, "")))
	}
	p, ok := iq.Raw()
	if !ok || p.Name() != (xml.Name{Space: ns.Register, Local: "query"}) {
		return c.writeStanza(preAuthReply(iq, nil, stanza.NewError(stanza.NotAuthorized, "log in first")))
	}
	if iq.Type == stanza.IQGet {
		return c.writeStanza(preAuthReply(iq, c.srv.registrationForm(), nil))
	}
	q, err := register.ParseQuery(p)
	if err != nil {
		return c.writeStanza(preAuthReply(iq, nil, stanza.NewError(stanza.BadRequest, "unreadable registration")))
	}
	if q.Remove {
		return c.writeStanza(preAuthReply(iq, nil, stanza.NewError(stanza.NotAuthorized, "log in to remove an account")))
	}
	return c.writeStanza(preAuthReply(iq, nil, c.srv.createAccount(q)))
}

// preAuthReply answers iq on the domain's behalf, with the payload p or
// the error e.
func preAuthReply(iq *stanza.IQ, p stanza.Payload, e *stanza.Error) *stanza.IQ {
	r := &stanza.IQ{Header: stanza.Header{ID: iq.ID, From: iq.To, Lang: iq.Lang}, Type: stanza.IQResult, Payload: p}
	if e != nil {
		r.Type, r.Payload, r.Error = stanza.IQError, nil, e
	}
	return r
}

// registrationForm is what the server asks for: the username and the
// password, as legacy fields or (Config.RegistrationForm) as a data form.
func (s *Server) registrationForm() *register.Query {
	if s.cfg.RegistrationForm {
		f := form.New(form.TypeForm, ns.Register,
			form.Field{Var: "username", Type: form.TextSingle, Label: "Username", Required: true},
			form.Field{Var: "password", Type: form.TextPrivate, Label: "Password", Required: true},
		)
		f.Instructions = []string{regInstructions}
		return &register.Query{Instructions: regInstructions, Form: &f}
	}
	return &register.Query{Instructions: regInstructions, Fields: []register.Field{{Name: "username"}, {Name: "password"}}}
}

// answers returns the username and password of a registration, from the
// legacy fields or from a submitted form.
func answers(q *register.Query) (username, password string) {
	if q.Form != nil {
		return q.Form.Value("username"), q.Form.Value("password")
	}
	return q.Value("username"), q.Value("password")
}

// createAccount creates the account a registration asks for; a refusal is
// the error to answer with.
func (s *Server) createAccount(q *register.Query) *stanza.Error {
	user, password := answers(q)
	if user == "" || password == "" {
		return stanza.NewError(stanza.NotAcceptable, regMissing)
	}
	j, err := jid.New(user, s.domain.Domainpart(), "")
	if err != nil {
		return stanza.NewError(stanza.NotAcceptable, regBadUsername)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.accounts[j.Localpart()]; ok {
		return stanza.NewError(stanza.Conflict, regTaken)
	}
	s.accounts[j.Localpart()] = &account{password: password, resources: map[string]*conn{}}
	return nil
}

// registrationInfo answers a logged-in get (XEP-0077 §3.2): registered,
// with the username.
func (s *Server) registrationInfo(c *conn, _ *stanza.IQ, to jid.JID) (stanza.Payload, error) {
	if to != s.domain && to != c.addr.Bare() {
		return nil, stanza.Forbidden
	}
	return &register.Query{Registered: true, Instructions: regInstructions,
		Fields: []register.Field{{Name: "username", Value: c.addr.Localpart()}, {Name: "password"}}}, nil
}

// changeRegistration answers a logged-in set: remove the account
// (XEP-0077 §3.2) or change its password (§3.3).
func (s *Server) changeRegistration(c *conn, iq *stanza.IQ, to jid.JID) (stanza.Payload, error) {
	if to != s.domain && to != c.addr.Bare() {
		return nil, stanza.Forbidden
	}
	raw, _ := iq.Raw()
	q, err := register.ParseQuery(raw)
	if err != nil {
		return nil, stanza.NewError(stanza.BadRequest, "unreadable registration")
	}
	if q.Remove {
		s.removeAccount(c, iq)
		return nil, nil
	}
	// XEP-0077 §3.3: an incomplete request is bad-request; so is
	// another account's username, as on Prosody.
	user, password := answers(q)
	if user == "" || password == "" {
		return nil, stanza.NewError(stanza.BadRequest, regMissing)
	}
	if j, err := jid.New(user, s.domain.Domainpart(), ""); err != nil || j.Localpart() != c.addr.Localpart() {
		return nil, stanza.NewError(stanza.BadRequest, regOtherAccount)
	}
	s.mu.Lock()
	a := s.accounts[c.addr.Localpart()]
	if a == nil {
		s.mu.Unlock()
		return nil, stanza.ItemNotFound
	}
	a.password = password
	var others []*conn
	for _, rc := range a.resources {
		if rc != c {
			others = append(others, rc)
		}
	}
	s.mu.Unlock()
	// The account's other streams were opened with the old password:
	// Prosody ends them with reset, ejabberd keeps them; xmpptest does
	// what the stricter server does.
	for _, rc := range others {
		rc.shutdown(&stanza.StreamError{Condition: stanza.StreamReset, Text: regPasswordChanged}, time.Second)
	}
	return nil, nil
}

// removeAccount removes the account of c, the connection that asked:
// the result goes to c, then each of the account's streams ends with a
// not-authorized stream error (as Prosody does), after its resource has
// gone unavailable to those who had its presence; its contacts are
// removed from its roster with their subscriptions; then the account
// and its stored messages are gone.
func (s *Server) removeAccount(c *conn, iq *stanza.IQ) {
	_ = c.writeStanza(iq.Result(nil))
	user := c.addr.Localpart()
	s.mu.Lock()
	a := s.accounts[user]
	if a == nil {
		s.mu.Unlock()
		return
	}
	conns := make([]*conn, 0, len(a.resources))
	for res, rc := range a.resources {
		rc.bound = false
		delete(a.resources, res)
		conns = append(conns, rc)
	}
	s.mu.Unlock()
	for _, rc := range conns {
		for _, h := range s.endHooks {
			h(rc)
		}
	}
	// Each contact is removed as a client's roster remove would, which
	// ends the subscriptions both ways (RFC 6121 §2.5.2), as Prosody does
	// when it deletes an account.
	if r, err := s.Roster(c.addr.Bare()); err == nil {
		for _, it := range r.Items {
			_ = s.RemoveRosterItem(c.addr.Bare(), it.JID)
		}
	}
	s.mu.Lock()
	if s.accounts[user] == a {
		delete(s.accounts, user)
	}
	s.mu.Unlock()
	for _, rc := range conns {
		rc.shutdown(&stanza.StreamError{Condition: stanza.StreamNotAuthorized, Text: regRemoved}, time.Second)
	}
}

package xmpptest

import (
	"cmp"
	"encoding/xml"
	"errors"
	"slices"
	"strings"

	"mellium.im/xmlstream"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/xmlenc"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/privacy"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/stanza"
)

// Privacy lists (RFC 3921 §10, the same text as XEP-0016) and blocking
// (XEP-0191). Each account keeps its privacy lists, its default list and
// its blocklist; each resource its active list. All of it is under s.mu.
//
// Enforcement: a stanza between two accounts is checked on the way out
// against the sender's lists and on the way in against the recipient's,
// where the list that applies to a resource is its active list, else the
// account's default list (the default list alone when no resource is
// concerned: a message kept offline, a subscription stanza, an iq to the
// bare JID). The blocklist applies to the account as a whole, on top of
// the privacy lists: on ejabberd blocking is built on the default
// privacy list and a resource with an active list escapes it; xmpptest
// keeps the two apart, so a blocked JID stays blocked whatever list is
// active (XEP-0191 §3.3: no stanza from the contact is delivered). The
// resources of one account are never kept apart.
//
// What is refused: an outbound stanza gets not-acceptable (XEP-0016
// §2.13, XEP-0191 §3.3, the latter with <blocked/>); an inbound message
// or iq get/set gets service-unavailable, so the account looks offline;
// anything else (presence of every type, iq results and errors) is
// dropped without a word. The rules were run on Prosody 0.12 with
// mod_privacy_lists and mod_blocklist and on ejabberd 23.01
// (privacycases_test.go holds the steps and what each server does);
// where they differ the comment at the rule says which way xmpptest goes.
//
// The lists and the blocking payloads are the client package's
// (privacy.List, privacy.Query, privacy.Blocking), read with its parsers
// and written by its WriteXML. What those pass over and a server
// refuses, or answers with another condition, is checked here
// (privacyChildren, readPrivacySet, readBlockItems).

const (
	nsPrivacy        = ns.Privacy
	nsBlocking       = ns.Blocking
	nsBlockingErrors = ns.BlockingErrors

	// maxPrivacyLists bounds the lists of an account, maxPrivacyItems
	// the items of one list and maxBlocked the blocklist: a request
	// past a bound is refused with resource-constraint and changes
	// nothing, so a test cannot grow the server without bound.
	maxPrivacyLists = 50
	maxPrivacyItems = 250
	maxBlocked      = 1000
)

// flow is what a stanza is to the account whose list is checked. Only
// "all" items (no child) cover flowOtherIn and flowOtherOut: outbound
// messages and iqs, and presence that is no notification (subscription
// stanzas, probes), either way.
type flow uint8

const (
	flowMessageIn flow = iota
	flowIQIn
	flowPresenceIn  // available or unavailable presence received
	flowPresenceOut // available or unavailable presence sent
	flowOtherIn
	flowOtherOut
)

// flowKinds is the stanza kind of each flow, as privacy.Kinds.Covers
// takes it; the other flows have none, so that only an item for every
// kind covers them.
var flowKinds = [...]privacy.Kinds{
	flowMessageIn:   privacy.Message,
	flowIQIn:        privacy.IQ,
	flowPresenceIn:  privacy.PresenceIn,
	flowPresenceOut: privacy.PresenceOut,
	flowOtherIn:     0,
	flowOtherOut:    0,
}

// privList is a privacy list as an account keeps it: its items in
// ascending order, and the JID of each jid item parsed once (jids[i]
// for Items[i]; the zero JID for the other types).
type privList struct {
	privacy.List
	jids []jid.JID
}

// newPrivList keeps l, whose items are valid (privacy.ParseQuery
// checked them), sorted by order.
func newPrivList(l privacy.List) *privList {
	pl := &privList{List: privacy.List{Name: l.Name, Items: l.Sorted()}}
	pl.jids = make([]jid.JID, len(pl.Items))
	for i, it := range pl.Items {
		pl.jids[i], _ = it.JID()
	}
	return pl
}

// matches reports whether the item i of l applies to the entity other,
// whose roster item (found says whether there is one) gives its groups
// and subscription.
func (l *privList) matches(i int, other jid.JID, e *roster.Item, found bool) bool {
	it := &l.Items[i]
	switch it.Type {
	case privacy.TypeJID:
		return jidMatches(l.jids[i], other)
	case privacy.TypeGroup:
		return found && slices.Contains(e.Groups, it.Value)
	case privacy.TypeSubscription:
		// An entity not in the roster has subscription none (RFC 3921
		// §10.1), as both servers take it.
		sub := roster.SubscriptionNone
		if found {
			sub = e.Subscription
		}
		return sub.String() == it.Value
	}
	return true // the fall-through item
}

// jidMatches reports whether the item value pat matches j at one of the
// levels of RFC 3921 §10.1: a full JID only itself, a bare JID any of its
// resources, domain/resource that resource of any user of the domain
// (both servers match it so), a domain everything at the domain.
func jidMatches(pat, j jid.JID) bool {
	if j.Domainpart() != pat.Domainpart() {
		return false
	}
	local, res := pat.Localpart() != "", pat.Resourcepart() != ""
	switch {
	case local && res:
		return pat == j
	case local:
		return pat == j.Bare()
	case res:
		return pat.Resourcepart() == j.Resourcepart()
	}
	return true
}

// denies reports whether l refuses a stanza of flow f exchanged with
// other: the first item, in order, that covers the stanza and matches
// the entity decides; none means allow (RFC 3921 §10.2 rules 5–7).
func (l *privList) denies(b *rosterBook, other jid.JID, f flow) bool {
	var e rosterEntry
	found, looked := false, false
	kind := flowKinds[f]
	for i := range l.Items {
		it := &l.Items[i]
		if !it.Kinds.Covers(kind) {
			continue
		}
		if !looked && (it.Type == privacy.TypeGroup || it.Type == privacy.TypeSubscription) {
			e, found = b.items[other.Bare()]
			looked = true
		}
		if l.matches(i, other, &e.item, found) {
			return it.Action == privacy.Deny
		}
	}
	return false
}

// blocks reports whether a's blocklist holds an item matching other
// (XEP-0191 §4: the JID matching of privacy lists). s.mu is held.
func (a *account) blocks(other jid.JID) bool {
	for _, b := range a.blocked {
		if jidMatches(b, other) {
			return true
		}
	}
	return false
}

// listFor returns the list that applies to rc (nil for the account as
// a whole): its active list, else the default list; nil for none.
func (a *account) listFor(rc *conn) *privList {
	name := a.defaultList
	if rc != nil && rc.activeList != "" {
		name = rc.activeList
	}
	if name == "" {
		return nil
	}
	return a.privacy[name]
}

// refusal is why a stanza is not routed.
type refusal uint8

const (
	allowed refusal = iota
	byList
	byBlocklist
)

// refuses reports whether the account a, whose address is self, refuses
// a stanza of flow f exchanged with other, for its resource rc (nil for
// the account as a whole), and why. s.mu is held.
func (s *Server) refuses(a *account, self jid.JID, rc *conn, other jid.JID, f flow) refusal {
	if a == nil || (a.privacy == nil && len(a.blocked) == 0) {
		return allowed
	}
	if other.Localpart() == self.Localpart() && s.isLocal(other) {
		return allowed // the account's own resources
	}
	if a.blocks(other) {
		return byBlocklist
	}
	if l := a.listFor(rc); l != nil && l.denies(a.book(), other, f) {
		return byList
	}
	return allowed
}

// notAcceptable is the error for an outbound stanza refused for r.
func notAcceptable(r refusal) *stanza.Error {
	if r == byBlocklist {
		e := stanza.NewError(stanza.NotAcceptable, "")
		if app, err := stanza.ParseRaw([]byte("<blocked xmlns='" + nsBlockingErrors + "'/>")); err == nil {
			e.App = app
		}
		return e
	}
	return stanza.NewError(stanza.NotAcceptable, "")
}

// outboundRefused checks st, which c sends to 'to', against c's lists
// and blocklist; when they refuse it, c gets not-acceptable (nothing when
// st must not be answered) and it reports true. s.mu is held; the answer
// waits in c's replies.
func (s *Server) outboundRefused(c *conn, st stanza.Stanza, to jid.JID, f flow) bool {
	a := s.accounts[c.addr.Localpart()]
	if r := s.refuses(a, c.addr, c, to, f); r != allowed {
		c.bounce(st, notAcceptable(r))
		return true
	}
	return false
}

// presenceFlows returns the flows of p for its recipient and its sender.
func presenceFlows(p *stanza.Presence) (in, out flow) {
	if p.Type == stanza.PresenceAvailable || p.Type == stanza.PresenceUnavailable {
		return flowPresenceIn, flowPresenceOut
	}
	return flowOtherIn, flowOtherOut
}

// presenceAllowed reports whether presence p may reach rc: the
// sender's lists (its resource's active list when p is from a full JID)
// and the recipient's both let it through. Presence is never answered
// with an error. s.mu is held.
func (s *Server) presenceAllowed(rc *conn, p *stanza.Presence) bool {
	if !s.isLocal(p.From) || p.From.Localpart() == "" || p.From.Localpart() == rc.addr.Localpart() {
		return true
	}
	in, out := presenceFlows(p)
	if s.refuses(s.accounts[rc.addr.Localpart()], rc.addr, rc, p.From, in) != allowed {
		return false
	}
	sa := s.accounts[p.From.Localpart()]
	var sc *conn
	if sa != nil && p.From.Resourcepart() != "" {
		sc = sa.resources[p.From.Resourcepart()]
	}
	return s.refuses(sa, p.From, sc, rc.addr, out) == allowed
}

// registerPrivacy registers the jabber:iq:privacy and urn:xmpp:blocking
// iqs of every account, advertises both on the domain (XEP-0191 §3.1:
// a client asks its server), and checks directed presence on the way
// out.
func (s *Server) registerPrivacy() {
	q := xml.Name{Space: nsPrivacy, Local: "query"}
	s.handleIQ(stanza.IQGet, q, scopeAccount, s.privacyGet)
	s.handleIQ(stanza.IQSet, q, scopeAccount, s.privacySet)
	s.handleIQ(stanza.IQGet, xml.Name{Space: nsBlocking, Local: "blocklist"}, scopeAccount, s.blocklistGet)
	s.handleIQ(stanza.IQSet, xml.Name{Space: nsBlocking, Local: "block"}, scopeAccount, s.blockSet)
	s.handleIQ(stanza.IQSet, xml.Name{Space: nsBlocking, Local: "unblock"}, scopeAccount, s.blockSet)
	s.addFeature(scopeServer, nsPrivacy)
	s.addFeature(scopeServer, nsBlocking)
	s.presenceHooks = append([]presenceHook{s.presenceOut}, s.presenceHooks...)
}

// presenceOut refuses, with not-acceptable, a presence with a 'to' that
// the sender's lists or blocklist refuse (XEP-0016 §2.13: an outbound
// stanza; presence-out items cover available and unavailable presence,
// only items for everything cover the rest).
func (s *Server) presenceOut(c *conn, p *stanza.Presence) (bool, []jid.JID) {
	if p.To.IsZero() || p.Type == stanza.PresenceError {
		return false, nil
	}
	_, out := presenceFlows(p)
	s.mu.Lock()
	r := s.refuses(s.accounts[c.addr.Localpart()], c.addr, c, p.To, out)
	s.mu.Unlock()
	if r == allowed {
		return false, nil
	}
	c.bounce(p, notAcceptable(r))
	return true, nil
}

// ownAccount refuses a privacy or blocking request addressed to
// another account.
func ownAccount(c *conn, to jid.JID) error {
	if to != c.addr.Bare() {
		return stanza.NewError(stanza.Forbidden, "only the account itself may read or change its privacy lists")
	}
	return nil
}

func badRequest(text string) *stanza.Error { return stanza.NewError(stanza.BadRequest, text) }

// privacyChildren returns the child elements of a jabber:iq:privacy
// query, after checking what privacy.ParseQuery passes over and a server
// refuses with bad-request: a child other than <active/>, <default/> and
// <list/>, a child of <active/> or <default/>, and a child of a list
// other than <item/> (Prosody reads every child of a list as an item:
// a list with an unknown child is no removal). A list of more than
// maxPrivacyItems items is refused with resource-constraint.
func privacyChildren(raw *stanza.Raw) ([]xml.StartElement, *stanza.Error) {
	tr := raw.TokenReader()
	if _, err := xmlenc.Start(tr); err != nil {
		return nil, badRequest("unreadable query")
	}
	var out []xml.StartElement
	var serr *stanza.Error
	err := xmlenc.EachChild(tr, func(child xml.StartElement) error {
		if child.Name.Space != nsPrivacy || (child.Name.Local != "active" && child.Name.Local != "default" && child.Name.Local != "list") {
			serr = badRequest("unknown element <" + child.Name.Local + "/>")
			return serr
		}
		out = append(out, child)
		items := 0
		return xmlenc.EachChild(tr, func(c xml.StartElement) error {
			if child.Name.Local != "list" || c.Name.Space != nsPrivacy || c.Name.Local != "item" {
				serr = badRequest("unexpected <" + c.Name.Local + "/>")
				return serr
			}
			if items++; items > maxPrivacyItems {
				serr = stanza.NewError(stanza.ResourceConstraint, "too many items in one list")
				return serr
			}
			return xmlstream.Skip(tr)
		})
	})
	if serr != nil {
		return nil, serr
	}
	if err != nil {
		return nil, badRequest("unreadable query")
	}
	return out, nil
}

// privacyLists reads the lists of a query that privacyChildren accepted
// and checks every item (RFC 3921 §10.1: privacy.ParseQuery) and the
// orders of each list (List.Validate): bad-request for anything
// malformed, with the fault as the text.
func privacyLists(raw *stanza.Raw) ([]privacy.List, *stanza.Error) {
	q, err := privacy.ParseQuery(raw)
	if err != nil {
		return nil, privacyFault(err, privacy.ErrMalformed)
	}
	for _, l := range q.Lists {
		if err := l.Validate(); err != nil {
			return nil, privacyFault(err, privacy.ErrInvalid)
		}
	}
	return q.Lists, nil
}

// privacyFault is the bad-request for an error of the privacy package
// that wraps sentinel, the fault after the sentinel's words as its text
// (`list "l": item 1: action "block" is not allow or deny`).
func privacyFault(err, sentinel error) *stanza.Error {
	if !errors.Is(err, sentinel) {
		return badRequest("unreadable query")
	}
	return badRequest(strings.TrimPrefix(err.Error(), sentinel.Error()+": "))
}

// privacyGet answers a get: the names of the lists with the active and
// default ones, or one list (RFC 3921 §10.3).
func (s *Server) privacyGet(c *conn, iq *stanza.IQ, to jid.JID) (stanza.Payload, error) {
	if err := ownAccount(c, to); err != nil {
		return nil, err
	}
	raw, _ := iq.Raw()
	children, serr := privacyChildren(raw)
	if serr != nil {
		return nil, serr
	}
	var name string
	switch {
	case len(children) == 0:
	case len(children) == 1 && children[0].Name.Local == "list":
		var ok bool
		if name, ok = xmlenc.Attr(children[0], "name"); ok && name == "" {
			// No list has an empty name.
			return nil, stanza.NewError(stanza.ItemNotFound, "no such list")
		}
		if !ok {
			return nil, badRequest("a get asks for all names or for one list")
		}
		if _, serr := privacyLists(raw); serr != nil {
			return nil, serr
		}
	default:
		// One list at a time (RFC 3921 §10.3).
		return nil, badRequest("a get asks for all names or for one list")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[c.addr.Localpart()]
	if a == nil {
		return nil, stanza.ItemNotFound
	}
	if name != "" {
		l := a.privacy[name]
		if l == nil {
			return nil, stanza.NewError(stanza.ItemNotFound, "no such list")
		}
		return &privacy.Query{Lists: []privacy.List{l.List.Clone()}}, nil
	}
	q := &privacy.Query{Active: c.activeList, HasActive: c.activeList != "", Default: a.defaultList, HasDefault: a.defaultList != ""}
	for _, name := range sortedNames(a.privacy) {
		q.Lists = append(q.Lists, privacy.List{Name: name})
	}
	return q, nil
}

func sortedNames(m map[string]*privList) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// appliesElsewhere reports whether the list name applies to a resource
// of a other than c: as its active list, or as the default list of a
// resource without one.
func appliesElsewhere(a *account, c *conn, name string) bool {
	for _, rc := range a.resources {
		if rc == c {
			continue
		}
		if rc.activeList == name || (rc.activeList == "" && a.defaultList == name) {
			return true
		}
	}
	return false
}

// defaultInUse reports whether the default list applies to a resource
// of a other than c: one without an active list.
func defaultInUse(a *account, c *conn) bool {
	for _, rc := range a.resources {
		if rc != c && rc.activeList == "" {
			return true
		}
	}
	return false
}

// readPrivacySet reads the query of a set: its one child (RFC 3921
// §10.1), and for a <list/> the list, named and checked.
func readPrivacySet(raw *stanza.Raw) (xml.StartElement, privacy.List, *stanza.Error) {
	children, serr := privacyChildren(raw)
	if serr != nil {
		return xml.StartElement{}, privacy.List{}, serr
	}
	if len(children) != 1 {
		return xml.StartElement{}, privacy.List{}, badRequest("a set carries exactly one of <active/>, <default/> and <list/> (RFC 3921 §10.1)")
	}
	ch := children[0]
	if ch.Name.Local != "list" {
		return ch, privacy.List{}, nil
	}
	if name, _ := xmlenc.Attr(ch, "name"); name == "" {
		return ch, privacy.List{}, badRequest("a list has a name")
	}
	lists, serr := privacyLists(raw)
	if serr != nil {
		return ch, privacy.List{}, serr
	}
	return ch, lists[0], nil
}

// privacySet handles a set: exactly one child (RFC 3921 §10.1) that sets
// or declines the active or the default list, or creates, replaces or
// (with no items) removes a list.
func (s *Server) privacySet(c *conn, iq *stanza.IQ, to jid.JID) (stanza.Payload, error) {
	if err := ownAccount(c, to); err != nil {
		return nil, err
	}
	raw, _ := iq.Raw()
	ch, l, serr := readPrivacySet(raw)
	if serr != nil {
		return nil, serr
	}
	name, hasName := xmlenc.Attr(ch, "name")
	o := &outbox{s: s, sender: c}
	s.mu.Lock()
	defer func() {
		s.mu.Unlock()
		o.flush()
	}()
	a := s.accounts[c.addr.Localpart()]
	if a == nil {
		return nil, stanza.ItemNotFound
	}
	switch ch.Name.Local {
	case "active":
		if hasName && a.privacy[name] == nil {
			return nil, stanza.NewError(stanza.ItemNotFound, "no such list")
		}
		// §10.4: applied before the result is sent; it lasts as long
		// as the stream. XEP-0016 §2.10–2.11 want unavailable presence
		// sent when a list newly blocks presence (from the contact on
		// presence-in, to it on presence-out); neither Prosody nor
		// ejabberd sends any (the presence-in and presence-out cases),
		// and neither does xmpptest.
		c.activeList = name
		return nil, nil
	case "default":
		if hasName && a.privacy[name] == nil {
			return nil, stanza.NewError(stanza.ItemNotFound, "no such list")
		}
		// §10.5: the default list may not change while it applies to
		// another resource (one without an active list). Prosody
		// refuses as soon as another resource has no active list, also
		// when there is no default list yet; xmpptest follows the RFC.
		if a.defaultList != "" && a.defaultList != name && defaultInUse(a, c) {
			return nil, stanza.NewError(stanza.Conflict, "the default list applies to another resource")
		}
		a.defaultList = name
		return nil, nil
	}
	if len(l.Items) == 0 {
		// §10.7: removal.
		if a.privacy[name] == nil {
			// Prosody answers bad-request; the RFC item-not-found.
			return nil, stanza.NewError(stanza.ItemNotFound, "no such list")
		}
		if appliesElsewhere(a, c, name) {
			return nil, stanza.NewError(stanza.Conflict, "the list applies to another resource")
		}
		delete(a.privacy, name)
		if a.defaultList == name {
			a.defaultList = ""
		}
		if c.activeList == name {
			c.activeList = ""
		}
		// No push: a removal changes no rule that applies (RFC 3921
		// §10.2 rule 10 pushes modified lists), and neither server
		// pushes one.
		return nil, nil
	}
	if a.privacy[name] == nil && len(a.privacy) >= maxPrivacyLists {
		return nil, stanza.NewError(stanza.ResourceConstraint, "too many privacy lists")
	}
	if a.privacy == nil {
		a.privacy = map[string]*privList{}
	}
	// §10.6: a list in use may be edited; what applies it sees the new
	// definition at once.
	a.privacy[name] = newPrivList(l)
	// §10.6: a push naming the list to every connected resource (as
	// both servers do, the sender too, after its result).
	for _, rc := range sortedResources(a) {
		q := &privacy.Query{Lists: []privacy.List{{Name: name}}}
		o.send(rc, &stanza.IQ{Header: stanza.Header{ID: newID(), To: rc.addr}, Type: stanza.IQSet, Payload: q})
	}
	return nil, nil
}

// sortedResources returns a's bound resources in the order they became
// available (those never available first). s.mu is held.
func sortedResources(a *account) []*conn {
	out := make([]*conn, 0, len(a.resources))
	for _, rc := range a.resources {
		out = append(out, rc)
	}
	slices.SortFunc(out, func(x, y *conn) int { return cmp.Compare(x.availSeq, y.availSeq) })
	return out
}

// blocklistGet answers a blocklist get (XEP-0191 §3.2) and makes the
// resource interested: it receives block and unblock pushes from then
// on.
func (s *Server) blocklistGet(c *conn, iq *stanza.IQ, to jid.JID) (stanza.Payload, error) {
	if err := ownAccount(c, to); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[c.addr.Localpart()]
	if a == nil {
		return nil, stanza.ItemNotFound
	}
	c.blocklistInterested = true
	// Pushes of later changes wait behind this result, which they
	// update.
	c.holdQueue()
	return &privacy.Blocking{Command: privacy.CommandBlocklist, JIDs: slices.Clone(a.blocked)}, nil
}

// readBlockItems reads the JIDs of the items of a block or unblock
// (privacy.ParseBlocking), each once, in the order given: jid-malformed
// for an item whose jid is missing or is no JID (as Prosody), and
// resource-constraint past maxBlocked JIDs. Other children are passed
// over, as Prosody does.
func readBlockItems(raw *stanza.Raw) (*privacy.Blocking, *stanza.Error) {
	b, err := privacy.ParseBlocking(raw)
	switch {
	case errors.Is(err, privacy.ErrMalformed):
		return nil, stanza.NewError(stanza.JIDMalformed, "an item's jid is not a JID")
	case err != nil:
		return nil, badRequest("unreadable request")
	}
	unique := b.JIDs[:0]
	for _, j := range b.JIDs {
		if slices.Contains(unique, j) {
			continue
		}
		if len(unique) >= maxBlocked {
			return nil, stanza.NewError(stanza.ResourceConstraint, "too many items")
		}
		unique = append(unique, j)
	}
	b.JIDs = unique
	return b, nil
}

// blockSet handles block, unblock and unblock-all (XEP-0191 §3.3–3.5):
// the blocklist changes, every resource that requested the blocklist
// gets a push with the items (the sender after its result), and the
// contacts concerned that receive the account's presence get
// unavailable presence on a block and the current presence on an
// unblock.
func (s *Server) blockSet(c *conn, iq *stanza.IQ, to jid.JID) (stanza.Payload, error) {
	if err := ownAccount(c, to); err != nil {
		return nil, err
	}
	raw, _ := iq.Raw()
	req, serr := readBlockItems(raw)
	if serr != nil {
		return nil, serr
	}
	block, items := req.Command == privacy.CommandBlock, req.JIDs
	if block && len(items) == 0 {
		return nil, badRequest("a block names at least one JID (XEP-0191 §3.3)")
	}
	o := &outbox{s: s, sender: c}
	s.mu.Lock()
	defer func() {
		s.mu.Unlock()
		o.flush()
	}()
	a := s.accounts[c.addr.Localpart()]
	if a == nil {
		return nil, stanza.ItemNotFound
	}
	self := c.addr.Bare()
	if block {
		added := 0
		for _, j := range items {
			if !slices.Contains(a.blocked, j) {
				added++
			}
		}
		if len(a.blocked)+added > maxBlocked {
			return nil, stanza.NewError(stanza.ResourceConstraint, "the blocklist is full")
		}
		// Unavailable first, while the contacts may still receive it.
		s.presenceToBlocked(o, a, self, items, true)
		for _, j := range items {
			if !slices.Contains(a.blocked, j) {
				a.blocked = append(a.blocked, j)
			}
		}
	} else {
		gone := items
		if len(items) == 0 {
			gone = a.blocked
			a.blocked = nil
		} else {
			a.blocked = slices.DeleteFunc(a.blocked, func(j jid.JID) bool { return slices.Contains(items, j) })
		}
		s.presenceToBlocked(o, a, self, gone, false)
	}
	for _, rc := range sortedResources(a) {
		if !rc.blocklistInterested {
			continue
		}
		p := &privacy.Blocking{Command: req.Command, JIDs: items}
		o.send(rc, &stanza.IQ{Header: stanza.Header{ID: newID(), To: rc.addr}, Type: stanza.IQSet, Payload: p})
	}
	return nil, nil
}

// presenceToBlocked sends the contacts of a that match one of js and
// receive a's presence (subscription from or both) unavailable presence
// from each available resource of a (gone) or their current presence.
// s.mu is held.
func (s *Server) presenceToBlocked(o *outbox, a *account, self jid.JID, js []jid.JID, gone bool) {
	if len(js) == 0 || len(availableSorted(a)) == 0 {
		return
	}
	for _, it := range a.book().list() {
		if !hasFrom(it) || !s.isLocal(it.JID) || it.JID == self {
			continue
		}
		k := s.accounts[it.JID.Localpart()]
		if k == nil || !slices.ContainsFunc(js, func(j jid.JID) bool { return jidMatches(j, it.JID) }) {
			continue
		}
		o.sendPresenceOf(a, gone, availableSorted(k)...)
	}
}

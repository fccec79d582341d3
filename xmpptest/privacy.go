package xmpptest

import (
	"cmp"
	"encoding/xml"
	"errors"
	"io"
	"slices"
	"strconv"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/xmlenc"
	"github.com/parleyim/parley/jid"
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

// privKind is a set of the stanza kinds an item covers (RFC 3921
// §10.1: the children of <item/>). The empty set covers everything.
type privKind uint8

const (
	privMessage privKind = 1 << iota
	privIQ
	privPresenceIn
	privPresenceOut
)

var privKindNames = [...]struct {
	kind privKind
	name string
}{{privMessage, "message"}, {privIQ, "iq"}, {privPresenceIn, "presence-in"}, {privPresenceOut, "presence-out"}}

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

// privItem is one rule of a privacy list.
type privItem struct {
	typ   string // "", "jid", "group" or "subscription"
	value string
	j     jid.JID             // the value of a jid item
	sub   roster.Subscription // the value of a subscription item
	deny  bool
	order uint32
	kinds privKind
}

// privList is a privacy list, its items in ascending order.
type privList struct {
	name  string
	items []privItem
}

// covers reports whether it applies to a stanza of flow f.
func (it *privItem) covers(f flow) bool {
	if it.kinds == 0 {
		return true
	}
	switch f {
	case flowMessageIn:
		return it.kinds&privMessage != 0
	case flowIQIn:
		return it.kinds&privIQ != 0
	case flowPresenceIn:
		return it.kinds&privPresenceIn != 0
	case flowPresenceOut:
		return it.kinds&privPresenceOut != 0
	}
	return false
}

// matches reports whether it applies to the entity other, whose roster
// item (found says whether there is one) gives its groups and
// subscription.
func (it *privItem) matches(other jid.JID, e *roster.Item, found bool) bool {
	switch it.typ {
	case "jid":
		return jidMatches(it.j, other)
	case "group":
		return found && slices.Contains(e.Groups, it.value)
	case "subscription":
		// An entity not in the roster has subscription none (RFC 3921
		// §10.1), as both servers take it.
		sub := roster.SubscriptionNone
		if found {
			sub = e.Subscription
		}
		return sub == it.sub
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
	for i := range l.items {
		it := &l.items[i]
		if !it.covers(f) {
			continue
		}
		if !looked && (it.typ == "group" || it.typ == "subscription") {
			e, found = b.items[other.Bare()]
			looked = true
		}
		if it.matches(other, &e.item, found) {
			return it.deny
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

// privChild is one child of a jabber:iq:privacy query.
type privChild struct {
	local   string // active, default or list
	name    string
	hasName bool
	items   []privItem
}

func badRequest(text string) *stanza.Error { return stanza.NewError(stanza.BadRequest, text) }

// readPrivacyQuery reads the children of a jabber:iq:privacy query and
// checks every item (RFC 3921 §10.1 and the schema): bad-request for
// anything malformed.
func readPrivacyQuery(raw *stanza.Raw) ([]privChild, *stanza.Error) {
	tr := raw.TokenReader()
	var out []privChild
	depth := 0
	var cur *privChild
	var item *privItem
	orders := map[uint32]bool{}
	for {
		tok, err := tr.Token()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, badRequest("unreadable query")
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch depth {
			case 2:
				if t.Name.Space != nsPrivacy || (t.Name.Local != "active" && t.Name.Local != "default" && t.Name.Local != "list") {
					return nil, badRequest("unknown element <" + t.Name.Local + "/>")
				}
				out = append(out, privChild{local: t.Name.Local})
				cur = &out[len(out)-1]
				cur.name, cur.hasName = xmlenc.Attr(t, "name")
				clear(orders)
			case 3:
				if cur.local != "list" || t.Name.Space != nsPrivacy || t.Name.Local != "item" {
					return nil, badRequest("unexpected <" + t.Name.Local + "/>")
				}
				if len(cur.items) >= maxPrivacyItems {
					return nil, stanza.NewError(stanza.ResourceConstraint, "too many items in one list")
				}
				it, serr := readPrivItem(t)
				if serr != nil {
					return nil, serr
				}
				if orders[it.order] {
					return nil, badRequest("two items have the order " + strconv.FormatUint(uint64(it.order), 10))
				}
				orders[it.order] = true
				cur.items = append(cur.items, it)
				item = &cur.items[len(cur.items)-1]
			case 4:
				k := privKind(0)
				for _, kn := range privKindNames {
					if t.Name.Space == nsPrivacy && t.Name.Local == kn.name {
						k = kn.kind
					}
				}
				if k == 0 {
					return nil, badRequest("unknown stanza kind <" + t.Name.Local + "/>")
				}
				item.kinds |= k
			default:
				if depth > 4 {
					return nil, badRequest("unexpected element")
				}
			}
		case xml.EndElement:
			depth--
		}
	}
}

// readPrivItem reads the attributes of an <item/>.
func readPrivItem(t xml.StartElement) (privItem, *stanza.Error) {
	var it privItem
	action, _ := xmlenc.Attr(t, "action")
	switch action {
	case "allow":
	case "deny":
		it.deny = true
	default:
		return it, badRequest("action is allow or deny")
	}
	order, ok := xmlenc.Attr(t, "order")
	n, err := strconv.ParseUint(order, 10, 32)
	if !ok || err != nil {
		return it, badRequest("order is a non-negative integer")
	}
	it.order = uint32(n)
	it.typ, _ = xmlenc.Attr(t, "type")
	value, hasValue := xmlenc.Attr(t, "value")
	switch it.typ {
	case "":
		if hasValue {
			return it, badRequest("a fall-through item has no value")
		}
	case "jid":
		j, err := jid.Parse(value)
		if err != nil {
			return it, badRequest("value is not a JID")
		}
		it.j, it.value = j, j.String()
	case "group":
		if value == "" {
			return it, badRequest("a group item names a group")
		}
		it.value = value
	case "subscription":
		switch value {
		case "none":
			it.sub = roster.SubscriptionNone
		case "to":
			it.sub = roster.SubscriptionTo
		case "from":
			it.sub = roster.SubscriptionFrom
		case "both":
			it.sub = roster.SubscriptionBoth
		default:
			return it, badRequest("subscription is none, to, from or both")
		}
		it.value = value
	default:
		return it, badRequest("type is jid, group or subscription")
	}
	return it, nil
}

// privacyGet answers a get: the names of the lists with the active and
// default ones, or one list (RFC 3921 §10.3).
func (s *Server) privacyGet(c *conn, iq *stanza.IQ, to jid.JID) (stanza.Payload, error) {
	if err := ownAccount(c, to); err != nil {
		return nil, err
	}
	raw, _ := iq.Raw()
	children, serr := readPrivacyQuery(raw)
	if serr != nil {
		return nil, serr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[c.addr.Localpart()]
	if a == nil {
		return nil, stanza.ItemNotFound
	}
	b := []byte("<query xmlns='" + nsPrivacy + "'>")
	switch {
	case len(children) == 0:
		if c.activeList != "" {
			b = appendNamed(b, "active", c.activeList)
		}
		if a.defaultList != "" {
			b = appendNamed(b, "default", a.defaultList)
		}
		for _, name := range sortedNames(a.privacy) {
			b = appendNamed(b, "list", name)
		}
	case len(children) == 1 && children[0].local == "list" && children[0].hasName:
		l := a.privacy[children[0].name]
		if l == nil {
			return nil, stanza.NewError(stanza.ItemNotFound, "no such list")
		}
		b = appendList(b, l)
	default:
		// One list at a time (RFC 3921 §10.3).
		return nil, badRequest("a get asks for all names or for one list")
	}
	b = append(b, "</query>"...)
	return stanza.ParseRaw(b)
}

func sortedNames(m map[string]*privList) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func appendNamed(b []byte, local, name string) []byte {
	b = append(b, "<"+local+" name='"...)
	b = xmlenc.AppendEscaped(b, name)
	return append(b, "'/>"...)
}

// appendList writes l with its items, in order.
func appendList(b []byte, l *privList) []byte {
	b = append(b, "<list name='"...)
	b = xmlenc.AppendEscaped(b, l.name)
	b = append(b, "'>"...)
	for _, it := range l.items {
		b = append(b, "<item"...)
		if it.typ != "" {
			b = append(b, " type='"+it.typ+"' value='"...)
			b = xmlenc.AppendEscaped(b, it.value)
			b = append(b, '\'')
		}
		if it.deny {
			b = append(b, " action='deny'"...)
		} else {
			b = append(b, " action='allow'"...)
		}
		b = append(b, " order='"...)
		b = strconv.AppendUint(b, uint64(it.order), 10)
		b = append(b, '\'')
		if it.kinds == 0 {
			b = append(b, "/>"...)
			continue
		}
		b = append(b, '>')
		for _, kn := range privKindNames {
			if it.kinds&kn.kind != 0 {
				b = append(b, "<"+kn.name+"/>"...)
			}
		}
		b = append(b, "</item>"...)
	}
	return append(b, "</list>"...)
}

// sortItems puts items in ascending order (RFC 3921 §10.2 rule 5).
func sortItems(items []privItem) {
	slices.SortFunc(items, func(x, y privItem) int { return cmp.Compare(x.order, y.order) })
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

// privacySet handles a set: exactly one child (RFC 3921 §10.1) that sets
// or declines the active or the default list, or creates, replaces or
// (with no items) removes a list.
func (s *Server) privacySet(c *conn, iq *stanza.IQ, to jid.JID) (stanza.Payload, error) {
	if err := ownAccount(c, to); err != nil {
		return nil, err
	}
	raw, _ := iq.Raw()
	children, serr := readPrivacyQuery(raw)
	if serr != nil {
		return nil, serr
	}
	if len(children) != 1 {
		return nil, badRequest("a set carries exactly one of <active/>, <default/> and <list/> (RFC 3921 §10.1)")
	}
	ch := children[0]
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
	switch ch.local {
	case "active":
		if ch.hasName && a.privacy[ch.name] == nil {
			return nil, stanza.NewError(stanza.ItemNotFound, "no such list")
		}
		// §10.4: applied before the result is sent; it lasts as long
		// as the stream. XEP-0016 §2.10–2.11 want unavailable presence
		// sent when a list newly blocks presence (from the contact on
		// presence-in, to it on presence-out); neither Prosody nor
		// ejabberd sends any (the presence-in and presence-out cases),
		// and neither does xmpptest.
		c.activeList = ch.name
		return nil, nil
	case "default":
		if ch.hasName && a.privacy[ch.name] == nil {
			return nil, stanza.NewError(stanza.ItemNotFound, "no such list")
		}
		// §10.5: the default list may not change while it applies to
		// another resource (one without an active list). Prosody
		// refuses as soon as another resource has no active list, also
		// when there is no default list yet; xmpptest follows the RFC.
		if a.defaultList != "" && a.defaultList != ch.name && defaultInUse(a, c) {
			return nil, stanza.NewError(stanza.Conflict, "the default list applies to another resource")
		}
		a.defaultList = ch.name
		return nil, nil
	}
	if !ch.hasName || ch.name == "" {
		return nil, badRequest("a list has a name")
	}
	if len(ch.items) == 0 {
		// §10.7: removal.
		if a.privacy[ch.name] == nil {
			// Prosody answers bad-request; the RFC item-not-found.
			return nil, stanza.NewError(stanza.ItemNotFound, "no such list")
		}
		if appliesElsewhere(a, c, ch.name) {
			return nil, stanza.NewError(stanza.Conflict, "the list applies to another resource")
		}
		delete(a.privacy, ch.name)
		if a.defaultList == ch.name {
			a.defaultList = ""
		}
		if c.activeList == ch.name {
			c.activeList = ""
		}
		// No push: a removal changes no rule that applies (RFC 3921
		// §10.2 rule 10 pushes modified lists), and neither server
		// pushes one.
		return nil, nil
	}
	{
		if a.privacy[ch.name] == nil && len(a.privacy) >= maxPrivacyLists {
			return nil, stanza.NewError(stanza.ResourceConstraint, "too many privacy lists")
		}
		items := ch.items
		sortItems(items)
		if a.privacy == nil {
			a.privacy = map[string]*privList{}
		}
		// §10.6: a list in use may be edited; what applies it sees
		// the new definition at once.
		a.privacy[ch.name] = &privList{name: ch.name, items: items}
	}
	// §10.6: a push naming the list to every connected resource (as
	// both servers do, the sender too, after its result).
	for _, rc := range sortedResources(a) {
		q, err := stanza.ParseRaw(append(appendNamed([]byte("<query xmlns='"+nsPrivacy+"'>"), "list", ch.name), "</query>"...))
		if err != nil {
			return nil, err
		}
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
	return stanza.ParseRaw(appendBlockItems(nil, "blocklist", a.blocked))
}

// appendBlockItems writes <local xmlns='urn:xmpp:blocking'> with an item
// for each of js.
func appendBlockItems(b []byte, local string, js []jid.JID) []byte {
	b = append(b, "<"+local+" xmlns='"+nsBlocking+"'"...)
	if len(js) == 0 {
		return append(b, "/>"...)
	}
	b = append(b, '>')
	for _, j := range js {
		b = append(b, "<item jid='"...)
		b = xmlenc.AppendEscaped(b, j.String())
		b = append(b, "'/>"...)
	}
	return append(b, "</"+local+">"...)
}

// readBlockItems reads the JIDs of the items of a block or unblock,
// each once, in the order given.
func readBlockItems(raw *stanza.Raw) ([]jid.JID, *stanza.Error) {
	tr := raw.TokenReader()
	var out []jid.JID
	depth := 0
	for {
		tok, err := tr.Token()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, badRequest("unreadable request")
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth != 2 {
				if depth > 2 {
					return nil, badRequest("unexpected element")
				}
				continue
			}
			if t.Name.Space != nsBlocking || t.Name.Local != "item" {
				return nil, badRequest("unexpected <" + t.Name.Local + "/>")
			}
			v, _ := xmlenc.Attr(t, "jid")
			j, err := jid.Parse(v)
			if err != nil {
				return nil, stanza.NewError(stanza.JIDMalformed, "an item's jid is not a JID")
			}
			if !slices.Contains(out, j) {
				if len(out) >= maxBlocked {
					return nil, stanza.NewError(stanza.ResourceConstraint, "too many items")
				}
				out = append(out, j)
			}
		case xml.EndElement:
			depth--
		}
	}
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
	block := raw.Name().Local == "block"
	items, serr := readBlockItems(raw)
	if serr != nil {
		return nil, serr
	}
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
		p, err := stanza.ParseRaw(appendBlockItems(nil, raw.Name().Local, items))
		if err != nil {
			return nil, err
		}
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

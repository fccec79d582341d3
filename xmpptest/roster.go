package xmpptest

import (
	"cmp"
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/stanza"
)

// The roster (RFC 6121 §2): each account has one, kept under s.mu. The
// rules a client's roster get and set meet here were compared, case by
// case, with Prosody 0.12 and ejabberd 23.01 (rostercases_test.go holds
// the cases and what each server answers); where the two disagree, or
// one of them breaks RFC 6121, the comment at the rule says what this
// server does and why.

var (
	// ErrUnknownAccount means the address given is not an account of the
	// server.
	ErrUnknownAccount = errors.New("xmpptest: no such account")
	// ErrNotInRoster means the roster has no item with the JID given.
	ErrNotInRoster = errors.New("xmpptest: no such roster item")
)

var rosterItemName = xml.Name{Space: ns.Roster, Local: "item"}

// rosterBook is one account's roster and what versioning needs of its
// history. Its version is the number of changes made to it so far.
type rosterBook struct {
	items map[jid.JID]rosterEntry
	// removed says when each item that is gone was removed, so that the
	// changes since a version (Config.RosterUpdatesAsPushes) include
	// removals. An item added again leaves it.
	removed map[jid.JID]uint64
	ver     uint64
}

// rosterEntry is an item and the version its last change made.
type rosterEntry struct {
	item roster.Item
	ver  uint64
}

// book returns a's roster, made on first use. s.mu is held.
func (a *account) book() *rosterBook {
	if a.roster == nil {
		a.roster = &rosterBook{items: map[jid.JID]rosterEntry{}, removed: map[jid.JID]uint64{}}
	}
	return a.roster
}

// put stores it (a clone) as a new change and returns the version made.
func (b *rosterBook) put(it roster.Item) uint64 {
	b.ver++
	b.items[it.JID] = rosterEntry{item: it.Clone(), ver: b.ver}
	delete(b.removed, it.JID)
	return b.ver
}

// remove removes the item j, which is present, as a new change.
func (b *rosterBook) remove(j jid.JID) uint64 {
	b.ver++
	delete(b.items, j)
	b.removed[j] = b.ver
	return b.ver
}

// list returns copies of the items, sorted by JID.
func (b *rosterBook) list() []roster.Item {
	out := make([]roster.Item, 0, len(b.items))
	for _, e := range b.items {
		out = append(out, e.item.Clone())
	}
	slices.SortFunc(out, func(x, y roster.Item) int { return cmp.Compare(x.JID.String(), y.JID.String()) })
	return out
}

// rosterChange is one change since a version: an item as it is now, or
// a removal (Subscription remove), with the version that made it.
type rosterChange struct {
	item roster.Item
	ver  uint64
}

// since returns the changes made after version n, oldest first: the
// latest state of each item changed since, so replaying them in order
// leaves a client at the current version whatever it had at n.
func (b *rosterBook) since(n uint64) []rosterChange {
	var out []rosterChange
	for _, e := range b.items {
		if e.ver > n {
			out = append(out, rosterChange{e.item.Clone(), e.ver})
		}
	}
	for j, v := range b.removed {
		if v > n {
			out = append(out, rosterChange{roster.Item{JID: j, Subscription: roster.SubscriptionRemove}, v})
		}
	}
	slices.SortFunc(out, func(x, y rosterChange) int { return cmp.Compare(x.ver, y.ver) })
	return out
}

// verString is the ver attribute of version n: the number and the
// server's epoch, so that a version saved from another server (or an
// earlier run) is never taken for one of this server's.
func (s *Server) verString(n uint64) string {
	if s.cfg.NoRosterVersioning {
		return ""
	}
	return strconv.FormatUint(n, 10) + "-" + s.rosterEpoch
}

// parseVer returns the version a ver attribute names, when it is one of
// this server's.
func (s *Server) parseVer(v string) (uint64, bool) {
	num, epoch, ok := strings.Cut(v, "-")
	if !ok || epoch != s.rosterEpoch {
		return 0, false
	}
	n, err := strconv.ParseUint(num, 10, 64)
	return n, err == nil
}

// query returns a roster payload with version n.
func (s *Server) query(n uint64, items ...roster.Item) *roster.Query {
	return &roster.Query{Ver: s.verString(n), Versioned: !s.cfg.NoRosterVersioning, Items: items}
}

// registerRoster registers the roster get and set of every account, and
// the roster versioning stream feature (RFC 6121 §2.6.1).
func (s *Server) registerRoster() {
	q := xml.Name{Space: ns.Roster, Local: "query"}
	s.handleIQ(stanza.IQGet, q, scopeAccount, s.rosterGet)
	s.handleIQ(stanza.IQSet, q, scopeAccount, s.rosterSet)
	s.addFeature(scopeServer, ns.Roster) // as Prosody does
	if !s.cfg.NoRosterVersioning {
		s.streamFeatures = append(s.streamFeatures, "<ver xmlns='"+ns.RosterVer+"'/>")
	}
}

// ownRoster refuses a roster request addressed to another account's bare
// JID: forbidden, the RFC 6121 §2.3.3 error for a set from an entity not
// allowed to change the roster, for a get too (ejabberd answers both so;
// Prosody answers service-unavailable).
func ownRoster(c *conn, to jid.JID) error {
	if to != c.addr.Bare() {
		return stanza.NewError(stanza.Forbidden, "only the account itself may read or change its roster")
	}
	return nil
}

// rosterGet answers a roster get (RFC 6121 §2.2) and makes the resource
// interested: it receives the pushes from then on. With versioning (§2.6)
// the client's current version gets an empty result; a stale one the
// whole roster, as Prosody and ejabberd answer, or with
// Config.RosterUpdatesAsPushes an empty result followed by a push for
// each change since; any other version the whole roster. The result
// carries ver also when the get did not (as Prosody; ejabberd leaves it
// out then).
func (s *Server) rosterGet(c *conn, iq *stanza.IQ, to jid.JID) (stanza.Payload, error) {
	if err := ownRoster(c, to); err != nil {
		return nil, err
	}
	raw, _ := iq.Raw()
	q, err := roster.ParseQuery(raw)
	if err != nil {
		return nil, stanza.NewError(stanza.BadRequest, err.Error())
	}
	if len(q.Items) > 0 {
		// RFC 6121 §2.1.3; ejabberd answers so, Prosody ignores the items.
		return nil, stanza.NewError(stanza.BadRequest, "a roster get carries no items (RFC 6121 §2.1.3)")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[c.addr.Localpart()]
	if a == nil {
		return nil, stanza.NewError(stanza.ItemNotFound, "the account is gone")
	}
	b := a.book()
	c.rosterInterested = true
	// Pushes of later changes wait behind this result, which they
	// update: a client never sees a push older than its roster.
	c.holdQueue()
	n, known := s.parseVer(q.Ver)
	switch {
	case s.cfg.NoRosterVersioning || !known || n > b.ver:
	case n == b.ver:
		return nil, nil
	case s.cfg.RosterUpdatesAsPushes:
		for _, ch := range b.since(n) {
			c.enqueue(s.push(c, ch.item, ch.ver), false)
		}
		return nil, nil
	}
	return s.query(b.ver, b.list()...), nil
}

// rosterSet adds, updates or removes one item (RFC 6121 §2.3–§2.5) and
// pushes the change to every interested resource of the account.
func (s *Server) rosterSet(c *conn, iq *stanza.IQ, to jid.JID) (stanza.Payload, error) {
	if err := ownRoster(c, to); err != nil {
		return nil, err
	}
	raw, _ := iq.Raw()
	it, remove, serr := readRosterSet(raw, to)
	if serr != nil {
		return nil, serr
	}
	s.mu.Lock()
	a := s.accounts[c.addr.Localpart()]
	if a == nil {
		s.mu.Unlock()
		return nil, stanza.NewError(stanza.ItemNotFound, "the account is gone")
	}
	b := a.book()
	old, exists := b.items[it.JID]
	var n uint64
	switch {
	case remove && !exists:
		// RFC 6121 §2.5.3. Prosody answers so (with type modify);
		// ejabberd answers a result and pushes the removal.
		s.mu.Unlock()
		return nil, stanza.NewError(stanza.ItemNotFound, "no such item in the roster")
	case remove:
		n = b.remove(it.JID)
		it = roster.Item{JID: it.JID, Subscription: roster.SubscriptionRemove}
	default:
		// The set replaces the item's name and groups (§2.4); the
		// subscription state is the server's and stays.
		it.Subscription, it.Ask, it.Approved = old.item.Subscription, old.item.Ask, old.item.Approved
		n = b.put(it)
	}
	o := &outbox{s: s, sender: c}
	o.add(s.queueRosterPush(a, it, n, c)...)
	if remove {
		s.itemRemoved(o, a, c.addr.Bare(), old.item)
	}
	s.mu.Unlock()
	o.flush()
	return nil, nil
}

// readRosterSet reads the item of a roster set and checks it, returning
// the item (JID, name and groups) and whether it asks for a removal, or
// the error to answer. The checks follow RFC 6121 §2.3.3 where Prosody
// and ejabberd disagree; see rostercases_test.go for both servers'
// answers.
func readRosterSet(raw *stanza.Raw, owner jid.JID) (roster.Item, bool, *stanza.Error) {
	q, err := roster.ParseQuery(raw)
	if err != nil {
		// No jid, an invalid jid, a value outside RFC 6121's schema
		// (Appendix D) for subscription, ask or approved: bad-request,
		// as ejabberd answers. Prosody ignores an unknown subscription.
		return roster.Item{}, false, stanza.NewError(stanza.BadRequest, err.Error())
	}
	bad := func(cond stanza.Condition, text string) (roster.Item, bool, *stanza.Error) {
		return roster.Item{}, false, stanza.NewError(cond, text)
	}
	if len(q.Items) != 1 {
		// Both servers refuse two items with bad-request; for none,
		// ejabberd answers service-unavailable.
		return bad(stanza.BadRequest, "a roster set carries exactly one item (RFC 6121 §2.1.5)")
	}
	it := q.Items[0]
	switch {
	case it.JID.Resourcepart() != "":
		// The RFC does not say; Prosody refuses, ejabberd keeps the full
		// JID. Refused, so that a client that passes here works on both.
		return bad(stanza.BadRequest, "a roster item is a bare JID")
	case it.JID == owner:
		// The RFC does not say; Prosody refuses, ejabberd accepts.
		return bad(stanza.NotAllowed, "the account cannot be in its own roster")
	case itemHasAttr(raw, "ask"):
		// A client MUST NOT send ask (RFC 6121 §2.1.2.2): ejabberd
		// refuses it, Prosody ignores it.
		return bad(stanza.BadRequest, "ask is the server's to set (RFC 6121 §2.1.2.2)")
	}
	for i, g := range it.Groups {
		switch {
		case g == "":
			// RFC 6121 §2.3.3. ejabberd answers bad-request; Prosody
			// stores a group named "".
			return bad(stanza.NotAcceptable, "a group name is not empty (RFC 6121 §2.3.3)")
		case slices.Contains(it.Groups[:i], g):
			// RFC 6121 §2.3.3, as ejabberd; Prosody keeps one of them.
			return bad(stanza.BadRequest, "a group is named twice (RFC 6121 §2.3.3)")
		}
	}
	// Subscription values other than remove are ignored (RFC 6121
	// §2.1.2.5), approved too (§2.1.2.1): both servers do.
	remove := it.Subscription == roster.SubscriptionRemove
	return roster.Item{JID: it.JID, Name: it.Name, Groups: it.Groups}, remove, nil
}

// itemHasAttr reports whether an <item/> of the query raw carries the
// attribute local, whatever its value.
func itemHasAttr(raw *stanza.Raw, local string) bool {
	tr := raw.TokenReader()
	for {
		tok, err := tr.Token()
		if err != nil {
			return false
		}
		if start, ok := tok.(xml.StartElement); ok && start.Name == rosterItemName {
			for _, a := range start.Attr {
				if a.Name.Space == "" && a.Name.Local == local {
					return true
				}
			}
		}
	}
}

// push returns the roster push of it, at version n, to the resource rc.
func (s *Server) push(rc *conn, it roster.Item, n uint64) *stanza.IQ {
	return &stanza.IQ{Header: stanza.Header{ID: newID(), To: rc.addr}, Type: stanza.IQSet, Payload: s.query(n, it)}
}

// queueRosterPush queues the push of it, at version n, for every
// interested resource of a and returns them, except sender (whose
// goroutine writes its own pushes after its reply). s.mu is held, so
// pushes are queued in the order of their versions.
func (s *Server) queueRosterPush(a *account, it roster.Item, n uint64, sender *conn) []*conn {
	var targets []*conn
	for _, rc := range a.resources {
		if !rc.rosterInterested {
			continue
		}
		rc.enqueue(s.push(rc, it, n), rc == sender)
		if rc != sender {
			targets = append(targets, rc)
		}
	}
	return targets
}

// writeQueues writes what is queued for each of conns.
func writeQueues(conns []*conn) {
	for _, rc := range conns {
		rc.writeQueue(false)
	}
}

// accountOf returns the account of addr. s.mu is held.
func (s *Server) accountOf(addr jid.JID) (*account, error) {
	if a := s.accounts[addr.Localpart()]; a != nil && s.isLocal(addr) {
		return a, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrUnknownAccount, addr.Bare())
}

// SetRosterItem adds it to the roster of account (a JID as AddUser
// returns it), or replaces the item with the same JID, and pushes it to
// the account's interested resources, as a client's roster set would. It
// also sets what a client cannot: Subscription, Ask and Approved, so that
// a test starts from the roster it needs ("alice has bob as a contact with
// subscription both"). None of a client's rules apply beyond a JID and a
// Subscription other than SubscriptionRemove (RemoveRosterItem removes):
// a test may seed what a real server could hold, such as Prosody's empty
// group name.
func (s *Server) SetRosterItem(account jid.JID, it roster.Item) error {
	if it.JID.IsZero() {
		return errors.New("xmpptest: a roster item needs a JID")
	}
	if it.Subscription > roster.SubscriptionBoth {
		return fmt.Errorf("xmpptest: roster item %s: subscription %v cannot be stored (RemoveRosterItem removes)", it.JID, it.Subscription)
	}
	s.mu.Lock()
	a, err := s.accountOf(account)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	n := a.book().put(it)
	targets := s.queueRosterPush(a, it.Clone(), n, nil)
	s.mu.Unlock()
	writeQueues(targets)
	return nil
}

// RemoveRosterItem removes the item contact from the roster of account
// and pushes the removal to the account's interested resources, and
// ends the subscriptions both ways as a client's removal does (RFC 6121
// §2.5.2: unsubscribe and unsubscribed to the contact). It
// returns an error wrapping ErrNotInRoster when the roster has no such
// item.
func (s *Server) RemoveRosterItem(account, contact jid.JID) error {
	s.mu.Lock()
	a, err := s.accountOf(account)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	b := a.book()
	if _, ok := b.items[contact]; !ok {
		s.mu.Unlock()
		return fmt.Errorf("%w: %s in the roster of %s", ErrNotInRoster, contact, account.Bare())
	}
	old := b.items[contact].item
	n := b.remove(contact)
	o := &outbox{s: s}
	o.add(s.queueRosterPush(a, roster.Item{JID: contact, Subscription: roster.SubscriptionRemove}, n, nil)...)
	s.itemRemoved(o, a, account.Bare(), old)
	s.mu.Unlock()
	o.flush()
	return nil
}

// Roster returns a copy of the roster of account: its items, sorted by
// JID, and its version (Ver is empty with NoRosterVersioning).
func (s *Server) Roster(account jid.JID) (*roster.Query, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.accountOf(account)
	if err != nil {
		return nil, err
	}
	b := a.book()
	return s.query(b.ver, b.list()...), nil
}

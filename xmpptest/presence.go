package xmpptest

import (
	"cmp"
	"slices"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/stanza"
)

// Presence and subscriptions (RFC 6121 §3–4). Every account keeps its
// subscription states in its roster (Subscription, Ask, Approved) and
// the subscription requests it has not answered in pendingIn; every
// resource its availability, its last available presence and the
// entities it sent directed presence to. All of it is under s.mu.
//
// The rules were compared with Prosody 0.12 and ejabberd 23.01 step by
// step (presencecases_test.go holds the steps and what each server
// does). Where the two agree, xmpptest does what they do; where they
// differ, what RFC 6121 says, and the comment at the rule says what
// each server does.
//
// What the rules send goes through the recipients' queues (enqueue), the
// roster pushes' too, so that each resource receives a change's roster
// push and presence in the order the rules made them.

// maxPendingIn bounds the subscription requests an account keeps
// unanswered: a request beyond it, from a JID not already pending, is
// dropped, so a test that floods an account cannot grow the server
// without bound.
const maxPendingIn = 1000

// pendingRequest is a subscription request not yet answered (the
// contact is in the state "Pending In" of RFC 6121 Appendix A): the
// stanza to redeliver (§3.1.3) and when it arrived, to redeliver in
// order.
type pendingRequest struct {
	p   *stanza.Presence
	seq uint64
}

// outbox collects, while s.mu is held, the connections the rules queued
// stanzas for, to write them once it is released. sender is the
// connection whose stanza is being handled (nil for a stream that ended
// or the Go API): what is queued for it waits behind its own replies,
// written by its own goroutine.
type outbox struct {
	s      *Server
	sender *conn
	conns  []*conn
}

// send queues st for rc and reports whether it did: a presence that
// the sender's or rc's privacy lists or blocklist refuse is dropped
// (privacy.go).
func (o *outbox) send(rc *conn, st stanza.Stanza) bool {
	if p, ok := st.(*stanza.Presence); ok && !o.s.presenceAllowed(rc, p) {
		return false
	}
	rc.enqueue(st, rc == o.sender)
	o.add(rc)
	return true
}

func (o *outbox) add(conns ...*conn) {
	for _, rc := range conns {
		if rc != o.sender && !slices.Contains(o.conns, rc) {
			o.conns = append(o.conns, rc)
		}
	}
}

// flush writes what was queued; s.mu is not held.
func (o *outbox) flush() { writeQueues(o.conns) }

// setItem stores it in a's roster and queues its push to a's interested
// resources.
func (o *outbox) setItem(a *account, it roster.Item) {
	n := a.book().put(it)
	o.add(o.s.queueRosterPush(a, it, n, o.sender)...)
}

// registerPresence plugs the presence rules into routing and the end of
// a stream, and offers pre-approval (RFC 6121 §3.4) unless
// Config.NoPreApproval.
func (s *Server) registerPresence() {
	s.presenceHooks = append(s.presenceHooks, s.presenceRules)
	s.endHooks = append(s.endHooks, s.resourceGone)
	if !s.cfg.NoPreApproval {
		s.streamFeatures = append(s.streamFeatures, "<sub xmlns='"+ns.PreApproval+"'/>")
	}
}

// with returns a copy of p from from to to. The copy shares p's
// extensions, which nobody modifies.
func with(p *stanza.Presence, from, to jid.JID) *stanza.Presence {
	q := *p
	q.From, q.To = from, to
	return &q
}

// presenceRules is the presence hook: it handles every presence a
// client sends.
func (s *Server) presenceRules(c *conn, p *stanza.Presence) (bool, []jid.JID) {
	switch p.Type {
	case stanza.PresenceSubscribe, stanza.PresenceSubscribed, stanza.PresenceUnsubscribe, stanza.PresenceUnsubscribed:
		return true, s.subscription(c, p)
	case stanza.PresenceProbe:
		return true, s.clientProbe(c, p)
	}
	if p.To.IsZero() {
		if p.Type == stanza.PresenceError {
			// An error for nobody: nothing to route, and an error is
			// never answered (RFC 6120 §8.3.1).
			return true, nil
		}
		return true, s.broadcast(c, p)
	}
	return true, s.directed(c, p)
}

// hasTo reports whether the roster item gives the account the
// contact's presence (subscription to or both).
func hasTo(it roster.Item) bool {
	return it.Subscription == roster.SubscriptionTo || it.Subscription == roster.SubscriptionBoth
}

// hasFrom reports whether the roster item gives the contact the
// account's presence (subscription from or both).
func hasFrom(it roster.Item) bool {
	return it.Subscription == roster.SubscriptionFrom || it.Subscription == roster.SubscriptionBoth
}

// availableSorted returns a's available resources, in the order they
// became available. s.mu is held.
func availableSorted(a *account) []*conn {
	out := available(a, -128)
	slices.SortFunc(out, func(x, y *conn) int { return cmp.Compare(x.availSeq, y.availSeq) })
	return out
}

// interested returns a's resources that have requested the roster, in
// the order they became available. s.mu is held.
func interested(a *account) []*conn {
	var out []*conn
	for _, rc := range a.resources {
		if rc.rosterInterested {
			out = append(out, rc)
		}
	}
	slices.SortFunc(out, func(x, y *conn) int { return cmp.Compare(x.availSeq, y.availSeq) })
	return out
}

// sendPresenceOf queues, for each of to, the current presence of each
// available resource of a (unavailable when gone is set). s.mu is held.
func (o *outbox) sendPresenceOf(a *account, gone bool, to ...*conn) {
	for _, rc := range availableSorted(a) {
		for _, dst := range to {
			var p *stanza.Presence
			if gone {
				p = &stanza.Presence{Header: stanza.Header{From: rc.addr, To: dst.addr}, Type: stanza.PresenceUnavailable}
			} else {
				p = with(rc.presence, rc.addr, dst.addr)
			}
			o.send(dst, p)
		}
	}
}

// broadcast handles presence without 'to': the resource's availability
// (RFC 6121 §4.2, §4.4, §4.5).
func (s *Server) broadcast(c *conn, p *stanza.Presence) []jid.JID {
	o := &outbox{s: s, sender: c}
	s.mu.Lock()
	a := s.accounts[c.addr.Localpart()]
	if a == nil || !c.bound {
		s.mu.Unlock()
		return nil
	}
	initial := p.Type == stanza.PresenceAvailable && !c.available
	wasAvailable := c.available
	// Stored messages go to a resource that becomes available with
	// priority ≥ 0, or raises its priority from negative (offline.go).
	takesOffline := p.Type == stanza.PresenceAvailable && p.Priority >= 0 && (!wasAvailable || c.priority < 0)
	if p.Type == stanza.PresenceAvailable {
		if initial {
			s.seq++
			c.availSeq = s.seq
		}
		c.available, c.priority, c.presence = true, p.Priority, p
	} else {
		c.available, c.presence = false, nil
	}
	var delivered []jid.JID
	if p.Type == stanza.PresenceAvailable || wasAvailable {
		delivered = s.sendBroadcast(o, a, c, p, true)
	}
	if initial {
		s.initialPresence(o, a, c)
	}
	if takesOffline {
		o.deliverOffline(a, c)
	}
	if p.Type == stanza.PresenceUnavailable {
		delivered = append(delivered, s.closeDirected(o, c, p)...)
	}
	s.mu.Unlock()
	o.flush()
	return delivered
}

// sendBroadcast queues p, from c, for c itself when echo is set (both
// servers echo a resource's presence to it), for the account's other
// available resources and for the available resources of every contact
// with a subscription from or both. It returns the full JIDs p went to.
// s.mu is held.
func (s *Server) sendBroadcast(o *outbox, a *account, c *conn, p *stanza.Presence, echo bool) []jid.JID {
	var delivered []jid.JID
	send := func(rc *conn) {
		if o.send(rc, with(p, c.addr, rc.addr)) {
			delivered = append(delivered, rc.addr)
		}
	}
	if echo {
		send(c)
	}
	for _, rc := range availableSorted(a) {
		if rc != c {
			send(rc)
		}
	}
	for _, it := range a.book().list() {
		if !hasFrom(it) {
			continue
		}
		if k := s.accounts[it.JID.Localpart()]; k != nil && s.isLocal(it.JID) {
			for _, rc := range availableSorted(k) {
				send(rc)
			}
		}
		// Directed presence to a contact who now receives the
		// broadcast is no longer tracked apart.
		for j := range c.directed {
			if j.Bare() == it.JID {
				delete(c.directed, j)
			}
		}
	}
	return delivered
}

// initialPresence does what a resource's first available presence
// triggers (RFC 6121 §4.2.2): the current presence of every contact it
// is subscribed to (the server answers its probes itself), of the
// account's other available resources, and the subscription requests
// still unanswered (§3.1.3). s.mu is held.
func (s *Server) initialPresence(o *outbox, a *account, c *conn) {
	for _, it := range a.book().list() {
		if !hasTo(it) {
			continue
		}
		k := s.accounts[it.JID.Localpart()]
		if k == nil || !s.isLocal(it.JID) {
			continue
		}
		if len(availableSorted(k)) == 0 {
			// RFC 6121 §4.3.2 lets the contact's server answer a probe
			// with the last unavailable presence or not at all; Prosody
			// sends unavailable from the bare JID, ejabberd nothing.
			// xmpptest sends nothing: an offline contact simply is not
			// online.
			continue
		}
		o.sendPresenceOf(k, false, c)
	}
	for _, rc := range availableSorted(a) {
		if rc != c {
			o.send(c, with(rc.presence, rc.addr, c.addr))
		}
	}
	reqs := make([]pendingRequest, 0, len(a.pendingIn))
	for _, r := range a.pendingIn {
		reqs = append(reqs, r)
	}
	slices.SortFunc(reqs, func(x, y pendingRequest) int { return cmp.Compare(x.seq, y.seq) })
	for _, r := range reqs {
		o.send(c, with(r.p, r.p.From, c.addr))
	}
}

// closeDirected sends p (unavailable) from c to every entity c sent
// directed presence to and forgets them (RFC 6121 §4.6.3). s.mu is held.
func (s *Server) closeDirected(o *outbox, c *conn, p *stanza.Presence) []jid.JID {
	var delivered []jid.JID
	targets := slices.SortedFunc(func(yield func(jid.JID) bool) {
		for j := range c.directed {
			if !yield(j) {
				return
			}
		}
	}, func(x, y jid.JID) int { return cmp.Compare(x.String(), y.String()) })
	c.directed = nil
	for _, to := range targets {
		for _, rc := range s.presenceTargets(to) {
			if o.send(rc, with(p, c.addr, rc.addr)) {
				delivered = append(delivered, rc.addr)
			}
		}
	}
	return delivered
}

// presenceTargets returns the resources a presence to 'to' reaches: the
// resource of a full JID when it is bound, the available resources of
// a bare one. s.mu is held.
func (s *Server) presenceTargets(to jid.JID) []*conn {
	a := s.accounts[to.Localpart()]
	if a == nil || !s.isLocal(to) || to.Localpart() == "" {
		return nil
	}
	if to.Resourcepart() != "" {
		if rc := a.resources[to.Resourcepart()]; rc != nil {
			return []*conn{rc}
		}
		return nil
	}
	return availableSorted(a)
}

// directed delivers a presence with a 'to' (available, unavailable or
// error) and tracks directed presence (RFC 6121 §4.6): available
// presence to an entity that is not a contact with a subscription from
// or both is remembered, and unavailable presence goes to it when the
// resource goes unavailable or its stream ends. As both servers do, an
// unavailable or error presence sent to it ends the tracking.
func (s *Server) directed(c *conn, p *stanza.Presence) []jid.JID {
	o := &outbox{s: s, sender: c}
	s.mu.Lock()
	if a := s.accounts[c.addr.Localpart()]; a != nil && s.isLocal(p.To) && p.To.Localpart() != "" && p.Type != stanza.PresenceError {
		it, ok := a.book().items[p.To.Bare()]
		if !ok || !hasFrom(it.item) {
			if p.Type == stanza.PresenceAvailable {
				if c.directed == nil {
					c.directed = map[jid.JID]struct{}{}
				}
				c.directed[p.To] = struct{}{}
			} else {
				delete(c.directed, p.To)
			}
		}
	}
	var delivered []jid.JID
	for _, rc := range s.presenceTargets(p.To) {
		if o.send(rc, with(p, c.addr, rc.addr)) {
			delivered = append(delivered, rc.addr)
		}
	}
	s.mu.Unlock()
	o.flush()
	return delivered
}

// clientProbe answers a probe a client sends (RFC 6121 §4.3: clients
// should leave probing to the server, but servers answer): the contact's
// server answers on the contact's behalf with the current presence of
// its available resources, or (as Prosody) unavailable from its bare JID
// when it has none, if the prober has a subscription to the contact.
// Anyone else gets nothing, as on both servers (Prosody's unsubscribed
// answer is dropped by the prober's own server, as a cancellation of
// nothing).
func (s *Server) clientProbe(c *conn, p *stanza.Presence) []jid.JID {
	to := p.To.Bare()
	if p.To.IsZero() || !s.isLocal(to) || to.Localpart() == "" || to == c.addr.Bare() {
		return nil
	}
	o := &outbox{s: s, sender: c}
	s.mu.Lock()
	k := s.accounts[to.Localpart()]
	if k != nil {
		it, ok := k.book().items[c.addr.Bare()]
		switch {
		case !ok || !hasFrom(it.item):
		case len(availableSorted(k)) == 0:
			o.send(c, &stanza.Presence{Header: stanza.Header{From: to, To: c.addr}, Type: stanza.PresenceUnavailable})
		default:
			o.sendPresenceOf(k, false, c)
		}
	}
	s.mu.Unlock()
	o.flush()
	return nil
}

// resourceGone is the end hook of a bound resource: a resource whose
// stream ends while available is unavailable to everyone who had its
// presence, and its directed presence is closed (RFC 6121 §4.5.3). Also
// called when a new bind replaces the resource.
func (s *Server) resourceGone(c *conn) {
	o := &outbox{s: s}
	s.mu.Lock()
	a := s.accounts[c.addr.Localpart()]
	wasAvailable := c.available
	c.available, c.presence = false, nil
	p := &stanza.Presence{Header: stanza.Header{From: c.addr}, Type: stanza.PresenceUnavailable}
	if a != nil && wasAvailable {
		s.sendBroadcast(o, a, c, p, false)
	}
	s.closeDirected(o, c, p)
	s.mu.Unlock()
	o.flush()
}

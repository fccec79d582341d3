package xmpptest

import (
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/stanza"
)

// The subscription state machine of RFC 6121 §3 and Appendix A: a user's
// server processes the subscription stanza its client sends (outbound,
// A.2), then the contact's server processes it on arrival (inbound, A.3).
// Both are this server. The states are the user's roster item for the
// contact (Subscription and Ask; Approved for a pre-approval) and the
// contact's requests still unanswered (account.pendingIn).

// subscription handles a subscribe, subscribed, unsubscribe or
// unsubscribed presence from c: it is addressed to the contact's bare JID
// and stamped with the user's bare JID (§3.1.2). It returns the full JIDs
// the stanza itself was delivered to.
func (s *Server) subscription(c *conn, p *stanza.Presence) []jid.JID {
	user, contact := c.addr.Bare(), p.To.Bare()
	switch {
	case p.To.IsZero():
		// As Prosody: a subscription stanza to nobody is a bad request.
		c.bounce(p, stanza.NewError(stanza.BadRequest, "a subscription stanza needs a 'to'"))
		return nil
	case contact == user || contact.Localpart() == "":
		// No subscription to oneself (Prosody drops it) or to a server
		// (dropped too; Prosody answers a subscribe to its domain with
		// subscribed and available presence from it, which xmpptest
		// does not model).
		return nil
	}
	out := with(p, user, contact)
	o := &outbox{s: s, sender: c}
	s.mu.Lock()
	a := s.accounts[user.Localpart()]
	if a == nil {
		s.mu.Unlock()
		return nil
	}
	approving := out.Type == stanza.PresenceSubscribed && hasPending(a, contact)
	route := s.outbound(o, a, out)
	var delivered []jid.JID
	k := s.accounts[contact.Localpart()]
	// The contact's lists are the first rule its server applies (RFC
	// 3921 §10.2 rule 4): a subscription stanza they refuse changes
	// nothing there and is dropped without a word. Only its default list
	// and blocklist apply: the stanza is for the account as a whole.
	if route && k != nil && s.isLocal(contact) && s.refuses(k, contact, nil, user, flowOtherIn) == allowed {
		delivered = s.inbound(o, k, out)
		if approving {
			// §3.1.5: the contact now has the user's presence.
			o.sendPresenceOf(a, false, availableSorted(k)...)
		}
	}
	s.mu.Unlock()
	if route && !s.isLocal(contact) {
		c.bounceCond(p, stanza.RemoteServerNotFound) // no federation
	}
	o.flush()
	return delivered
}

// outbound is the user's server's part (RFC 6121 A.2.1): it updates the
// user's roster and reports whether the stanza goes on to the contact.
// s.mu is held.
func (s *Server) outbound(o *outbox, a *account, p *stanza.Presence) bool {
	b := a.book()
	e, exists := b.items[p.To]
	it := e.item
	if !exists {
		it = roster.Item{JID: p.To}
	}
	switch p.Type {
	case stanza.PresenceSubscribe:
		// §3.1.2: the item is pushed with ask whenever the user has no
		// subscription to the contact yet, also when the request is
		// sent again (as Prosody; ejabberd pushes again only in None +
		// Pending Out). With a subscription already there is nothing to
		// push (as ejabberd; Prosody pushes the item unchanged), and the
		// contact's server answers subscribed, which changes nothing.
		if !hasTo(it) {
			it.Ask = true
			o.setItem(a, it)
		}
		return true

	case stanza.PresenceSubscribed:
		if _, ok := a.pendingIn[p.To]; ok && !hasFrom(it) {
			// §3.1.5: the user approves the contact's request; the
			// contact then gets the user's current presence (after the
			// approval: see subscription).
			delete(a.pendingIn, p.To)
			it.Subscription = withFrom(it.Subscription)
			it.Approved = false
			o.setItem(a, it)
			return true
		}
		if hasFrom(it) || it.Approved || s.cfg.NoPreApproval {
			// Already approved: nothing to do (A.2.1).
			return false
		}
		// §3.4: a pre-approval, kept in the roster item (approved) and
		// not routed. Prosody keeps it but leaves approved out of the
		// roster; ejabberd ignores the stanza (it does not offer
		// pre-approval). xmpptest follows the RFC.
		it.Approved = true
		o.setItem(a, it)
		return false

	case stanza.PresenceUnsubscribe:
		// §3.3.2: the user cancels its subscription (or its request).
		if !hasTo(it) && !it.Ask {
			return false
		}
		it.Subscription, it.Ask = withoutTo(it.Subscription), false
		o.setItem(a, it)
		return true

	case stanza.PresenceUnsubscribed:
		// §3.2.2: the user cancels the contact's subscription, or
		// denies its request.
		_, pending := a.pendingIn[p.To]
		delete(a.pendingIn, p.To)
		switch {
		case hasFrom(it):
			it.Subscription, it.Approved = withoutFrom(it.Subscription), false
			o.setItem(a, it)
			// The contact no longer receives the user's presence: it
			// gets unavailable from every available resource, before
			// the cancellation (as ejabberd; Prosody sends it after).
			if k := s.accounts[p.To.Localpart()]; k != nil && s.isLocal(p.To) {
				o.sendPresenceOf(a, true, availableSorted(k)...)
			}
			return true
		case it.Approved:
			// Cancels a pre-approval (§3.4).
			it.Approved = false
			o.setItem(a, it)
			return pending
		}
		return pending
	}
	return false
}

// inbound is the contact's server's part (RFC 6121 A.3): k is the
// contact's account, p the stanza from the user's bare JID. It returns
// the full JIDs p was delivered to. s.mu is held.
func (s *Server) inbound(o *outbox, k *account, p *stanza.Presence) []jid.JID {
	b := k.book()
	user := p.From
	e, exists := b.items[user]
	it := e.item
	if !exists {
		it = roster.Item{JID: user}
	}
	deliver := func(to []*conn) []jid.JID {
		var delivered []jid.JID
		for _, rc := range to {
			if o.send(rc, with(p, user, rc.addr)) {
				delivered = append(delivered, rc.addr)
			}
		}
		return delivered
	}
	switch p.Type {
	case stanza.PresenceSubscribe:
		if hasFrom(it) {
			// §3.1.3: already subscribed: the contact's server
			// answers subscribed itself, which the user's server
			// ignores (§3.1.6). Prosody also sends the contact's
			// presence again; ejabberd does not, nor does the RFC.
			if ua := s.accounts[user.Localpart()]; ua != nil {
				s.inbound(o, ua, &stanza.Presence{Header: stanza.Header{From: p.To, To: user}, Type: stanza.PresenceSubscribed})
			}
			return nil
		}
		if it.Approved && !s.cfg.NoPreApproval {
			// §3.4: pre-approved: approved at once, as if the contact
			// had answered subscribed (§3.1.5).
			it.Subscription, it.Approved = withFrom(it.Subscription), false
			o.setItem(k, it)
			if ua := s.accounts[user.Localpart()]; ua != nil {
				s.inbound(o, ua, &stanza.Presence{Header: stanza.Header{From: p.To, To: user}, Type: stanza.PresenceSubscribed})
				o.sendPresenceOf(k, false, availableSorted(ua)...)
			}
			return nil
		}
		if _, ok := k.pendingIn[user]; ok {
			// Pending already: not delivered again.
			return nil
		}
		if len(k.pendingIn) >= maxPendingIn {
			return nil
		}
		if k.pendingIn == nil {
			k.pendingIn = map[jid.JID]pendingRequest{}
		}
		s.seq++
		stored := with(p, user, jid.JID{})
		k.pendingIn[user] = pendingRequest{p: stored, seq: s.seq}
		// §3.1.3: to every available resource now; the others get it
		// with their initial presence.
		return deliver(availableSorted(k))

	case stanza.PresenceSubscribed:
		if !it.Ask {
			return nil // §3.1.6: not requested; ignored
		}
		it.Subscription, it.Ask = withTo(it.Subscription), false
		delivered := deliver(interested(k))
		o.setItem(k, it)
		return delivered

	case stanza.PresenceUnsubscribe:
		_, pending := k.pendingIn[user]
		delete(k.pendingIn, user)
		if !hasFrom(it) {
			if !pending {
				return nil
			}
			// The user withdraws its request. The RFC does not say
			// what the contact sees; both servers push the contact's
			// item for the user unchanged (when there is one), Prosody
			// also delivers the unsubscribe, ejabberd does not.
			// xmpptest does both, so the contact's client can drop the
			// request.
			delivered := deliver(interested(k))
			if exists {
				o.setItem(k, it)
			}
			return delivered
		}
		it.Subscription, it.Approved = withoutFrom(it.Subscription), false
		delivered := deliver(interested(k))
		o.setItem(k, it)
		// §3.3.3: the user no longer receives the contact's presence.
		if ua := s.accounts[user.Localpart()]; ua != nil {
			o.sendPresenceOf(k, true, availableSorted(ua)...)
		}
		return delivered

	case stanza.PresenceUnsubscribed:
		if !hasTo(it) && !it.Ask {
			return nil
		}
		it.Subscription, it.Ask = withoutTo(it.Subscription), false
		delivered := deliver(interested(k))
		o.setItem(k, it)
		return delivered
	}
	return nil
}

// itemRemoved ends the subscriptions of a roster item the user removed
// (RFC 6121 §2.5.2): the user's server sends the contact unsubscribed
// when the contact had a subscription to the user or a request pending
// (after the user's unavailable presence), and unsubscribe when the user
// had a subscription to the contact or a request pending; the contact's
// server processes them as usual. s.mu is held.
func (s *Server) itemRemoved(o *outbox, a *account, user jid.JID, old roster.Item) {
	contact := old.JID
	pending := hasPending(a, contact)
	delete(a.pendingIn, contact)
	k := s.accounts[contact.Localpart()]
	if k == nil || !s.isLocal(contact) {
		return
	}
	if hasFrom(old) || pending {
		if hasFrom(old) {
			o.sendPresenceOf(a, true, availableSorted(k)...)
		}
		s.inbound(o, k, &stanza.Presence{Header: stanza.Header{From: user, To: contact}, Type: stanza.PresenceUnsubscribed})
	}
	if hasTo(old) || old.Ask {
		s.inbound(o, k, &stanza.Presence{Header: stanza.Header{From: user, To: contact}, Type: stanza.PresenceUnsubscribe})
	}
}

// hasPending reports whether a holds a request from contact. s.mu is
// held.
func hasPending(a *account, contact jid.JID) bool {
	_, ok := a.pendingIn[contact]
	return ok
}

func withFrom(sub roster.Subscription) roster.Subscription {
	if sub == roster.SubscriptionTo || sub == roster.SubscriptionBoth {
		return roster.SubscriptionBoth
	}
	return roster.SubscriptionFrom
}

func withTo(sub roster.Subscription) roster.Subscription {
	if sub == roster.SubscriptionFrom || sub == roster.SubscriptionBoth {
		return roster.SubscriptionBoth
	}
	return roster.SubscriptionTo
}

func withoutFrom(sub roster.Subscription) roster.Subscription {
	if sub == roster.SubscriptionBoth || sub == roster.SubscriptionTo {
		return roster.SubscriptionTo
	}
	return roster.SubscriptionNone
}

func withoutTo(sub roster.Subscription) roster.Subscription {
	if sub == roster.SubscriptionBoth || sub == roster.SubscriptionFrom {
		return roster.SubscriptionFrom
	}
	return roster.SubscriptionNone
}

package xmpptest

import (
	"cmp"
	"slices"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

// Routed is one stanza a client sent, as the server routed it: its From
// is the sender's full JID, whatever the client wrote. Delivered lists the
// full JIDs it was written to; it is empty when the server answered the
// stanza itself, bounced it with an error, dropped it or stored it
// offline (a stored message is not reported again when it is delivered).
type Routed struct {
	Stanza    stanza.Stanza
	Delivered []jid.JID
}

// messageHook and presenceHook are where later RFC 6121 rules (roster,
// presence broadcast, privacy lists) plug in: each sees a stanza after its
// from has been stamped and before the default routing, and returns true
// when it has dealt with the stanza (then routing stops). delivered is
// what a hook reports to Watch.
type (
	messageHook  func(c *conn, m *stanza.Message) (handled bool, delivered []jid.JID)
	presenceHook func(c *conn, p *stanza.Presence) (handled bool, delivered []jid.JID)
)

// isLocal reports whether to is an address of this server's domain.
func (s *Server) isLocal(to jid.JID) bool { return to.Domainpart() == s.domain.Domainpart() }

// routeMessage applies RFC 6121 §8 to a message.
func (s *Server) routeMessage(c *conn, m *stanza.Message) []jid.JID {
	for _, h := range s.messageHooks {
		if handled, delivered := h(c, m); handled {
			return delivered
		}
	}
	to := m.To
	if to.IsZero() {
		to = c.addr.Bare() // RFC 6120 §10.3.1
	}
	switch {
	case !s.isLocal(to):
		c.bounceCond(m, stanza.RemoteServerNotFound)
		return nil
	case to.Localpart() == "":
		c.bounceCond(m, stanza.ServiceUnavailable)
		return nil
	}
	typ := m.Type
	if typ == "" {
		typ = stanza.MessageNormal
	}
	s.mu.Lock()
	if s.outboundRefused(c, m, to, flowOtherOut) {
		s.mu.Unlock()
		return nil
	}
	a := s.accounts[to.Localpart()]
	if a == nil {
		s.mu.Unlock()
		c.bounceCond(m, stanza.ServiceUnavailable) // RFC 6121 §8.5.1
		return nil
	}
	var targets []*conn
	if rc := a.resources[to.Resourcepart()]; to.Resourcepart() != "" && rc != nil {
		targets = []*conn{rc} // RFC 6121 §8.5.3.1
	} else {
		switch typ {
		case stanza.MessageNormal, stanza.MessageChat:
			targets = highestPriority(a) // §8.5.2.1.1, §8.5.3.2.1
		case stanza.MessageHeadline:
			if to.Resourcepart() == "" {
				targets = available(a, 0) // §8.5.2.1.3
			}
		}
	}
	// The recipient's lists: each resource's, or the account's for a
	// message that finds none. Refused everywhere, the sender gets
	// service-unavailable (XEP-0016 §2.13 since its version 1.5, as
	// both servers answer), as if the account were offline.
	if a.privacy != nil || len(a.blocked) > 0 {
		n := len(targets)
		targets = slices.DeleteFunc(targets, func(rc *conn) bool {
			return s.refuses(a, to, rc, c.addr, flowMessageIn) != allowed
		})
		if n > 0 && len(targets) == 0 || n == 0 && s.refuses(a, to, nil, c.addr, flowMessageIn) != allowed {
			s.mu.Unlock()
			c.bounceCond(m, stanza.ServiceUnavailable)
			return nil
		}
	}
	if len(targets) == 0 {
		var stored, full bool
		if s.storable(m) {
			stored = s.store(a, m)
			full = !stored
		}
		s.mu.Unlock()
		switch {
		case stored:
		case full:
			c.bounce(m, stanza.NewError(stanza.ServiceUnavailable, "the account's offline storage is full (XEP-0160 §2)"))
		case typ == stanza.MessageNormal || typ == stanza.MessageChat || typ == stanza.MessageGroupChat:
			// Not stored (turned off, or only a chat state): chat and
			// normal are bounced; a groupchat message to a user is an
			// error (§8.5.2.1.2).
			c.bounceCond(m, stanza.ServiceUnavailable)
		}
		return nil
	}
	// Through the recipients' queues, behind the stored messages and
	// presence the rules queued before (offline.go); what is queued for
	// the sender waits behind its replies (see outbox).
	delivered := make([]jid.JID, 0, len(targets))
	for _, rc := range targets {
		rc.enqueue(m, rc == c)
		delivered = append(delivered, rc.addr)
	}
	s.mu.Unlock()
	for _, rc := range targets {
		if rc != c {
			rc.writeQueue(false)
		}
	}
	return delivered
}

// highestPriority returns the available resources of a with the highest
// non-negative priority: all of them on a tie. s.mu is held.
func highestPriority(a *account) []*conn {
	var best []*conn
	for _, rc := range a.resources {
		if !rc.available || rc.priority < 0 {
			continue
		}
		switch {
		case len(best) == 0 || rc.priority > best[0].priority:
			best = append(best[:0], rc)
		case rc.priority == best[0].priority:
			best = append(best, rc)
		}
	}
	return best
}

// available returns the available resources of a with priority at least
// min. s.mu is held.
func available(a *account, min int) []*conn {
	var out []*conn
	for _, rc := range a.resources {
		if rc.available && int(rc.priority) >= min {
			out = append(out, rc)
		}
	}
	return out
}

// routePresence hands a presence to the presence hooks; the last of
// them, the rules of RFC 6121 §3–4 (presence.go), handles every
// presence.
func (s *Server) routePresence(c *conn, p *stanza.Presence) []jid.JID {
	for _, h := range s.presenceHooks {
		if handled, delivered := h(c, p); handled {
			return delivered
		}
	}
	return nil
}

// routeIQ delivers an iq to a full JID, or has the server answer it on
// behalf of its domain or of an account (RFC 6121 §8.5.1, §8.5.2.1.4).
func (s *Server) routeIQ(c *conn, iq *stanza.IQ) []jid.JID {
	to := iq.To
	switch {
	case to.IsZero() || to == c.addr.Bare():
		s.answerIQ(c, iq, c.addr.Bare(), scopeAccount)
		return nil
	case !s.isLocal(to):
		c.bounceCond(iq, stanza.RemoteServerNotFound)
		return nil
	case to.Localpart() == "":
		s.answerIQ(c, iq, s.domain, scopeServer)
		return nil
	}
	s.mu.Lock()
	if s.outboundRefused(c, iq, to, flowOtherOut) {
		s.mu.Unlock()
		return nil
	}
	a := s.accounts[to.Localpart()]
	var rc *conn
	if a != nil && to.Resourcepart() != "" {
		rc = a.resources[to.Resourcepart()]
	}
	// The recipient's lists: the resource's, or the account's for an
	// iq its server answers. A get or set refused gets
	// service-unavailable, a result or error is dropped (XEP-0016
	// §2.13).
	refused := a != nil && s.refuses(a, to, rc, c.addr, flowIQIn) != allowed
	s.mu.Unlock()
	switch {
	case refused:
		c.bounceCond(iq, stanza.ServiceUnavailable)
		return nil
	case a == nil:
		c.bounceCond(iq, stanza.ServiceUnavailable)
		return nil
	case to.Resourcepart() == "":
		s.answerIQ(c, iq, to, scopeAccount)
		return nil
	case rc == nil:
		c.bounceCond(iq, stanza.ServiceUnavailable) // RFC 6121 §8.5.3.2.2
		return nil
	}
	return s.deliver(iq, []*conn{rc})
}

// deliver writes st to each target and returns the full JIDs it reached
// (with stream management, where it is kept to be resent).
func (s *Server) deliver(st stanza.Stanza, targets []*conn) []jid.JID {
	if len(targets) == 0 {
		return nil
	}
	delivered := make([]jid.JID, 0, len(targets))
	for _, rc := range targets {
		if rc.writeStanza(st) == nil {
			delivered = append(delivered, rc.addr)
		}
	}
	return delivered
}

// notify tells the watchers about a routed stanza.
func (s *Server) notify(r Routed) {
	s.mu.Lock()
	ws := s.watchers
	s.mu.Unlock()
	for _, w := range ws {
		w(r)
	}
}

// connsFor returns the connections bound to addr: one for a full JID,
// all of the account's for a bare one.
func (s *Server) connsFor(addr jid.JID) []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[addr.Localpart()]
	if a == nil || !s.isLocal(addr) {
		return nil
	}
	if addr.Resourcepart() != "" {
		if rc := a.resources[addr.Resourcepart()]; rc != nil {
			return []*conn{rc}
		}
		return nil
	}
	out := make([]*conn, 0, len(a.resources))
	for _, rc := range a.resources {
		out = append(out, rc)
	}
	slices.SortFunc(out, func(x, y *conn) int { return cmp.Compare(x.availSeq, y.availSeq) })
	return out
}

package presence

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// DefaultMaxPending is the number of unanswered subscription requests a
// Manager keeps when Options.MaxPending is not set.
const DefaultMaxPending = 1000

// ErrNoPreApproval is returned by PreApprove when the server does not
// offer subscription pre-approval (urn:xmpp:features:pre-approval, RFC
// 6121 §3.4).
var ErrNoPreApproval = errors.New("presence: the server does not offer subscription pre-approval (urn:xmpp:features:pre-approval)")

// Request is a subscription request (RFC 6121 §3.1.3): From, a bare JID,
// asks to receive the account's presence. Status and AltStatuses are the
// text that came with it, if any. Received is when it arrived.
type Request struct {
	From        jid.JID
	Status      string
	AltStatuses []stanza.Text
	Received    time.Time

	seq uint64
}

// Decision is what a HandleRequest callback decides about a request.
type Decision uint8

// Decisions.
const (
	// Undecided leaves the request to the next callback, or pending: the
	// server keeps it (and delivers it again at the next login) until the
	// account approves or denies it.
	Undecided Decision = iota
	// Approve sends subscribed: the contact receives the account's
	// presence from now on.
	Approve
	// Deny sends unsubscribed.
	Deny
)

// Change is a change a contact made to a subscription (RFC 6121 §3.1.5,
// §3.2, §3.3): From, a bare JID, sent Type, one of
// stanza.PresenceSubscribed (the account's request was approved),
// stanza.PresenceUnsubscribed (it was denied, or the contact cancelled the
// account's subscription) and stanza.PresenceUnsubscribe (the contact
// unsubscribed from the account's presence or withdrew its request).
type Change struct {
	From jid.JID
	Type stanza.PresenceType
}

// Subscribe asks the contact with JID to (its bare JID, whatever
// resource to has) for a subscription to its presence (RFC 6121 §3.1).
// The server adds the contact to the roster with a pending request (a
// roster push) and, when the contact approves, pushes subscription to and
// delivers subscribed to HandleChange.
func (m *Manager) Subscribe(ctx context.Context, s session.Sender, to jid.JID) error {
	return m.send(ctx, s, to, stanza.PresenceSubscribe, "subscribe to")
}

// Approve approves the subscription request of the contact with JID to
// (its bare JID): it sends subscribed (RFC 6121 §3.1.4), and the request
// is no longer pending.
func (m *Manager) Approve(ctx context.Context, s session.Sender, to jid.JID) error {
	return m.answer(ctx, s, to, stanza.PresenceSubscribed, "approve")
}

// Deny denies the subscription request of the contact with JID to (its
// bare JID): it sends unsubscribed (RFC 6121 §3.1.4), and the request is
// no longer pending.
func (m *Manager) Deny(ctx context.Context, s session.Sender, to jid.JID) error {
	return m.answer(ctx, s, to, stanza.PresenceUnsubscribed, "deny")
}

// Cancel cancels the subscription of the contact with JID to (its bare
// JID) to the account's presence, granted earlier: it sends unsubscribed
// (RFC 6121 §3.2). It is Deny under the name that says what it does to
// a granted subscription.
func (m *Manager) Cancel(ctx context.Context, s session.Sender, to jid.JID) error {
	return m.answer(ctx, s, to, stanza.PresenceUnsubscribed, "cancel the subscription of")
}

// Unsubscribe ends the account's subscription to the presence of the
// contact with JID to (its bare JID): it sends unsubscribe (RFC 6121
// §3.3).
func (m *Manager) Unsubscribe(ctx context.Context, s session.Sender, to jid.JID) error {
	return m.send(ctx, s, to, stanza.PresenceUnsubscribe, "unsubscribe from")
}

// PreApprove approves a subscription request of the contact with JID to
// (its bare JID) before it is made (RFC 6121 §3.4): it sends subscribed,
// and the server answers the contact's request when it comes. A client may
// do so only when the server offers pre-approval
// (s.Features().PreApproval); otherwise the error is ErrNoPreApproval and
// nothing is sent. When the contact's request is already pending,
// PreApprove approves it, which needs no pre-approval.
func (m *Manager) PreApprove(ctx context.Context, s session.Sender, to jid.JID) error {
	if !to.IsZero() && !m.isPending(to.Bare()) && !s.Features().PreApproval {
		return fmt.Errorf("presence: pre-approve %s: %w", to.Bare(), ErrNoPreApproval)
	}
	return m.answer(ctx, s, to, stanza.PresenceSubscribed, "pre-approve")
}

// answer sends a subscribed or unsubscribed and drops the pending request
// it answers.
func (m *Manager) answer(ctx context.Context, s session.Sender, to jid.JID, typ stanza.PresenceType, what string) error {
	if err := m.send(ctx, s, to, typ, what); err != nil {
		return err
	}
	m.dropPending(to)
	return nil
}

// send sends a subscription stanza of type typ to the bare JID of to.
func (m *Manager) send(ctx context.Context, s session.Sender, to jid.JID, typ stanza.PresenceType, what string) error {
	if to.IsZero() {
		return fmt.Errorf("%w: %s nobody", ErrInvalid, what)
	}
	p := &stanza.Presence{Header: stanza.Header{To: to.Bare()}, Type: typ}
	if err := s.Send(ctx, p); err != nil {
		return fmt.Errorf("presence: %s %s: %w", what, to.Bare(), err)
	}
	return nil
}

// Pending returns the subscription requests received on this stream and
// not answered yet through the Manager (nor shown answered by the roster),
// oldest first. At most Options.MaxPending are kept.
func (m *Manager) Pending() []Request {
	m.mu.Lock()
	out := make([]Request, 0, len(m.pending))
	for _, r := range m.pending {
		r.AltStatuses = slices.Clone(r.AltStatuses)
		out = append(out, r)
	}
	m.mu.Unlock()
	slices.SortFunc(out, func(a, b Request) int { return cmp.Compare(a.seq, b.seq) })
	return out
}

func (m *Manager) isPending(bare jid.JID) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.pending[bare]
	return ok
}

// addPending records req, dropping the oldest request when full.
func (m *Manager) addPending(req Request) Request {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pending == nil {
		m.pending = make(map[jid.JID]Request)
	}
	m.pendingSeq++
	req.seq = m.pendingSeq
	if _, ok := m.pending[req.From]; !ok && len(m.pending) >= m.maxPending {
		var oldest jid.JID
		var min uint64
		for j, r := range m.pending {
			if min == 0 || r.seq < min {
				oldest, min = j, r.seq
			}
		}
		delete(m.pending, oldest)
		m.log.Info("presence: too many pending subscription requests; forgot the oldest", "from", oldest)
	}
	m.pending[req.From] = req
	return req
}

func (m *Manager) dropPending(j jid.JID) {
	m.mu.Lock()
	delete(m.pending, j.Bare())
	m.mu.Unlock()
}

// subscriptionFrom returns the bare JID a subscription stanza is from, and
// false for one that makes no sense: from the account itself. A full JID
// is taken as its bare JID: subscriptions are between bare JIDs, and the
// sender's server stamps the bare JID (RFC 6121 §3.1.2); the domain is
// the one the server authenticated either way.
func (m *Manager) subscriptionFrom(p *stanza.Presence) (jid.JID, bool) {
	bare := p.From.Bare()
	if bare == m.tracker.Account() {
		m.log.Debug("presence: ignored a subscription stanza from the account itself", "type", p.Type, "from", p.From)
		return jid.JID{}, false
	}
	return bare, true
}

func (m *Manager) handleRequest(ctx context.Context, s *session.Session, p *stanza.Presence) {
	from, ok := m.subscriptionFrom(p)
	if !ok {
		return
	}
	req := m.addPending(Request{From: from, Status: p.Status, AltStatuses: slices.Clone(p.AltStatuses), Received: m.now()})
	m.fmu.RLock()
	fs := m.requestFs
	m.fmu.RUnlock()
	for _, f := range fs {
		var err error
		r := req
		r.AltStatuses = slices.Clone(req.AltStatuses)
		switch f(ctx, s, r) {
		case Approve:
			err = m.Approve(ctx, s, from)
		case Deny:
			err = m.Deny(ctx, s, from)
		default:
			continue
		}
		if err != nil {
			m.log.Warn("presence: answering a subscription request", "err", err)
		}
		return
	}
}

func (m *Manager) handleChange(ctx context.Context, s *session.Session, p *stanza.Presence) {
	from, ok := m.subscriptionFrom(p)
	if !ok {
		return
	}
	switch p.Type {
	case stanza.PresenceUnsubscribe:
		m.dropPending(from) // a request withdrawn
	case stanza.PresenceUnsubscribed:
		// The account no longer receives the contact's presence.
		m.broadcast(ctx, s, m.tracker.unavailable(from, nil, m.now(), nil))
	}
	m.fmu.RLock()
	fs := m.changeFs
	m.fmu.RUnlock()
	for _, f := range fs {
		f(ctx, s, Change{From: from, Type: p.Type})
	}
}

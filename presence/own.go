package presence

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// ErrInvalid is wrapped by the errors for presence that cannot be sent: a
// show other than away, chat, dnd and xa, a priority outside -128..127, an
// alternative status without a language or with one used twice, text XML
// cannot carry, or no address where one is needed.
var ErrInvalid = errors.New("presence: invalid presence")

// Available is an available presence the account announces (RFC 6121
// §4.7.2): Show (ShowNone for plain available), Status in the default
// language, AltStatuses in others (each with a distinct Lang), Priority in
// -128..127, and any further payloads (a nickname, an avatar hash). The
// client's caps are added by the Manager when it has a Responder.
//
// An Available is a plain value; SetAvailable and SendDirected copy it.
type Available struct {
	Show        stanza.Show
	Status      string
	AltStatuses []stanza.Text
	Priority    int
	Extensions  []stanza.Payload
}

func (a Available) clone() Available {
	a.AltStatuses = slices.Clone(a.AltStatuses)
	a.Extensions = slices.Clone(a.Extensions)
	return a
}

// check returns why a cannot be sent, wrapping ErrInvalid; nil if it can.
func (a Available) check() error {
	switch a.Show {
	case stanza.ShowNone, stanza.ShowAway, stanza.ShowChat, stanza.ShowDND, stanza.ShowXA:
	default:
		return fmt.Errorf("%w: show %q is not away, chat, dnd or xa", ErrInvalid, a.Show)
	}
	if a.Priority < -128 || a.Priority > 127 {
		return fmt.Errorf("%w: priority %d is outside -128..127", ErrInvalid, a.Priority)
	}
	for i, t := range a.AltStatuses {
		if t.Lang == "" {
			return fmt.Errorf("%w: alternative status %q without a language", ErrInvalid, t.Value)
		}
		if slices.ContainsFunc(a.AltStatuses[:i], func(u stanza.Text) bool { return strings.EqualFold(u.Lang, t.Lang) }) {
			return fmt.Errorf("%w: two statuses in language %q", ErrInvalid, t.Lang)
		}
	}
	return nil
}

// build returns the presence that announces a, to to (zero: broadcast),
// with the client's caps; it checks a and that the stanza encodes.
func (m *Manager) build(a Available, to jid.JID) (*stanza.Presence, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	p := &stanza.Presence{
		Header:      stanza.Header{To: to},
		Show:        a.Show,
		Status:      a.Status,
		AltStatuses: slices.Clone(a.AltStatuses),
		Priority:    int8(a.Priority),
		Extensions:  slices.Clone(a.Extensions),
	}
	if m.responder != nil {
		if err := m.responder.Attach(p); err != nil {
			return nil, fmt.Errorf("presence: caps: %w", err)
		}
	}
	if _, err := p.AppendXML(nil); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return p, nil
}

// SetAvailable makes a the account's presence: it sends a as available
// presence to the server, which broadcasts it to the contacts (RFC 6121
// §4.4), and remembers it as the initial presence of each new stream, so a
// reconnected client announces what the application last set. With a nil
// s it only remembers a, for the next stream.
//
// Presence that cannot be sent is an error wrapping ErrInvalid, and
// nothing changes.
func (m *Manager) SetAvailable(ctx context.Context, s session.Sender, a Available) error {
	p, err := m.build(a, jid.JID{})
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.own, m.available = a.clone(), true
	m.mu.Unlock()
	if s == nil {
		return nil
	}
	if err := s.Send(ctx, p); err != nil {
		return fmt.Errorf("presence: sending available presence: %w", err)
	}
	return nil
}

// SetUnavailable takes the account offline without closing the stream
// (RFC 6121 §4.5): it sends unavailable presence, with status when not
// empty, to the server and to every entity that got directed presence
// through the Manager, forgets those entities, and no initial presence
// goes out on later streams until SetAvailable. With a nil s it sends
// nothing and only changes what later streams do: they send neither
// initial presence nor the directed presence it forgets.
func (m *Manager) SetUnavailable(ctx context.Context, s session.Sender, status string) error {
	m.mu.Lock()
	m.available = false
	to := m.takeDirected()
	m.mu.Unlock()
	if s == nil {
		return nil
	}
	return m.sendUnavailable(ctx, s, append([]jid.JID{{}}, to...), status)
}

// Current returns the presence the account announces (the last
// SetAvailable, or the zero Available before one) and whether it is
// available, that is, whether new streams send initial presence.
func (m *Manager) Current() (Available, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.own.clone(), m.available
}

// SendDirected sends a as available presence to the entity to alone
// (directed presence, RFC 6121 §4.6), with the client's caps, and
// remembers a for to (replacing what was sent to it before): EndDirected,
// SetUnavailable and the session's Close send it unavailable presence
// later. Until then each new stream (not a resumed one) sends a to to
// again, after initial presence, whether or not the account is available:
// a stream that broke ended the directed presence at the server (RFC 6121
// §4.6.3), and the application did not. Presence to a group-chat room
// belongs to a group-chat package, not here.
func (m *Manager) SendDirected(ctx context.Context, s session.Sender, to jid.JID, a Available) error {
	if to.IsZero() {
		return fmt.Errorf("%w: directed presence without an address", ErrInvalid)
	}
	p, err := m.build(a, to)
	if err != nil {
		return err
	}
	if err := s.Send(ctx, p); err != nil {
		return fmt.Errorf("presence: sending directed presence to %s: %w", to, err)
	}
	m.mu.Lock()
	if m.directed == nil {
		m.directed = make(map[jid.JID]Available)
	}
	m.directed[to] = a.clone()
	m.mu.Unlock()
	return nil
}

// EndDirected sends unavailable presence to to, which got directed
// presence before, and forgets it: later streams do not send it again.
func (m *Manager) EndDirected(ctx context.Context, s session.Sender, to jid.JID) error {
	if to.IsZero() {
		return fmt.Errorf("%w: directed presence without an address", ErrInvalid)
	}
	m.mu.Lock()
	delete(m.directed, to)
	m.mu.Unlock()
	return m.sendUnavailable(ctx, s, []jid.JID{to}, "")
}

// Directed returns the entities that got directed presence through the
// Manager and not yet its end (EndDirected, SetUnavailable, Close),
// sorted. They outlive a stream that breaks: the next new stream sends
// their presence again.
func (m *Manager) Directed() []jid.JID {
	m.mu.Lock()
	defer m.mu.Unlock()
	return sortedJIDs(m.directed)
}

// takeDirected returns the directed entities, sorted, and forgets them;
// m.mu is held.
func (m *Manager) takeDirected() []jid.JID {
	to := sortedJIDs(m.directed)
	m.directed = nil
	return to
}

// directedPresence is one remembered directed presence.
type directedPresence struct {
	to jid.JID
	a  Available
}

// directedList returns the remembered directed presences, sorted by
// address, each a copy; m.mu is held.
func (m *Manager) directedList() []directedPresence {
	out := make([]directedPresence, 0, len(m.directed))
	for _, to := range sortedJIDs(m.directed) {
		out = append(out, directedPresence{to, m.directed[to].clone()})
	}
	return out
}

func sortedJIDs(set map[jid.JID]Available) []jid.JID {
	out := make([]jid.JID, 0, len(set))
	for j := range set {
		out = append(out, j)
	}
	slices.SortFunc(out, func(a, b jid.JID) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// sendUnavailable sends unavailable presence with status to each of to
// (the zero JID: broadcast), going on after a failure; it returns the
// failures joined.
func (m *Manager) sendUnavailable(ctx context.Context, s session.Sender, to []jid.JID, status string) error {
	var errs []error
	for _, j := range to {
		p := &stanza.Presence{Header: stanza.Header{To: j}, Type: stanza.PresenceUnavailable, Status: status}
		if err := s.Send(ctx, p); err != nil {
			what := "unavailable presence"
			if !j.IsZero() {
				what += " to " + j.String()
			}
			errs = append(errs, fmt.Errorf("presence: sending %s: %w", what, err))
		}
	}
	return errors.Join(errs...)
}

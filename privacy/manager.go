package privacy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// Manager is the privacy side of the account a Mux's sessions log in to:
// the active list to set on each new stream, and the application's
// callbacks for the server's pushes. Handle makes it.
//
// A Manager is safe for concurrent use; callbacks may be added while
// sessions run, and apply to later pushes.
type Manager struct {
	mu       sync.RWMutex
	active   string // the active list to set on each new stream, "" for none
	listFs   []func(ctx context.Context, s *session.Session, name string)
	blockFs  []func(ctx context.Context, s *session.Session, b Blocking)
	restoreF []func(ctx context.Context, s *session.Session, name string, err error)
}

// Handle registers the privacy package on mux and returns its Manager:
//
//   - a start hook sets the active list set through Manager.SetActive
//     again on each new stream, since an active list lasts one stream
//     (RFC 3921 §10.8); on a resumed stream (stream management) the
//     server kept it, and nothing is sent. The hook runs before the start
//     hooks registered after Handle: register the Manager before anything
//     that sends initial presence, so that the list applies to it.
//   - iq set handlers take the server's privacy-list pushes (RFC 3921
//     §10.6: a <list/> naming a list that changed) and blocking pushes
//     (XEP-0191 §3.3, §3.4: <block/>, <unblock/>). A push is accepted
//     only from the account itself (no from, or the account's bare JID:
//     session.TrustedPush); it is answered with a result and handed to the
//     HandleListPush or HandleBlockingPush callbacks. A push from anyone
//     else is answered service-unavailable and never delivered; a push
//     from the account that breaks the protocol is answered bad-request.
//
// Handle panics if handlers for these pushes are already registered on
// mux (the Mux's rule for iq handlers).
func Handle(mux *session.Mux) *Manager {
	m := &Manager{}
	mux.HandleIQ(stanza.IQSet, queryName, session.IQHandlerFunc(m.listPush))
	mux.HandleIQ(stanza.IQSet, blockName, session.IQHandlerFunc(m.blockingPush))
	mux.HandleIQ(stanza.IQSet, unblockName, session.IQHandlerFunc(m.blockingPush))
	mux.HandleStart(m.start)
	return m
}

// HandleListPush registers f to be called with the name of the list of
// each accepted privacy-list push, before the push is answered. A push
// says that the list changed (or was removed): fetch it with GetList if it
// matters. f runs on the session's dispatcher, like a handler: it holds up
// the stanzas after the push, so it must not block for long (and must not
// wait there for the reply to a request of its own).
func (m *Manager) HandleListPush(f func(ctx context.Context, s *session.Session, name string)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.listFs = append(m.listFs, f)
}

// HandleBlockingPush registers f to be called with each accepted blocking
// push: a CommandBlock with the JIDs now blocked, or a CommandUnblock with
// the JIDs now unblocked (none: all of them). f runs on the session's
// dispatcher, as for HandleListPush.
func (m *Manager) HandleBlockingPush(f func(ctx context.Context, s *session.Session, b Blocking)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.blockFs = append(m.blockFs, f)
}

// HandleRestore registers f to be called after the start hook of a new
// stream has set the active list again, with the list's name and the
// error (nil when it is active): the hook has nowhere else to report it.
// f is not called when there is no active list to set.
func (m *Manager) HandleRestore(f func(ctx context.Context, s *session.Session, name string, err error)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.restoreF = append(m.restoreF, f)
}

// Active returns the name of the active list that the Manager sets on
// each new stream, "" for none.
func (m *Manager) Active() string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.active
}

// SetActive makes the list named name the active list of s's stream, as
// the package-level SetActive does, and on success remembers it, to set it
// again on each new stream.
func (m *Manager) SetActive(ctx context.Context, s session.Sender, name string) error {
	if err := SetActive(ctx, s, name); err != nil {
		return err
	}
	m.mu.Lock()
	m.active = name
	m.mu.Unlock()
	return nil
}

// DeclineActive declines the active list of s's stream, as the
// package-level DeclineActive does, and on success forgets it: later
// streams start without one.
func (m *Manager) DeclineActive(ctx context.Context, s session.Sender) error {
	if err := DeclineActive(ctx, s); err != nil {
		return err
	}
	m.mu.Lock()
	m.active = ""
	m.mu.Unlock()
	return nil
}

func (m *Manager) start(ctx context.Context, s *session.Session, resumed bool) {
	if resumed {
		return
	}
	m.mu.RLock()
	name := m.active
	fs := m.restoreF
	m.mu.RUnlock()
	if name == "" {
		return
	}
	err := SetActive(ctx, s, name)
	if errors.Is(err, stanza.ItemNotFound) {
		// The list is gone: later streams would fail the same way.
		m.mu.Lock()
		if m.active == name {
			m.active = ""
		}
		m.mu.Unlock()
	}
	for _, f := range fs {
		f(ctx, s, name, err)
	}
}

// listPush takes a privacy-list push.
func (m *Manager) listPush(ctx context.Context, s *session.Session, iq *stanza.IQ) (stanza.Payload, error) {
	if !session.TrustedPush(s.Addr(), iq.From) {
		return nil, stanza.NewError(stanza.ServiceUnavailable, "")
	}
	raw, _ := iq.Raw()
	q, err := ParseQuery(raw)
	if err != nil {
		return nil, stanza.NewError(stanza.BadRequest, err.Error())
	}
	if q.HasActive || q.HasDefault || len(q.Lists) != 1 {
		return nil, stanza.NewError(stanza.BadRequest, "a privacy list push names exactly one list")
	}
	name := q.Lists[0].Name
	m.mu.RLock()
	fs := m.listFs
	m.mu.RUnlock()
	for _, f := range fs {
		f(ctx, s, name)
	}
	return nil, nil
}

// blockingPush takes a block or unblock push.
func (m *Manager) blockingPush(ctx context.Context, s *session.Session, iq *stanza.IQ) (stanza.Payload, error) {
	if !session.TrustedPush(s.Addr(), iq.From) {
		return nil, stanza.NewError(stanza.ServiceUnavailable, "")
	}
	raw, _ := iq.Raw()
	b, err := ParseBlocking(raw)
	if err != nil {
		return nil, stanza.NewError(stanza.BadRequest, err.Error())
	}
	if b.Command == CommandBlock && len(b.JIDs) == 0 {
		return nil, stanza.NewError(stanza.BadRequest, fmt.Sprintf("%s push without a JID", b.Command))
	}
	m.mu.RLock()
	fs := m.blockFs
	m.mu.RUnlock()
	for _, f := range fs {
		f(ctx, s, Blocking{Command: b.Command, JIDs: slices.Clone(b.JIDs)})
	}
	return nil, nil
}

package main

import (
	"context"
	"fmt"

	"github.com/parleyim/parley/im"
	"github.com/parleyim/parley/presence"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// serverRestarts restarts the embedded server under alice's and bob's
// Clients: their streams end, the server forgets its stream management
// sessions (none can be resumed), and each Client logs in again on its
// own after a short wait. The new
// sessions are new, not resumed; the presence package sends each one's
// last status again, so each sees the other back online as before; and
// a message alice sends then reaches bob. A real server (-server) is not
// the demo's to restart: the step says so and passes.
func serverRestarts(ctx context.Context, st *story) error {
	if st.restart == nil {
		st.out.note("skipped: -server names a real server, which the demo cannot restart")
		return nil
	}
	actors := []*actor{st.alice, st.bob}
	before := make(map[*actor]*session.Session)
	for _, who := range actors {
		s, err := who.sess.Session(ctx)
		if err != nil {
			return fmt.Errorf("%s has no session before the restart: %w", who.name, err)
		}
		// What the server has not acknowledged when a stream ends, a
		// Client sends again on the next one (bob's last receipt, say):
		// delivery across a restart is at least once. The story restarts
		// when everything was acknowledged, so that its transcript does
		// not show a stanza the server had delivered arrive twice.
		settle := pingIQ(s.Addr().Domain())
		settle.ID = stanza.NewID()
		if err := s.SendAcked(ctx, settle); err != nil {
			return fmt.Errorf("%s's stanzas were not acknowledged before the restart: %w", who.name, err)
		}
		before[who] = s
	}
	st.out.note("the server restarts: it ends every stream, and keeps accounts, rosters and offline messages")
	if err := st.restart(); err != nil {
		return fmt.Errorf("restarting the server: %w", err)
	}
	after := make(map[*actor]*session.Session)
	for _, who := range actors {
		e, err := waitConnected(ctx, who, before[who])
		if err != nil {
			return fmt.Errorf("after the restart: %w", err)
		}
		if e.Resumed {
			return fmt.Errorf("%s's stream was resumed, want a new session after a restart", who.name)
		}
		after[who] = e.Session
	}
	for _, who := range actors {
		peer := st.other(who)
		got, err := waitEventOn(ctx, who, peer.name+" back online", after[who], func(e presence.Event) bool {
			return e.Op == presence.Online && e.Resource.JID == peer.sess.Addr()
		})
		if err != nil {
			return err
		}
		if want := peer.status; got.Resource.Show != want.Show || got.Resource.Status != want.Status || got.Resource.Priority != want.Priority {
			return fmt.Errorf("%s sees %s back with show %q, status %q, priority %d; want %q, %q, %d as set before the restart",
				who.name, peer.name, got.Resource.Show, got.Resource.Status, got.Resource.Priority, want.Show, want.Status, want.Priority)
		}
	}
	id, err := st.send(ctx, st.alice, st.bob, "Still there after the restart?")
	if err != nil {
		return err
	}
	_, err = st.wait(ctx, st.bob, "alice's message after the restart", func(m *im.Message) bool { return m.ID == id })
	return err
}

// embeddedAccounts are the accounts of the in-memory server.
var embeddedAccounts = []struct{ name, password string }{{"alice", "alice-secret"}, {"bob", "bob-secret"}}

package im_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parleyim/parley/im"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/session"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// closeAtEnd closes s when the test ends.
func closeAtEnd(t *testing.T, s *session.Session) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// inbox is a Manager with a roster on a Mux, and the messages the Manager
// handed to the application, in order.
type inbox struct {
	mux *session.Mux
	r   *roster.Roster
	m   *im.Manager

	mu      sync.Mutex
	msgs    []*im.Message
	changed chan struct{}
}

// newInbox registers a roster and a Manager with opts on a new Mux, with a
// callback that records every message.
func newInbox(opts *im.Options) *inbox {
	in := &inbox{mux: session.NewMux(), changed: make(chan struct{}, 1)}
	in.r = roster.Handle(in.mux)
	in.m = im.Handle(in.mux, in.r, opts)
	in.m.HandleMessage(func(_ context.Context, _ *session.Session, m *im.Message) {
		in.mu.Lock()
		in.msgs = append(in.msgs, m)
		in.mu.Unlock()
		select {
		case in.changed <- struct{}{}:
		default:
		}
	})
	return in
}

// wait waits until a recorded message satisfies match and returns it with
// the messages recorded before it.
func (in *inbox) wait(t *testing.T, what string, match func(*im.Message) bool) (*im.Message, []*im.Message) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		in.mu.Lock()
		for i, m := range in.msgs {
			if match(m) {
				before := append([]*im.Message(nil), in.msgs[:i]...)
				in.mu.Unlock()
				return m, before
			}
		}
		in.mu.Unlock()
		select {
		case <-in.changed:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// waitBody waits for the message with body and returns it with the
// messages before it.
func (in *inbox) waitBody(t *testing.T, body string) (*im.Message, []*im.Message) {
	t.Helper()
	return in.wait(t, "the message "+body, func(m *im.Message) bool { return m.Body == body })
}

// waitID waits for the message with id.
func (in *inbox) waitID(t *testing.T, id string) *im.Message {
	t.Helper()
	m, _ := in.wait(t, "the message with id "+id, func(m *im.Message) bool { return m.ID == id })
	return m
}

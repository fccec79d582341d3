package presence_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/presence"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
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

// recorder is a Manager with a roster on a Mux, and what the Manager told
// the application.
type recorder struct {
	mux *session.Mux
	r   *roster.Roster
	m   *presence.Manager

	mu       sync.Mutex
	events   []presence.Event
	requests []presence.Request
	changes  []presence.Change
	errs     []string // from condition
	changed  chan struct{}
}

// newRecorder registers a roster and a Manager with opts on a new Mux,
// with callbacks that record; decide, when not nil, is the request
// callback's decision.
func newRecorder(opts *presence.Options, decide func(presence.Request) presence.Decision) *recorder {
	return newRecorderOn(session.NewMux(), opts, decide)
}

// newRecorderOn is newRecorder on mux.
func newRecorderOn(mux *session.Mux, opts *presence.Options, decide func(presence.Request) presence.Decision) *recorder {
	rec := &recorder{mux: mux, changed: make(chan struct{}, 1)}
	rec.r = roster.Handle(rec.mux)
	rec.m = presence.Handle(rec.mux, rec.r, opts)
	rec.m.HandleBroadcast(func(_ context.Context, _ *session.Session, e presence.Event) {
		rec.add(func() { rec.events = append(rec.events, e) })
	})
	rec.m.HandleRequest(func(_ context.Context, _ *session.Session, req presence.Request) presence.Decision {
		rec.add(func() { rec.requests = append(rec.requests, req) })
		if decide != nil {
			return decide(req)
		}
		return presence.Undecided
	})
	rec.m.HandleChange(func(_ context.Context, _ *session.Session, c presence.Change) {
		rec.add(func() { rec.changes = append(rec.changes, c) })
	})
	rec.m.HandleError(func(_ context.Context, _ *session.Session, from jid.JID, err *stanza.Error) {
		rec.add(func() { rec.errs = append(rec.errs, from.String()+" "+string(err.Condition)) })
	})
	return rec
}

func (rec *recorder) add(f func()) {
	rec.mu.Lock()
	f()
	rec.mu.Unlock()
	select {
	case rec.changed <- struct{}{}:
	default:
	}
}

// waitFor waits until cond holds (checked under the recorder's lock).
func (rec *recorder) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		rec.mu.Lock()
		ok := cond()
		rec.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-rec.changed:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// eventList returns the events recorded so far as "op jid show/prio/status".
func (rec *recorder) eventList() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return describe(rec.events)
}

func describe(events []presence.Event) []string {
	out := make([]string, 0, len(events))
	for _, e := range events {
		out = append(out, describeEvent(e))
	}
	return out
}

func describeEvent(e presence.Event) string {
	r := e.Resource
	return e.Op.String() + " " + r.JID.String() + " " + string(r.Show) + "/" + strconv.Itoa(r.Priority) + "/" + r.Status
}

// waitEvents waits until n events are recorded and returns them.
func (rec *recorder) waitEvents(t *testing.T, n int) []string {
	t.Helper()
	rec.waitFor(t, strconv.Itoa(n)+" events", func() bool { return len(rec.events) >= n })
	return rec.eventList()
}

// render writes a payload with encoding/xml.
func render(t testing.TB, p stanza.Payload) string {
	t.Helper()
	var buf bytes.Buffer
	enc := xml.NewEncoder(&buf)
	_, err := p.WriteXML(enc)
	require.NoError(t, err)
	require.NoError(t, enc.Flush())
	return buf.String()
}

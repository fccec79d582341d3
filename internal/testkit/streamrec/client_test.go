//go:build interop

package streamrec_test

import (
	"context"
	"encoding/xml"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/testkit/xmppd"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// client is one logged-in account with what it has received.
type client struct {
	*session.Session
	mu    sync.Mutex
	got   []stanza.Stanza
	added chan struct{} // closed and replaced on each new stanza
}

// login logs user in with resource; trace, when not nil, gets the
// session's trace. Roster pushes are answered with a result; a
// subscription request is approved when approve is set. The session is
// closed when t ends, unless the test closed it.
func login(t *testing.T, srv *xmppd.Server, user, resource string, trace io.Writer, approve bool) *client {
	t.Helper()
	c := &client{added: make(chan struct{})}
	mux := session.NewMux()
	mux.HandleIQFunc(stanza.IQSet, xml.Name{Space: ns.Roster, Local: "query"},
		func(context.Context, *session.Session, *stanza.IQ) (stanza.Payload, error) { return nil, nil })
	mux.HandleMessageFunc(session.MessageRoute{}, func(_ context.Context, _ *session.Session, m *stanza.Message) { c.add(m) })
	mux.HandlePresenceFunc(session.PresenceRoute{}, func(ctx context.Context, s *session.Session, p *stanza.Presence) {
		c.add(p)
		if approve && p.Type == stanza.PresenceSubscribe {
			_ = s.Send(ctx, &stanza.Presence{Header: stanza.Header{To: p.From.Bare()}, Type: stanza.PresenceSubscribed})
		}
	})
	addr, err := jid.New(user, srv.Domain, "")
	require.NoError(t, err)
	cfg := &session.Config{
		Addr:      srv.Addr,
		TLSConfig: srv.TLSConfig(),
		Resource:  resource,
		Timeout:   30 * time.Second,
		Mux:       mux,
		Trace:     trace,
		KeepAlive: -1,
	}
	s, err := session.Dial(context.Background(), addr, srv.Users[user], cfg)
	require.NoError(t, err, "logging in as %s", user)
	c.Session = s
	t.Cleanup(func() { c.close(t) })
	return c
}

func (c *client) add(st stanza.Stanza) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, st)
	close(c.added)
	c.added = make(chan struct{})
}

// waitFor waits until a received stanza satisfies ok, and reports
// whether one did before the wait's bound.
func (c *client) waitFor(t *testing.T, what string, ok func(stanza.Stanza) bool) bool {
	t.Helper()
	timer := time.NewTimer(20 * time.Second)
	defer timer.Stop()
	seen := 0
	for {
		c.mu.Lock()
		got, added := c.got[seen:], c.added
		seen = len(c.got)
		c.mu.Unlock()
		for _, st := range got {
			if ok(st) {
				return true
			}
		}
		select {
		case <-added:
		case <-timer.C:
			t.Logf("%s: %s never came", c.Addr(), what)
			return false
		}
	}
}

// waitBody waits for a message whose body is body.
func (c *client) waitBody(t *testing.T, body string) bool {
	t.Helper()
	return c.waitFor(t, "a message with body "+body, func(st stanza.Stanza) bool {
		m, ok := st.(*stanza.Message)
		return ok && m.Body == body
	})
}

// send sends st, failing the test if it cannot.
func (c *client) send(t *testing.T, st stanza.Stanza) {
	t.Helper()
	require.NoError(t, c.Send(ctxFor(t), st))
}

// sendIQ sends iq and returns the reply, whatever it is.
func (c *client) sendIQ(t *testing.T, iq *stanza.IQ) *stanza.IQ {
	t.Helper()
	reply, err := c.SendIQ(ctxFor(t), iq)
	if err != nil {
		t.Logf("%s: iq %s: %v", c.Addr(), iq.ID, err)
	}
	return reply
}

// close closes the session within a bound.
func (c *client) close(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Logf("close %s: %v", c.Addr(), err)
	}
}

// ctxFor returns a context for one request.
func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// raw parses an extension element, failing the test if it is not one.
func raw(t *testing.T, s string) *stanza.Raw {
	t.Helper()
	r, err := stanza.ParseRaw([]byte(s))
	require.NoError(t, err, "parsing %s", s)
	return r
}

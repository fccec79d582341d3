package xmpptest_test

import (
	"context"
	"encoding/xml"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
	"github.com/parleyim/parley/xmpptest"
)

// collector is a Mux that keeps every message its session receives.
type collector struct {
	mu   sync.Mutex
	msgs []*stanza.Message
	more chan struct{}
}

func newCollector() (*collector, *session.Mux) {
	c := &collector{more: make(chan struct{}, 1)}
	mux := session.NewMux()
	mux.HandleMessageFunc(session.MessageRoute{}, func(_ context.Context, _ *session.Session, m *stanza.Message) {
		c.mu.Lock()
		c.msgs = append(c.msgs, m)
		c.mu.Unlock()
		select {
		case c.more <- struct{}{}:
		default:
		}
	})
	return c, mux
}

// wait returns the first n messages, failing t when they do not come.
func (c *collector) wait(t *testing.T, n int) []*stanza.Message {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		got := len(c.msgs)
		c.mu.Unlock()
		if got >= n {
			c.mu.Lock()
			defer c.mu.Unlock()
			return c.msgs[:n:n]
		}
		select {
		case <-c.more:
		case <-timeout:
			t.Fatalf("%d of %d messages arrived", got, n)
		}
	}
}

func loginCollecting(t *testing.T, srv *xmpptest.Server, user string) (*session.Session, *collector) {
	t.Helper()
	c, mux := newCollector()
	s, err := srv.Connect(ctx(t), account(srv, user), "pw-"+account(srv, user).Localpart(), &session.Config{Mux: mux, KeepAlive: -1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s, c
}

// delayOf returns the delay element of m, failing t without one.
func delayOf(t *testing.T, m *stanza.Message) *stanza.Raw {
	t.Helper()
	d, ok := m.Extension(xml.Name{Space: "urn:xmpp:delay", Local: "delay"})
	require.True(t, ok, "a delay on %q", m.Body)
	return d
}

// A stored message keeps its id, to and extensions and gains a XEP-0203
// delay: from the domain, stamped in UTC when it was stored.
func TestOfflineDelay(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	a, ain := login(t, srv, "alice", nil)
	before := time.Now()
	m := chat(jid.MustParse("bob@example.test/gone"), "hello")
	m.ID = "m1"
	m.Thread = stanza.Thread{ID: "t1"}
	require.NoError(t, a.Send(ctx(t), m))
	syncServer(t, a)
	ain.noMessage(t)
	after := time.Now()

	b, bin := loginCollecting(t, srv, "bob/desk")
	available(t, b, 0)
	got := bin.wait(t, 1)[0]
	assert.Equal(t, "m1", got.ID)
	assert.Equal(t, a.Addr(), got.From)
	assert.Equal(t, "bob@example.test/gone", got.To.String())
	assert.Equal(t, "t1", got.Thread.ID)
	assert.Equal(t, "hello", got.Body)
	d := delayOf(t, got)
	assert.Equal(t, "example.test", d.Attr("from"))
	assert.Equal(t, "Offline storage", d.Text())
	stamp := d.Attr("stamp")
	assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`, stamp, "XEP-0082, UTC, milliseconds")
	at, err := time.Parse(time.RFC3339Nano, stamp)
	require.NoError(t, err)
	assert.False(t, at.Before(before.Truncate(time.Millisecond)), "stamp %s before the message was sent (%s)", at, before)
	assert.False(t, at.After(after), "stamp %s after the message was stored (%s)", at, after)
}

// An account keeps at most MaxOffline messages: the next one is refused
// with service-unavailable (XEP-0160 §2); they are all delivered, in
// order, and once delivered the storage has room again.
func TestOfflineBound(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	a, ain := login(t, srv, "alice", nil)
	for i := range xmpptest.MaxOffline {
		require.NoError(t, a.Send(ctx(t), chat(bob, strconv.Itoa(i))))
	}
	over := chat(bob, "over")
	over.ID = "over"
	require.NoError(t, a.Send(ctx(t), over))
	e := ain.message(t)
	assert.Equal(t, stanza.MessageError, e.Type)
	assert.Equal(t, "over", e.ID)
	assert.Equal(t, bob, e.From)
	assert.ErrorIs(t, e.Error, stanza.ServiceUnavailable)

	b, bin := loginCollecting(t, srv, "bob/desk")
	available(t, b, 0)
	got := bin.wait(t, xmpptest.MaxOffline)
	for i, m := range got {
		require.Equal(t, strconv.Itoa(i), m.Body, "oldest first")
		delayOf(t, m)
	}
	syncServer(t, b)
	assert.Len(t, bin.wait(t, xmpptest.MaxOffline), xmpptest.MaxOffline, "nothing more")
	require.NoError(t, b.Close(ctx(t)))

	require.NoError(t, a.Send(ctx(t), chat(bob, "room again")))
	syncServer(t, a)
	ain.noMessage(t)
}

// Config.NoOfflineStorage keeps RFC 6121's other choice: a message for
// an account with no available resource is bounced and never delivered,
// and the domain does not list msgoffline.
func TestNoOfflineStorage(t *testing.T) {
	t.Parallel()
	for _, off := range []bool{false, true} {
		t.Run("NoOfflineStorage="+strconv.FormatBool(off), func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, &xmpptest.Config{NoOfflineStorage: off})
			a, ain := login(t, srv, "alice", nil)
			m := chat(bob, "anyone?")
			m.ID = "m1"
			require.NoError(t, a.Send(ctx(t), m))
			syncServer(t, a)
			if off {
				e := ain.message(t)
				assert.Equal(t, "m1", e.ID)
				assert.ErrorIs(t, e.Error, stanza.ServiceUnavailable)
			} else {
				ain.noMessage(t)
			}

			b, bin := login(t, srv, "bob/desk", nil)
			available(t, b, 0)
			syncServer(t, b)
			if off {
				bin.noMessage(t)
			} else {
				assert.Equal(t, "anyone?", bin.message(t).Body)
			}

			reply, err := a.SendIQ(ctx(t), &stanza.IQ{Header: stanza.Header{To: srv.Domain()}, Type: stanza.IQGet, Payload: discoQuery(t, nsInfo, "")})
			require.NoError(t, err)
			raw, ok := reply.Raw()
			require.True(t, ok)
			var info discoInfo
			require.NoError(t, raw.Decode(&info))
			if off {
				assert.NotContains(t, info.features(), "msgoffline")
			} else {
				assert.Contains(t, info.features(), "msgoffline", "XEP-0160 §6")
			}
		})
	}
}

// Messages sent while the recipient's first resource becomes available
// arrive after the stored ones, in the order they were sent: storing,
// taking the stored messages and routing a new one happen under one
// lock, and everything goes through the recipient's queue, where the
// stored messages wait until bob's goroutine has finished with his
// presence (a watcher makes that take a while).
func TestOfflineOrderAcrossInitialPresence(t *testing.T) {
	t.Parallel()
	const stored, total = 20, 200
	srv := newServer(t, nil)
	a, _ := login(t, srv, "alice", nil)
	b, bin := loginCollecting(t, srv, "bob/desk")
	srv.Watch(func(r xmpptest.Routed) {
		if _, ok := r.Stanza.(*stanza.Presence); ok && r.Stanza.StanzaHeader().From == b.Addr() {
			time.Sleep(50 * time.Millisecond)
		}
	})
	for i := range stored {
		require.NoError(t, a.Send(ctx(t), chat(bob, strconv.Itoa(i))))
	}
	sent := make(chan error, 1)
	go func() {
		for i := stored; i < total; i++ {
			if err := a.Send(ctx(t), chat(bob, strconv.Itoa(i))); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	available(t, b, 0)
	require.NoError(t, <-sent)
	syncServer(t, a)
	syncServer(t, b)

	// Those routed before the presence, while bob had no available
	// resource, were stored; those after it delivered at once: all of
	// them arrive, in the order they were sent.
	for i, m := range bin.wait(t, total) {
		require.Equal(t, strconv.Itoa(i), m.Body, "in order")
	}
}

package xmpptest

import (
	"context"
	"encoding/xml"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// The extension points that the roster, presence and privacy rules will
// use: iq handlers, message and presence hooks, end hooks, stream
// features and disco features.
func TestExtensionPoints(t *testing.T) {
	srv := NewServer(t, nil)
	_, err := srv.AddUser("alice", "pw")
	require.NoError(t, err)

	srv.handleIQ(stanza.IQGet, xml.Name{Space: "jabber:iq:roster"}, scopeAccount,
		func(c *conn, iq *stanza.IQ, to jid.JID) (stanza.Payload, error) {
			assert.Equal(t, c.addr.Bare(), to)
			return stanza.ParseRaw([]byte("<query xmlns='jabber:iq:roster'/>"))
		})
	srv.messageHooks = append(srv.messageHooks, func(c *conn, m *stanza.Message) (bool, []jid.JID) {
		if m.Body != "intercept" {
			return false, nil
		}
		c.reply(&stanza.Message{Header: stanza.Header{To: c.addr}, Body: "intercepted"})
		return true, nil
	})
	var sawPresence, ended atomic.Int32
	srv.presenceHooks = append(srv.presenceHooks, func(c *conn, p *stanza.Presence) (bool, []jid.JID) {
		srv.mu.Lock()
		avail := c.available
		srv.mu.Unlock()
		if p.To.IsZero() && avail {
			sawPresence.Add(1) // the state is updated before the hooks run
		}
		return false, nil
	})
	srv.endHooks = append(srv.endHooks, func(*conn) { ended.Add(1) })
	srv.streamFeatures = append(srv.streamFeatures, "<ver xmlns='urn:xmpp:features:rosterver'/>")
	srv.addFeature(scopeServer, "jabber:iq:roster")

	got := make(chan *stanza.Message, 1)
	mux := session.NewMux()
	mux.HandleMessageFunc(session.MessageRoute{}, func(_ context.Context, _ *session.Session, m *stanza.Message) { got <- m })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := srv.Connect(ctx, jid.MustParse("alice@example.test"), "pw", &session.Config{Mux: mux, KeepAlive: -1})
	require.NoError(t, err)
	assert.True(t, s.Features().RosterVersioning)

	q, _ := stanza.ParseRaw([]byte("<query xmlns='jabber:iq:roster'/>"))
	_, err = s.SendIQ(ctx, &stanza.IQ{Type: stanza.IQGet, Payload: q})
	require.NoError(t, err)
	_, err = s.SendIQ(ctx, &stanza.IQ{Header: stanza.Header{To: srv.Domain()}, Type: stanza.IQGet, Payload: q})
	assert.ErrorIs(t, err, stanza.ServiceUnavailable, "an account-scope handler does not answer for the domain")

	require.NoError(t, s.Send(ctx, &stanza.Message{Header: stanza.Header{To: s.Addr()}, Body: "intercept"}))
	select {
	case m := <-got:
		assert.Equal(t, "intercepted", m.Body)
	case <-ctx.Done():
		t.Fatal("the hook's reply did not arrive")
	}
	require.NoError(t, s.Send(ctx, &stanza.Presence{}))
	info, _ := stanza.ParseRaw([]byte("<query xmlns='http://jabber.org/protocol/disco#info'/>"))
	reply, err := s.SendIQ(ctx, &stanza.IQ{Header: stanza.Header{To: srv.Domain()}, Type: stanza.IQGet, Payload: info})
	require.NoError(t, err)
	raw, _ := reply.Raw()
	assert.Contains(t, raw.String(), "var='jabber:iq:roster'")
	assert.Equal(t, int32(1), sawPresence.Load())

	require.NoError(t, s.Close(ctx))
	require.NoError(t, srv.Close())
	assert.Equal(t, int32(1), ended.Load())
}

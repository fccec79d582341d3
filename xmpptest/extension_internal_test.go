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

	srv.handleIQ(stanza.IQGet, xml.Name{Space: "urn:example:ext"}, scopeAccount,
		func(c *conn, iq *stanza.IQ, to jid.JID) (stanza.Payload, error) {
			assert.Equal(t, c.addr.Bare(), to)
			return stanza.ParseRaw([]byte("<answer xmlns='urn:example:ext'/>"))
		})
	srv.messageHooks = append(srv.messageHooks, func(c *conn, m *stanza.Message) (bool, []jid.JID) {
		if m.Body != "intercept" {
			return false, nil
		}
		c.reply(&stanza.Message{Header: stanza.Header{To: c.addr}, Body: "intercepted"})
		return true, nil
	})
	var sawPresence, ended atomic.Int32
	// Before the presence rules, which handle every presence.
	srv.presenceHooks = append([]presenceHook{func(c *conn, p *stanza.Presence) (bool, []jid.JID) {
		if p.To.IsZero() && p.From == c.addr {
			sawPresence.Add(1) // stamped before the hooks run
		}
		return false, nil
	}}, srv.presenceHooks...)
	srv.endHooks = append(srv.endHooks, func(*conn) { ended.Add(1) })
	srv.streamFeatures = append(srv.streamFeatures, "<ext xmlns='urn:example:ext'/>")
	srv.addFeature(scopeServer, "urn:example:ext")

	got := make(chan *stanza.Message, 1)
	mux := session.NewMux()
	mux.HandleMessageFunc(session.MessageRoute{}, func(_ context.Context, _ *session.Session, m *stanza.Message) { got <- m })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := srv.Connect(ctx, jid.MustParse("alice@example.test"), "pw", &session.Config{Mux: mux, KeepAlive: -1})
	require.NoError(t, err)
	_, ok := s.Features().Lookup(xml.Name{Space: "urn:example:ext", Local: "ext"})
	assert.True(t, ok, "the extra stream feature is offered")

	q, _ := stanza.ParseRaw([]byte("<query xmlns='urn:example:ext'/>"))
	reply, err := s.SendIQ(ctx, &stanza.IQ{Type: stanza.IQGet, Payload: q})
	require.NoError(t, err)
	answer, _ := reply.Raw()
	assert.Equal(t, "answer", answer.Name().Local, "the namespace's handler answers any payload of it")
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
	reply, err = s.SendIQ(ctx, &stanza.IQ{Header: stanza.Header{To: srv.Domain()}, Type: stanza.IQGet, Payload: info})
	require.NoError(t, err)
	raw, _ := reply.Raw()
	assert.Contains(t, raw.String(), "var='urn:example:ext'")
	assert.Equal(t, int32(1), sawPresence.Load())

	require.NoError(t, s.Close(ctx))
	require.NoError(t, srv.Close())
	assert.Equal(t, int32(1), ended.Load())
}

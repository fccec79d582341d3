//go:build interop

package im_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/im"
	"github.com/parleyim/parley/internal/testkit/syncbuf"
	"github.com/parleyim/parley/internal/testkit/xmppd"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/ping"
	"github.com/parleyim/parley/presence"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// iclient is one resource logged in to a real server with a roster,
// presence that approves every request, and an im Manager.
type iclient struct {
	*inbox
	p *presence.Manager
	s *session.Session
}

func interopLogin(t *testing.T, srv *xmppd.Server, user, resource string, opts *im.Options) *iclient {
	t.Helper()
	c := &iclient{inbox: newInbox(opts)}
	c.p = presence.Handle(c.mux, c.r, nil)
	c.p.HandleRequest(func(context.Context, *session.Session, presence.Request) presence.Decision { return presence.Approve })
	trace := &syncbuf.Buffer{}
	cfg := &session.Config{Addr: srv.Addr, TLSConfig: srv.TLSConfig(), Mux: c.mux, KeepAlive: -1, Resource: resource, Trace: trace}
	s, err := session.Dial(ctxT(t), jid.MustParse(user+"@"+srv.Domain), srv.Users[user], cfg)
	require.NoError(t, err, "%s logs in to %s", user, srv.Kind)
	closeAtEnd(t, s)
	t.Cleanup(func() {
		if t.Failed() {
			tr := trace.String()
			t.Logf("trace of %s (last 6000 bytes):\n%s", s.Addr(), tr[max(0, len(tr)-6000):])
		}
	})
	c.s = s
	return c
}

// waitSubscription waits until c's roster has contact with subscription
// sub.
func (c *iclient) waitSubscription(t *testing.T, contact jid.JID, sub roster.Subscription) {
	t.Helper()
	require.Eventually(t, func() bool {
		it, ok := c.r.Cache().Item(contact)
		return ok && it.Subscription == sub
	}, 10*time.Second, 20*time.Millisecond, "%s: %s with subscription %v", c.s.Addr(), contact, sub)
}

// TestInteropIM runs the steps between two Parley clients on each
// server: a normal message with a thread and its parent, a subject and
// bodies in two languages; a receipt round trip between mutual
// subscribers; chat states through conversations; the error for a message
// to an account that does not exist; a message stored while its recipient
// was offline, delivered with its delay; and stanza-ids where the server
// announces them.
func TestInteropIM(t *testing.T) {
	for _, kind := range xmppd.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			srv := xmppd.Start(t, kind, xmppd.Options{})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			alice := jid.MustParse("alice@" + srv.Domain)
			bob := jid.MustParse("bob@" + srv.Domain)

			b := interopLogin(t, srv, "bob", "desk", &im.Options{Receipts: im.ReceiptsToSubscribers})
			a := interopLogin(t, srv, "alice", "phone", &im.Options{RequestReceipts: true})
			t.Logf("%s announces urn:xmpp:sid:0 for accounts: %v", kind, a.m.StanzaIDs())

			// Mutual subscription, approved by the handlers.
			require.NoError(t, a.p.Subscribe(ctx, a.s, bob))
			a.waitSubscription(t, bob, roster.SubscriptionTo)
			require.NoError(t, b.p.Subscribe(ctx, b.s, alice))
			b.waitSubscription(t, alice, roster.SubscriptionBoth)
			a.waitSubscription(t, bob, roster.SubscriptionBoth)

			// A normal message with everything RFC 6121 §5.2 gives it.
			sent := &stanza.Message{
				Header:  stanza.Header{To: bob, Lang: "en"},
				Subject: "Plans", AltSubjects: []stanza.Text{{Lang: "fr", Value: "Projets"}},
				Body: "Dinner at eight?", AltBodies: []stanza.Text{{Lang: "fr", Value: "Dîner à huit heures ?"}},
				Thread: stanza.Thread{ID: "plans-2", Parent: "plans-1"},
			}
			id, err := a.m.Send(ctx, a.s, sent)
			require.NoError(t, err)
			got := b.waitID(t, id)
			assert.Equal(t, a.s.Addr(), got.From)
			assert.Equal(t, stanza.MessageNormal, got.Type)
			assert.Equal(t, "Plans", got.Subject)
			assert.Equal(t, sent.AltSubjects, got.AltSubjects)
			assert.Equal(t, "Dinner at eight?", got.Body)
			assert.Equal(t, sent.AltBodies, got.AltBodies)
			assert.Equal(t, sent.Thread, got.Message.Thread)
			assert.Equal(t, im.OriginID(id), got.OriginID)
			assert.NoError(t, got.Fault)
			if b.m.StanzaIDs() {
				assert.NotEmpty(t, got.StanzaID, "%s announces stanza-ids and archives: the message has its id", kind)
			}

			// bob acknowledged it: alice is his subscriber.
			ack, _ := a.wait(t, "the receipt of "+id, func(m *im.Message) bool { return m.Receipt == im.Receipt(id) })
			assert.Equal(t, b.s.Addr(), ack.From)

			// Conversations and chat states: bob answers in alice's thread
			// with active, which tells alice that he does chat states.
			conv := a.m.Conversation(bob)
			cid, err := conv.Send(ctx, a.s, "are you there?")
			require.NoError(t, err)
			first := b.waitID(t, cid)
			assert.Equal(t, im.Active, first.ChatState)
			_, err = b.m.Conversation(alice).Send(ctx, b.s, "yes")
			require.NoError(t, err)
			reply, _ := a.waitBody(t, "yes")
			assert.Equal(t, conv.Thread(), reply.Message.Thread.ID)
			assert.Equal(t, b.s.Addr(), conv.To(), "locked onto bob's resource")
			require.NoError(t, conv.SendState(ctx, a.s, im.Composing))
			require.NoError(t, conv.SendState(ctx, a.s, im.Paused))
			_, err = conv.Send(ctx, a.s, "good")
			require.NoError(t, err)
			_, before := b.waitBody(t, "good")
			var states []im.ChatState
			for _, m := range before {
				if m.From == a.s.Addr() && m.Body == "" && m.ChatState != im.NoChatState {
					states = append(states, m.ChatState)
				}
			}
			assert.Equal(t, []im.ChatState{im.Composing, im.Paused}, states)

			// A message to an account that does not exist: its error, with
			// the message's id.
			nobody := jid.MustParse("nobody@" + srv.Domain)
			eid, err := a.m.Conversation(nobody).Send(ctx, a.s, "hello?")
			require.NoError(t, err)
			e := a.waitID(t, eid)
			assert.Equal(t, stanza.MessageError, e.Type)
			require.NotNil(t, e.Error)
			assert.True(t, errors.Is(e.Error, stanza.ServiceUnavailable), "%s: %v", kind, e.Error)

			// bob goes offline; alice writes; bob gets it at his next login,
			// with the server's delay stamp.
			require.NoError(t, b.s.Close(ctx))
			require.Eventually(t, func() bool { return len(a.p.Tracker().Resources(bob)) == 0 }, 10*time.Second, 20*time.Millisecond)
			before2 := time.Now().UTC().Add(-time.Second).Truncate(time.Second)
			oid, err := a.m.Conversation(bob).Send(ctx, a.s, "while you were out")
			require.NoError(t, err)
			assert.Equal(t, bob, a.m.Conversation(bob).To(), "bob's resource went offline: unlocked")
			// A ping round trip: the server has handled the message.
			_, err = ping.Send(ctx, a.s, jid.MustParse(srv.Domain))
			require.NoError(t, err)
			b2 := interopLogin(t, srv, "bob", "desk", nil)
			late := b2.waitID(t, oid)
			assert.Equal(t, "while you were out", late.Body)
			require.Len(t, late.Delays, 1, "%s stamps the stored message", kind)
			d := late.Delays[0]
			assert.Equal(t, srv.Domain, d.From.String())
			assert.False(t, d.Stamp.Before(before2), "stamp %v not before %v", d.Stamp, before2)
			assert.False(t, d.Stamp.After(time.Now().Add(time.Minute)), "stamp %v in the future", d.Stamp)
			assert.Equal(t, alice, b2.m.Conversation(alice).To(), "a delayed message does not lock")
		})
	}
}

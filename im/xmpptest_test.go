package im_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/im"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/presence"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
	"github.com/parleyim/parley/xmpptest"
)

// The im package between clients on xmpptest, whose routing and offline
// storage were matched against Prosody and ejabberd: conversations that
// lock and unlock across resources, threads, receipts, chat states and
// errors, seen from both ends.

var (
	alice = jid.MustParse("alice@example.test")
	bob   = jid.MustParse("bob@example.test")
	carol = jid.MustParse("carol@example.test")
)

// newXServer starts an xmpptest server with the accounts alice, bob and
// carol (password "pw"); alice and bob have subscriptions both ways.
func newXServer(t *testing.T) *xmpptest.Server {
	t.Helper()
	srv := xmpptest.NewServer(t, nil)
	for _, u := range []string{"alice", "bob", "carol"} {
		_, err := srv.AddUser(u, "pw")
		require.NoError(t, err)
	}
	require.NoError(t, srv.SetRosterItem(alice, roster.Item{JID: bob, Subscription: roster.SubscriptionBoth}))
	require.NoError(t, srv.SetRosterItem(bob, roster.Item{JID: alice, Subscription: roster.SubscriptionBoth}))
	return srv
}

// xclient is one resource logged in to xmpptest with a roster, presence
// and an im Manager, what the Manager handed the application (the inbox)
// and the presence it saw, recorded after the Manager's own handler ran.
type xclient struct {
	*inbox
	p *presence.Manager
	s *session.Session

	seen chan *stanza.Presence
}

// xlogin logs full ("alice/home") in to srv with opts.
func xlogin(t *testing.T, srv *xmpptest.Server, full string, opts *im.Options) *xclient {
	t.Helper()
	c := &xclient{inbox: newInbox(opts), seen: make(chan *stanza.Presence, 64)}
	c.p = presence.Handle(c.mux, c.r, nil)
	c.mux.HandlePresenceFunc(session.PresenceRoute{}, func(_ context.Context, _ *session.Session, p *stanza.Presence) {
		select {
		case c.seen <- p:
		default:
		}
	})
	user, res, _ := strings.Cut(full, "/")
	var err error
	c.s, err = srv.Connect(ctxT(t), jid.MustParse(user+"@example.test/"+res), "pw", &session.Config{Mux: c.mux, KeepAlive: -1})
	require.NoError(t, err, "%s logs in", full)
	closeAtEnd(t, c.s)
	return c
}

// waitPresence waits until c has handled a presence from from with status
// (all of c's handlers, the Manager's first, have run for it).
func (c *xclient) waitPresence(t *testing.T, from jid.JID, typ stanza.PresenceType, status string) {
	t.Helper()
	for {
		select {
		case p := <-c.seen:
			if p.From == from && p.Type == typ && p.Status == status {
				return
			}
		case <-ctxT(t).Done():
			t.Fatalf("timed out waiting for presence %q %q from %s", typ, status, from)
		}
	}
}

// bodiesFrom returns the bodies of the messages c received from the bare
// JID from, in order.
func (c *xclient) bodiesFrom(from jid.JID) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.msgs {
		if m.From.Bare() == from && m.Body != "" {
			out = append(out, m.Body)
		}
	}
	return out
}

// send sends a chat message with body from c to to, outside any
// conversation.
func (c *xclient) send(t *testing.T, to jid.JID, body string) {
	t.Helper()
	require.NoError(t, c.s.Send(ctxT(t), &stanza.Message{Header: stanza.Header{To: to}, Type: stanza.MessageChat, Body: body}))
}

func TestConversationLocksAndUnlocks(t *testing.T) {
	t.Parallel()
	srv := newXServer(t)
	bobA := xlogin(t, srv, "bob/a", nil)
	bobB := xlogin(t, srv, "bob/b", nil)
	a := xlogin(t, srv, "alice/home", nil)
	// alice has seen both of bob's resources online.
	a.waitPresence(t, bobA.s.Addr(), stanza.PresenceAvailable, "")
	a.waitPresence(t, bobB.s.Addr(), stanza.PresenceAvailable, "")

	conv := a.m.Conversation(bob)
	ctx := ctxT(t)
	assert.Equal(t, bob, conv.To(), "unlocked: the bare JID")
	_, err := conv.Send(ctx, a.s, "one")
	require.NoError(t, err)
	// Both resources have priority 0: the server gives the bare-JID
	// message to both.
	bobA.waitBody(t, "one")
	bobB.waitBody(t, "one")

	// bob/a answers: alice's conversation locks onto bob/a.
	bobA.send(t, a.s.Addr(), "from a")
	a.waitBody(t, "from a")
	assert.Equal(t, bobA.s.Addr(), conv.To())
	_, err = conv.Send(ctx, a.s, "two")
	require.NoError(t, err)
	bobA.waitBody(t, "two")
	// bob/b did not get "two": the control sent to bob/b afterwards is the
	// next thing it has from alice.
	a.send(t, bobB.s.Addr(), "control b")
	bobB.waitBody(t, "control b")
	assert.Equal(t, []string{"one", "control b"}, bobB.bodiesFrom(alice))

	// bob/b writes: the lock moves to the resource that last wrote.
	bobB.send(t, a.s.Addr(), "from b")
	a.waitBody(t, "from b")
	assert.Equal(t, bobB.s.Addr(), conv.To())

	// bob/b changes its presence: unlocked.
	require.NoError(t, bobB.p.SetAvailable(ctx, bobB.s, presence.Available{Show: stanza.ShowAway, Status: "lunch"}))
	a.waitPresence(t, bobB.s.Addr(), stanza.PresenceAvailable, "lunch")
	assert.Equal(t, bob, conv.To(), "unlocked by bob/b's presence")

	// Locked onto bob/a again, then bob/a goes offline: unlocked.
	bobA.send(t, a.s.Addr(), "from a again")
	a.waitBody(t, "from a again")
	assert.Equal(t, bobA.s.Addr(), conv.To())
	require.NoError(t, bobA.s.Close(ctx))
	a.waitPresence(t, bobA.s.Addr(), stanza.PresenceUnavailable, "")
	assert.Equal(t, bob, conv.To(), "unlocked by bob/a going offline")

	// Presence from a resource it is not locked onto leaves a lock alone.
	bobB.send(t, a.s.Addr(), "from b again")
	a.waitBody(t, "from b again")
	c2 := xlogin(t, srv, "bob/c", nil)
	a.waitPresence(t, c2.s.Addr(), stanza.PresenceAvailable, "")
	assert.Equal(t, bobB.s.Addr(), conv.To())
}

func TestConversationThread(t *testing.T) {
	t.Parallel()
	srv := newXServer(t)
	b := xlogin(t, srv, "bob/a", nil)
	a := xlogin(t, srv, "alice/home", nil)
	ctx := ctxT(t)

	conv := a.m.Conversation(bob)
	thread := conv.Thread()
	require.NotEmpty(t, thread)
	id, err := conv.Send(ctx, a.s, "hello")
	require.NoError(t, err)
	got, _ := b.waitBody(t, "hello")
	assert.Equal(t, id, got.ID)
	assert.Equal(t, stanza.MessageChat, got.Type)
	assert.Equal(t, thread, got.Message.Thread.ID, "the message carries the conversation's thread")
	assert.Equal(t, im.OriginID(id), got.OriginID, "and an origin-id equal to its id")
	assert.Equal(t, im.Active, got.ChatState, "and active: bob's chat states are not known yet")

	// bob's conversation with alice takes her thread; his reply carries it.
	bconv := b.m.Conversation(alice)
	assert.Equal(t, thread, bconv.Thread())
	_, err = bconv.Send(ctx, b.s, "hi")
	require.NoError(t, err)
	reply, _ := a.waitBody(t, "hi")
	assert.Equal(t, thread, reply.Message.Thread.ID)

	// bob starts a new thread (with the old one as its parent): alice's
	// conversation follows it.
	require.NoError(t, b.s.Send(ctx, &stanza.Message{Header: stanza.Header{To: a.s.Addr()}, Type: stanza.MessageChat,
		Body: "new topic", Thread: stanza.Thread{ID: "t2", Parent: thread}}))
	m, _ := a.waitBody(t, "new topic")
	assert.Equal(t, stanza.Thread{ID: "t2", Parent: thread}, m.Message.Thread)
	assert.Equal(t, "t2", conv.Thread())
}

func TestSendMessageKinds(t *testing.T) {
	t.Parallel()
	srv := newXServer(t)
	b := xlogin(t, srv, "bob/a", nil)
	a := xlogin(t, srv, "alice/home", &im.Options{RequestReceipts: true})
	ctx := ctxT(t)

	msgs := []*stanza.Message{
		{Header: stanza.Header{To: bob, Lang: "en"}, Type: stanza.MessageNormal,
			Subject: "Plans", AltSubjects: []stanza.Text{{Lang: "fr", Value: "Projets"}},
			Body: "Dinner?", AltBodies: []stanza.Text{{Lang: "fr", Value: "Dîner ?"}},
			Thread: stanza.Thread{ID: "t-child", Parent: "t-parent"}},
		{Header: stanza.Header{To: bob}, Type: stanza.MessageHeadline, Subject: "News", Body: "It rains"},
		{Header: stanza.Header{To: bob, ID: "mine"}, Type: stanza.MessageChat, Body: "own id"},
	}
	for i, msg := range msgs {
		before := *msg
		id, err := a.m.Send(ctx, a.s, msg)
		require.NoError(t, err, "message %d", i)
		assert.Equal(t, before, *msg, "Send does not modify the message")
		got := b.waitID(t, id)
		assert.Equal(t, msg.Type, got.Type)
		assert.Equal(t, msg.Subject, got.Subject)
		assert.Equal(t, msg.AltSubjects, got.AltSubjects)
		assert.Equal(t, msg.Body, got.Body)
		assert.Equal(t, msg.AltBodies, got.AltBodies)
		assert.Equal(t, msg.Thread, got.Message.Thread)
		assert.Equal(t, im.OriginID(id), got.OriginID)
		assert.Equal(t, msg.Type != stanza.MessageHeadline, got.ReceiptRequest,
			"a receipt is requested on chat and normal messages, not on headlines")
	}
	own, _ := b.waitBody(t, "own id")
	assert.Equal(t, "mine", own.ID, "an id the message has is kept")

	// What Send refuses, it refuses before sending.
	bad := []*stanza.Message{
		nil,
		{Body: "no recipient"},
		{Header: stanza.Header{To: bob}, Type: stanza.MessageError, Body: "x"},
		{Header: stanza.Header{To: bob}, Type: stanza.MessageGroupChat, Body: "x"},
		{Header: stanza.Header{To: bob}, Type: "bogus", Body: "x"},
		{Header: stanza.Header{To: bob}, Body: "parent only", Thread: stanza.Thread{Parent: "p"}},
	}
	for i, msg := range bad {
		_, err := a.m.Send(ctx, a.s, msg)
		assert.ErrorIs(t, err, im.ErrNotSendable, "bad message %d", i)
	}
	a.send(t, bob, "control")
	b.waitBody(t, "control")
	assert.Equal(t, []string{"Dinner?", "It rains", "own id", "control"}, b.bodiesFrom(alice))
}

func TestReceiptRoundTrip(t *testing.T) {
	t.Parallel()
	srv := newXServer(t)
	b := xlogin(t, srv, "bob/a", &im.Options{Receipts: im.ReceiptsToSubscribers})
	cl := xlogin(t, srv, "carol/a", &im.Options{Receipts: im.ReceiptsToSubscribers})
	a := xlogin(t, srv, "alice/home", &im.Options{RequestReceipts: true})
	ctx := ctxT(t)

	// bob has alice with subscription both: he acknowledges, by id.
	id, err := a.m.Conversation(bob).Send(ctx, a.s, "did you get this?")
	require.NoError(t, err)
	ack, _ := a.wait(t, "the receipt", func(m *im.Message) bool { return m.Receipt != "" })
	assert.Equal(t, im.Receipt(id), ack.Receipt)
	assert.Equal(t, b.s.Addr(), ack.From)

	// carol has no subscription to alice: alice may not learn that she is
	// online, so no receipt. carol answers a marker after the request
	// (her handlers run in order, the receipt decision before the marker's),
	// and that answer is the next thing alice gets from carol.
	cid, err := a.m.Conversation(carol).Send(ctx, a.s, "carol?")
	require.NoError(t, err)
	cl.waitID(t, cid)
	cl.m.HandleMessage(func(ctx context.Context, s *session.Session, m *im.Message) {
		if m.Body == "marker" {
			_ = s.Send(ctx, m.Reply("after marker"))
		}
	})
	a.send(t, carol, "marker")
	_, before := a.waitBody(t, "after marker")
	for _, m := range before {
		assert.NotEqual(t, carol, m.From.Bare(), "alice got %v from carol before the marker's answer", m.Extensions)
	}
}

func TestChatStates(t *testing.T) {
	t.Parallel()
	srv := newXServer(t)
	b := xlogin(t, srv, "bob/a", nil)
	a := xlogin(t, srv, "alice/home", nil)
	ctx := ctxT(t)
	conv := a.m.Conversation(bob)

	// bob has shown nothing: no standalone notification goes out.
	require.NoError(t, conv.SendState(ctx, a.s, im.Composing))
	_, err := conv.Send(ctx, a.s, "first")
	require.NoError(t, err)
	first, before := b.waitBody(t, "first")
	assert.Empty(t, before, "no composing before the first message")
	assert.Equal(t, im.Active, first.ChatState)

	// bob answers with a chat state: alice may now send notifications, each
	// once in a row.
	_, err = b.m.Conversation(alice).Send(ctx, b.s, "reply")
	require.NoError(t, err)
	a.waitBody(t, "reply")
	for _, st := range []im.ChatState{im.Composing, im.Composing, im.Paused, im.Composing, im.Inactive} {
		require.NoError(t, conv.SendState(ctx, a.s, st))
	}
	_, err = conv.Send(ctx, a.s, "second")
	require.NoError(t, err)
	_, before = b.waitBody(t, "second")
	var states []string
	for _, m := range before[1:] {
		assert.Empty(t, m.Body)
		assert.Equal(t, stanza.MessageChat, m.Type)
		assert.Equal(t, conv.Thread(), m.Message.Thread.ID, "notifications carry the thread")
		states = append(states, m.ChatState.String())
	}
	assert.Equal(t, []string{"composing", "paused", "composing", "inactive"}, states)

	// A content message without a chat state: bob's client does not do
	// them. alice sends no more notifications and no active.
	b.send(t, a.s.Addr(), "plain")
	a.waitBody(t, "plain")
	require.NoError(t, conv.SendState(ctx, a.s, im.Composing))
	_, err = conv.Send(ctx, a.s, "third")
	require.NoError(t, err)
	third, before := b.waitBody(t, "third")
	assert.Equal(t, "second", before[len(before)-1].Body, "no notification between second and third")
	assert.Equal(t, im.NoChatState, third.ChatState)

	// gone from bob unlocks alice's conversation.
	require.NoError(t, b.s.Send(ctx, &stanza.Message{Header: stanza.Header{To: a.s.Addr(), ID: "g"}, Type: stanza.MessageChat, Extensions: []stanza.Payload{im.Gone}}))
	a.waitID(t, "g")
	assert.Equal(t, bob, conv.To())

	assert.ErrorContains(t, conv.SendState(ctx, a.s, im.NoChatState), "not a chat state")
	assert.ErrorContains(t, conv.SendState(ctx, a.s, im.ChatState(99)), "not a chat state")
}

func TestErrorReachesSender(t *testing.T) {
	t.Parallel()
	srv := newXServer(t)
	a := xlogin(t, srv, "alice/home", nil)
	nobody := jid.MustParse("nobody@example.test")
	conv := a.m.Conversation(nobody)
	id, err := conv.Send(ctxT(t), a.s, "anyone there?")
	require.NoError(t, err)
	m := a.waitID(t, id)
	assert.Equal(t, stanza.MessageError, m.Type)
	require.NotNil(t, m.Error)
	assert.True(t, errors.Is(m.Error, stanza.ServiceUnavailable), "got %v", m.Error)
}

func TestDelayedMessageDoesNotLock(t *testing.T) {
	t.Parallel()
	srv := newXServer(t)
	// bob writes while alice is offline; the server stores the message.
	b := xlogin(t, srv, "bob/a", nil)
	b.send(t, alice, "while you were out")
	b.send(t, b.s.Addr(), "sync") // to himself: the server has handled the first
	b.waitBody(t, "sync")
	a := xlogin(t, srv, "alice/home", nil)
	m, _ := a.waitBody(t, "while you were out")
	require.Len(t, m.Delays, 1, "delivered from offline storage, with its delay")
	assert.Equal(t, srv.Domain(), m.Delays[0].From)
	assert.Equal(t, bob, a.m.Conversation(bob).To(), "a delayed message does not lock")
}

func TestConversationsAreBounded(t *testing.T) {
	t.Parallel()
	srv := newXServer(t)
	a := xlogin(t, srv, "alice/home", &im.Options{MaxConversations: 3})
	for i := range 5 {
		from := jid.MustParse("stranger" + strconv.Itoa(i) + "@example.org/x")
		require.NoError(t, srv.Inject(a.s.Addr(), &stanza.Message{Header: stanza.Header{From: from, ID: "s" + strconv.Itoa(i)}, Type: stanza.MessageChat, Body: "hi"}))
	}
	a.waitID(t, "s4")
	assert.Equal(t, []jid.JID{
		jid.MustParse("stranger4@example.org"),
		jid.MustParse("stranger3@example.org"),
		jid.MustParse("stranger2@example.org"),
	}, a.m.Conversations(), "the three most recent, most recent first")
	// Asking where a message would go keeps nothing and moves nothing.
	stranger2 := a.m.Conversation(jid.MustParse("stranger2@example.org"))
	assert.Equal(t, jid.MustParse("stranger2@example.org/x"), stranger2.To())
	assert.Equal(t, bob, a.m.Conversation(bob).To())
	assert.Equal(t, jid.MustParse("stranger4@example.org"), a.m.Conversations()[0])
	assert.Len(t, a.m.Conversations(), 3)
	// Using one moves it to the front; a new one then pushes out the idlest.
	stranger2.Thread()
	a.m.Conversation(bob).Thread()
	assert.Equal(t, []jid.JID{bob, jid.MustParse("stranger2@example.org"), jid.MustParse("stranger4@example.org")}, a.m.Conversations())
	// A forgotten conversation starts afresh, unlocked.
	assert.Equal(t, jid.MustParse("stranger3@example.org"), a.m.Conversation(jid.MustParse("stranger3@example.org")).To())
}

func TestNewStreamUnlocks(t *testing.T) {
	t.Parallel()
	srv := newXServer(t)
	b := xlogin(t, srv, "bob/a", nil)
	a := xlogin(t, srv, "alice/home", nil)
	conv := a.m.Conversation(bob)
	thread := conv.Thread()
	b.send(t, a.s.Addr(), "hi")
	a.waitBody(t, "hi")
	require.Equal(t, b.s.Addr(), conv.To())

	// alice's client reconnects with the same Mux.
	require.NoError(t, a.s.Close(ctxT(t)))
	s, err := srv.Connect(ctxT(t), jid.MustParse("alice@example.test/home"), "pw", &session.Config{Mux: a.mux, KeepAlive: -1})
	require.NoError(t, err)
	closeAtEnd(t, s)
	assert.Equal(t, bob, conv.To(), "a new stream unlocks")
	assert.Equal(t, thread, conv.Thread(), "and keeps the thread")
}

// Conversations are safe for concurrent use: goroutines send in one while
// bob's resources write to alice (moving the lock) and change presence
// (unlocking it). Every message arrives, at one of bob's resources, and
// the race detector sees the Manager's state under its lock.
func TestConversationConcurrent(t *testing.T) {
	t.Parallel()
	srv := newXServer(t)
	bobA := xlogin(t, srv, "bob/a", nil)
	bobB := xlogin(t, srv, "bob/b", nil)
	a := xlogin(t, srv, "alice/home", nil)
	a.waitPresence(t, bobA.s.Addr(), stanza.PresenceAvailable, "")
	a.waitPresence(t, bobB.s.Addr(), stanza.PresenceAvailable, "")
	conv := a.m.Conversation(bob)
	ctx := ctxT(t)

	const senders, each = 4, 25
	done := make(chan error, senders+2)
	for g := range senders {
		go func() {
			for i := range each {
				if _, err := conv.Send(ctx, a.s, "m"+strconv.Itoa(g)+"-"+strconv.Itoa(i)); err != nil {
					done <- err
					return
				}
				_ = conv.SendState(ctx, a.s, im.Composing)
				_ = conv.To()
			}
			done <- nil
		}()
	}
	for _, b := range []*xclient{bobA, bobB} {
		go func() {
			for i := range each {
				if err := b.s.Send(ctx, &stanza.Message{Header: stanza.Header{To: a.s.Addr()}, Type: stanza.MessageChat,
					Body: "b" + strconv.Itoa(i), Extensions: []stanza.Payload{im.Active}}); err != nil {
					done <- err
					return
				}
				if i%5 == 0 {
					if err := b.p.SetAvailable(ctx, b.s, presence.Available{Status: strconv.Itoa(i)}); err != nil {
						done <- err
						return
					}
				}
			}
			done <- nil
		}()
	}
	for range senders + 2 {
		require.NoError(t, <-done)
	}
	// Every message of alice's reached bob: at a resource it was locked
	// onto, or at both when it went to the bare JID.
	a.send(t, bobA.s.Addr(), "end a")
	a.send(t, bobB.s.Addr(), "end b")
	bobA.waitBody(t, "end a")
	bobB.waitBody(t, "end b")
	got := make(map[string]bool)
	for _, b := range []*xclient{bobA, bobB} {
		for _, body := range b.bodiesFrom(alice) {
			got[body] = true
		}
	}
	for g := range senders {
		for i := range each {
			assert.True(t, got["m"+strconv.Itoa(g)+"-"+strconv.Itoa(i)], "message %d-%d lost", g, i)
		}
	}
}

package xmpptest_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
	"github.com/parleyim/parley/xmpptest"
)

// presence waits for the next presence in.
func (in *inbox) presence(t *testing.T) *stanza.Presence {
	t.Helper()
	select {
	case p := <-in.pres:
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("no presence arrived")
		return nil
	}
}

func (in *inbox) noPresence(t *testing.T) {
	t.Helper()
	select {
	case p := <-in.pres:
		t.Fatalf("unexpected presence %+v", p)
	case <-time.After(100 * time.Millisecond):
	}
}

// Subscriptions seeded with SetRosterItem are the server's state: a
// resource's initial presence brings the presence of the contacts it is
// subscribed to, and reaches the contacts subscribed to it.
func TestSeededSubscriptions(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	alice, bob := account(srv, "alice"), account(srv, "bob")
	require.NoError(t, srv.SetRosterItem(alice, roster.Item{JID: bob, Subscription: roster.SubscriptionBoth}))
	require.NoError(t, srv.SetRosterItem(bob, roster.Item{JID: alice, Subscription: roster.SubscriptionBoth}))

	b, bin := login(t, srv, "bob/phone", nil)
	require.NoError(t, b.Send(ctx(t), &stanza.Presence{Show: stanza.ShowAway}))
	assert.Equal(t, b.Addr(), bin.presence(t).From, "the echo")

	a, ain := login(t, srv, "alice/desk", nil)
	require.NoError(t, a.Send(ctx(t), &stanza.Presence{}))
	assert.Equal(t, a.Addr(), ain.presence(t).From, "the echo")
	p := ain.presence(t)
	assert.Equal(t, b.Addr(), p.From, "bob's presence, for alice's probe")
	assert.Equal(t, stanza.ShowAway, p.Show)
	assert.Equal(t, a.Addr(), bin.presence(t).From, "alice's broadcast")
}

// A bind that replaces a resource makes the old one unavailable to its
// contacts before the new one is bound.
func TestReplacedResourceUnavailable(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	alice, bob := account(srv, "alice"), account(srv, "bob")
	require.NoError(t, srv.SetRosterItem(alice, roster.Item{JID: bob, Subscription: roster.SubscriptionFrom}))
	require.NoError(t, srv.SetRosterItem(bob, roster.Item{JID: alice, Subscription: roster.SubscriptionTo}))
	b, bin := login(t, srv, "bob/phone", nil)
	require.NoError(t, b.Send(ctx(t), &stanza.Presence{}))
	bin.presence(t) // the echo

	old, _ := login(t, srv, "alice/desk", nil)
	require.NoError(t, old.Send(ctx(t), &stanza.Presence{}))
	assert.Equal(t, stanza.PresenceAvailable, bin.presence(t).Type)

	_, _ = login(t, srv, "alice/desk", nil)
	p := bin.presence(t)
	assert.Equal(t, stanza.PresenceUnavailable, p.Type)
	assert.Equal(t, old.Addr(), p.From)
	<-old.Done()
	bin.noPresence(t)
}

// Subscription stanzas that go nowhere: without a 'to' (bad-request,
// as Prosody answers), to another domain (remote-server-not-found, after
// the user's side has changed: the request is pending), to oneself
// (dropped).
func TestSubscriptionNowhere(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	a, ain := login(t, srv, "alice", nil)

	require.NoError(t, a.Send(ctx(t), &stanza.Presence{Header: stanza.Header{ID: "s1"}, Type: stanza.PresenceSubscribe}))
	p := ain.presence(t)
	assert.Equal(t, stanza.PresenceError, p.Type)
	assert.Equal(t, "s1", p.ID)
	require.NotNil(t, p.Error)
	assert.Equal(t, stanza.BadRequest, p.Error.Condition)

	far := jid.MustParse("dave@far.test")
	require.NoError(t, a.Send(ctx(t), &stanza.Presence{Header: stanza.Header{ID: "s2", To: far}, Type: stanza.PresenceSubscribe}))
	p = ain.presence(t)
	assert.Equal(t, stanza.PresenceError, p.Type)
	require.NotNil(t, p.Error)
	assert.Equal(t, stanza.RemoteServerNotFound, p.Error.Condition)
	r, err := srv.Roster(account(srv, "alice"))
	require.NoError(t, err)
	require.Len(t, r.Items, 1)
	assert.True(t, r.Items[0].Ask, "the request is pending on the user's side")

	require.NoError(t, a.Send(ctx(t), &stanza.Presence{Header: stanza.Header{To: a.Addr().Bare()}, Type: stanza.PresenceSubscribe}))
	syncServer(t, a)
	ain.noPresence(t)
}

// NoPreApproval: no stream feature, and a subscribed that answers no
// request changes nothing, as on ejabberd.
func TestNoPreApproval(t *testing.T) {
	t.Parallel()
	srv := newServer(t, &xmpptest.Config{NoPreApproval: true})
	a, _ := login(t, srv, "alice", nil)
	assert.False(t, a.Features().PreApproval)
	require.NoError(t, a.Send(ctx(t), &stanza.Presence{Header: stanza.Header{To: account(srv, "bob")}, Type: stanza.PresenceSubscribed}))
	syncServer(t, a)
	r, err := srv.Roster(account(srv, "alice"))
	require.NoError(t, err)
	assert.Empty(t, r.Items)

	srv2 := newServer(t, nil)
	a2, _ := login(t, srv2, "alice", &session.Config{})
	assert.True(t, a2.Features().PreApproval)
}

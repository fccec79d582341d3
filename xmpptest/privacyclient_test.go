package xmpptest_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/privacy"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// Parley's privacy package against xmpptest: the client's requests, the
// Manager's pushes and both ways of blocking a contact, with what the
// server then delivers.

// jidStrings returns the JIDs as strings.
func jidStrings(js []jid.JID) []string {
	out := make([]string, len(js))
	for i, j := range js {
		out[i] = j.String()
	}
	return out
}

// TestPrivacyPackage runs the privacy list requests and the Manager
// against the server.
func TestPrivacyPackage(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	in, mux := newInbox()
	m := privacy.Handle(mux)
	pushes := make(chan string, 16)
	m.HandleListPush(func(_ context.Context, _ *session.Session, name string) { pushes <- name })
	alice, err := srv.Connect(ctx(t), account(srv, "alice/a"), "pw-alice", &session.Config{Mux: mux, KeepAlive: -1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = alice.Close(context.Background()) })
	bob, bobIn := login(t, srv, "bob/b", nil)

	l := privacy.List{Name: "work", Items: []privacy.Item{
		{Type: privacy.TypeJID, Value: "bob@example.test", Action: privacy.Deny, Order: 2, Kinds: privacy.Message},
		{Type: privacy.TypeSubscription, Value: privacy.SubscriptionBoth, Action: privacy.Allow, Order: 1},
	}}
	require.NoError(t, privacy.SetList(ctx(t), alice, l))
	select {
	case name := <-pushes:
		assert.Equal(t, "work", name)
	case <-time.After(10 * time.Second):
		t.Fatal("no privacy list push")
	}
	got, err := privacy.GetList(ctx(t), alice, "work")
	require.NoError(t, err)
	assert.Equal(t, l.Sorted(), got.Sorted())

	require.NoError(t, m.SetActive(ctx(t), alice, "work"))
	names, err := privacy.ListNames(ctx(t), alice)
	require.NoError(t, err)
	assert.Equal(t, privacy.Names{Active: "work", Lists: []string{"work"}}, names)

	toAlice := &stanza.Message{Header: stanza.Header{To: account(srv, "alice/a")}, Type: stanza.MessageChat}
	toAlice.Body = "refused"
	require.NoError(t, bob.Send(ctx(t), toAlice))
	e := bobIn.message(t)
	require.Equal(t, stanza.MessageError, e.Type)
	assert.Equal(t, stanza.ServiceUnavailable, e.Error.Condition)

	require.NoError(t, m.DeclineActive(ctx(t), alice))
	toAlice.Body = "after"
	require.NoError(t, bob.Send(ctx(t), toAlice))
	assert.Equal(t, "after", in.message(t).Body)

	assert.ErrorIs(t, privacy.RemoveList(ctx(t), alice, "nosuch"), stanza.ItemNotFound)
	assert.ErrorIs(t, privacy.SetActive(ctx(t), alice, "nosuch"), stanza.ItemNotFound)

	// A second resource without an active list: the default list is in
	// use by it once set.
	_, _ = login(t, srv, "alice/other", nil)
	require.NoError(t, privacy.SetList(ctx(t), alice, privacy.List{Name: "home", Items: []privacy.Item{{Action: privacy.Allow, Order: 1}}}))
	require.NoError(t, privacy.SetDefault(ctx(t), alice, "work"))
	assert.ErrorIs(t, privacy.SetDefault(ctx(t), alice, "home"), stanza.Conflict)
	assert.ErrorIs(t, privacy.DeclineDefault(ctx(t), alice), stanza.Conflict)
	assert.ErrorIs(t, privacy.RemoveList(ctx(t), alice, "work"), stanza.Conflict)
	require.NoError(t, privacy.RemoveList(ctx(t), alice, "home"))
}

// TestPrivacyPackageBlocking blocks a contact with the blocking command
// (xmpptest advertises it) and with the default list, and checks what
// is delivered.
func TestPrivacyPackageBlocking(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	alice, in := login(t, srv, "alice/a", nil)
	bob, bobIn := login(t, srv, "bob/b", nil)
	carol, _ := login(t, srv, "carol/c", nil)
	bobJID := account(srv, "bob")
	msg := func(from *session.Session, body string) {
		t.Helper()
		require.NoError(t, from.Send(ctx(t), &stanza.Message{Header: stanza.Header{To: account(srv, "alice/a")}, Type: stanza.MessageChat, Body: body}))
	}
	refused := func() {
		t.Helper()
		msg(bob, "refused")
		e := bobIn.message(t)
		require.Equal(t, stanza.MessageError, e.Type)
		assert.Equal(t, stanza.ServiceUnavailable, e.Error.Condition)
		msg(carol, "control")
		assert.Equal(t, "control", in.message(t).Body)
	}

	require.NoError(t, privacy.BlockContact(ctx(t), alice, bobJID))
	blocked, err := privacy.Blocklist(ctx(t), alice)
	require.NoError(t, err)
	assert.Equal(t, []string{"bob@example.test"}, jidStrings(blocked))
	refused()
	require.NoError(t, privacy.UnblockContact(ctx(t), alice, bobJID))
	msg(bob, "after unblock")
	assert.Equal(t, "after unblock", in.message(t).Body)

	require.NoError(t, privacy.BlockWithList(ctx(t), alice, bobJID))
	names, err := privacy.ListNames(ctx(t), alice)
	require.NoError(t, err)
	assert.Equal(t, privacy.DefaultListName, names.Default)
	refused()
	require.NoError(t, privacy.UnblockWithList(ctx(t), alice, bobJID))
	msg(bob, "after the list")
	assert.Equal(t, "after the list", in.message(t).Body)
}

package xmpptest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
	"github.com/parleyim/parley/xmpptest"
)

// setIQ sends an iq set with the payload xml and returns the error.
func setIQ(t *testing.T, s *session.Session, payload string) error {
	t.Helper()
	p, err := stanza.ParseRaw([]byte(payload))
	require.NoError(t, err)
	_, err = s.SendIQ(ctx(t), &stanza.IQ{Type: stanza.IQSet, Payload: p})
	return err
}

// TestPrivacyBounds fills an account's privacy lists and blocklist to
// their bounds: one more is refused with resource-constraint and changes
// nothing, while replacing a list or unblocking still works.
func TestPrivacyBounds(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	alice, _ := login(t, srv, "alice/bounds", nil)
	list := func(name string) string {
		return "<query xmlns='jabber:iq:privacy'><list name='" + name + "'><item action='deny' order='1'/></list></query>"
	}
	for i := range xmpptest.MaxPrivacyLists {
		require.NoError(t, setIQ(t, alice, list(fmt.Sprintf("l%d", i))))
	}
	err := setIQ(t, alice, list("one-too-many"))
	assert.ErrorIs(t, err, stanza.ResourceConstraint)
	assert.NoError(t, setIQ(t, alice, list("l0")), "replacing a list at the bound")
	err = setIQ(t, alice, "<query xmlns='jabber:iq:privacy'><active name='one-too-many'/></query>")
	assert.ErrorIs(t, err, stanza.ItemNotFound, "the refused list was not kept")

	var items strings.Builder
	for i := range xmpptest.MaxBlocked {
		fmt.Fprintf(&items, "<item jid='u%d@example.test'/>", i)
	}
	require.NoError(t, setIQ(t, alice, "<block xmlns='urn:xmpp:blocking'>"+items.String()+"</block>"))
	err = setIQ(t, alice, "<block xmlns='urn:xmpp:blocking'><item jid='bob@example.test'/></block>")
	assert.ErrorIs(t, err, stanza.ResourceConstraint)
	require.NoError(t, setIQ(t, alice, "<block xmlns='urn:xmpp:blocking'><item jid='u0@example.test'/></block>"), "blocking a JID blocked already")
	require.NoError(t, setIQ(t, alice, "<unblock xmlns='urn:xmpp:blocking'/>"))
	require.NoError(t, setIQ(t, alice, "<block xmlns='urn:xmpp:blocking'><item jid='bob@example.test'/></block>"))
}

// TestBlockedError checks the error a message to a blocked contact gets:
// not-acceptable with XEP-0191's <blocked/>; a privacy list's refusal has
// no <blocked/>.
func TestBlockedError(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	alice, in := login(t, srv, "alice/a", nil)
	_, _ = login(t, srv, "bob/b", nil)
	require.NoError(t, setIQ(t, alice, "<block xmlns='urn:xmpp:blocking'><item jid='bob@example.test'/></block>"))
	require.NoError(t, alice.Send(ctx(t), &stanza.Message{Header: stanza.Header{To: account(srv, "bob/b")}, Body: "hi"}))
	m := in.message(t)
	require.Equal(t, stanza.MessageError, m.Type)
	require.NotNil(t, m.Error)
	assert.Equal(t, stanza.NotAcceptable, m.Error.Condition)
	app, ok := m.Error.App.(*stanza.Raw)
	require.True(t, ok, "an application condition")
	assert.Equal(t, "urn:xmpp:blocking:errors", app.Name().Space)
	assert.Equal(t, "blocked", app.Name().Local)

	require.NoError(t, setIQ(t, alice, "<unblock xmlns='urn:xmpp:blocking'/>"))
	require.NoError(t, setIQ(t, alice, "<query xmlns='jabber:iq:privacy'><list name='l'><item type='jid' value='bob@example.test' action='deny' order='1'/></list></query>"))
	require.NoError(t, setIQ(t, alice, "<query xmlns='jabber:iq:privacy'><active name='l'/></query>"))
	require.NoError(t, alice.Send(ctx(t), &stanza.Message{Header: stanza.Header{To: account(srv, "bob/b")}, Body: "hi"}))
	m = in.message(t)
	require.NotNil(t, m.Error)
	assert.Equal(t, stanza.NotAcceptable, m.Error.Condition)
	assert.Nil(t, m.Error.App)
}

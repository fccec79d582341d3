package register_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/form"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/register"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/sasl"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
	"github.com/parleyim/parley/xmpptest"
)

// Behaviour against xmpptest with registration on: the whole life of an
// account, and the server's refusals.

// prelogin opens a stream to srv that stops before authentication.
func prelogin(t *testing.T, srv *xmpptest.Server) *session.Prelogin {
	t.Helper()
	conn, err := srv.Pipe()
	require.NoError(t, err)
	p, err := session.NewPrelogin(ctxT(t), conn, srv.Domain(), &session.Config{TLSConfig: srv.TLSConfig()})
	require.NoError(t, err)
	closeAtEnd(t, p)
	return p
}

func TestAccountLife(t *testing.T) {
	t.Parallel()
	srv := xmpptest.NewServer(t, &xmpptest.Config{Registration: true})
	ctx := ctxT(t)
	p := prelogin(t, srv)
	_, ok := p.Features().Lookup(xmlName(register.NSFeature, "register"))
	assert.True(t, ok, "the registration feature is offered")
	assert.NotNil(t, p.TLS())
	assert.NotEmpty(t, p.Negotiation().Mechanisms)

	q, err := register.Fetch(ctx, p)
	require.NoError(t, err)
	assert.True(t, q.Asks("username"))
	assert.True(t, q.Asks("password"))
	assert.NotEmpty(t, q.Instructions)
	assert.Nil(t, q.Form)
	require.NoError(t, register.Register(ctx, p, q, map[string]string{"username": "alice", "password": "first"}))

	alice := jid.MustParse("alice@" + srv.Domain().String())
	bob, err := srv.AddUser("bob", "pw")
	require.NoError(t, err)
	require.NoError(t, srv.SetRosterItem(alice, roster.Item{JID: bob, Subscription: roster.SubscriptionBoth}))
	require.NoError(t, srv.SetRosterItem(bob, roster.Item{JID: alice, Subscription: roster.SubscriptionBoth}))
	s, err := srv.Connect(ctx, alice, "first", nil)
	require.NoError(t, err)
	closeAtEnd(t, s)
	info, err := register.Fetch(ctx, s)
	require.NoError(t, err)
	assert.True(t, info.Registered)
	assert.Equal(t, "alice", info.Value("username"))

	older, err := srv.Connect(ctx, alice, "first", nil)
	require.NoError(t, err)
	closeAtEnd(t, older)
	require.NoError(t, register.ChangePassword(ctx, s, "second"))
	var se *stanza.StreamError
	require.ErrorAs(t, waitDone(t, older), &se, "the account's other streams end, as on Prosody")
	assert.Equal(t, stanza.StreamReset, se.Condition)
	assert.NoError(t, s.Err(), "the stream that changed the password goes on")
	_, err = srv.Connect(ctx, alice, "first", nil)
	assert.ErrorIs(t, err, sasl.NotAuthorized, "the old password no longer works")
	s2, err := srv.Connect(ctx, alice, "second", nil)
	require.NoError(t, err, "the new password works")
	closeAtEnd(t, s2)

	require.NoError(t, register.Cancel(ctx, s))
	for _, sess := range []*session.Session{s, s2} {
		err := waitDone(t, sess)
		require.ErrorAs(t, err, &se, "every stream of the account ends")
		assert.Equal(t, stanza.StreamNotAuthorized, se.Condition)
	}
	_, err = srv.Connect(ctx, alice, "second", nil)
	assert.ErrorIs(t, err, sasl.NotAuthorized, "the account is gone")
	r, err := srv.Roster(bob)
	require.NoError(t, err)
	require.Len(t, r.Items, 1)
	assert.Equal(t, roster.SubscriptionNone, r.Items[0].Subscription, "the subscriptions with the removed account ended")

	// The name is free again.
	require.NoError(t, register.Create(ctx, p, "alice", "third"))
	s3, err := srv.Connect(ctx, alice, "third", nil)
	require.NoError(t, err)
	closeAtEnd(t, s3)
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	srv := xmpptest.NewServer(t, &xmpptest.Config{Registration: true})
	_, err := srv.AddUser("bob", "pw")
	require.NoError(t, err)
	ctx := ctxT(t)
	p := prelogin(t, srv)

	err = register.Create(ctx, p, "bob", "other")
	assert.ErrorIs(t, err, stanza.Conflict)
	var se *stanza.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "The requested username already exists.", se.Text)
	assert.Contains(t, err.Error(), `"bob"`)

	err = register.Register(ctx, p, nil, map[string]string{"username": "carol"})
	assert.ErrorIs(t, err, stanza.NotAcceptable, "no password")
	require.ErrorAs(t, err, &se)
	assert.NotEmpty(t, se.Text)

	err = register.Create(ctx, p, "a@b", "pw")
	assert.ErrorIs(t, err, stanza.NotAcceptable, "an invalid username")

	err = register.Register(ctx, p, nil, map[string]string{"username": "carol", "password": "pw", "email": "c@example.com"})
	assert.ErrorIs(t, err, register.ErrUnknownField, "the server did not ask for an email")

	// The stream goes on after refusals.
	require.NoError(t, register.Create(ctx, p, "carol", "pw"))

	// A logged-in account changes its own password only.
	bob, err := srv.Connect(ctx, jid.MustParse("bob@"+srv.Domain().String()), "pw", nil)
	require.NoError(t, err)
	closeAtEnd(t, bob)
	_, err = bob.SendIQ(ctx, &stanza.IQ{Type: stanza.IQSet, Payload: &register.Query{Fields: []register.Field{{Name: "username", Value: "carol"}, {Name: "password", Value: "x"}}}})
	assert.ErrorIs(t, err, stanza.BadRequest)
	assert.ErrorIs(t, register.ChangePassword(ctx, bob, ""), register.ErrEmptyPassword)
	_, err = bob.SendIQ(ctx, &stanza.IQ{Type: stanza.IQSet, Payload: &register.Query{Fields: []register.Field{{Name: "username", Value: "bob"}}}})
	assert.ErrorIs(t, err, stanza.BadRequest, "no password")
}

func TestRegistrationForm(t *testing.T) {
	t.Parallel()
	srv := xmpptest.NewServer(t, &xmpptest.Config{Registration: true, RegistrationForm: true})
	ctx := ctxT(t)
	p := prelogin(t, srv)
	q, err := register.Fetch(ctx, p)
	require.NoError(t, err)
	require.NotNil(t, q.Form)
	ft, ok := q.Form.FormType()
	assert.True(t, ok)
	assert.Equal(t, register.NS, ft)
	pw, ok := q.Form.Field("password")
	require.True(t, ok)
	assert.Equal(t, form.TextPrivate, pw.Type)
	assert.True(t, pw.Required)

	err = register.Register(ctx, p, q, map[string]string{"username": "dave", "nick": "D"})
	assert.ErrorIs(t, err, register.ErrUnknownField)
	err = register.Register(ctx, p, q, map[string]string{"username": "dave"})
	assert.ErrorIs(t, err, stanza.NotAcceptable)
	require.NoError(t, register.Register(ctx, p, q, map[string]string{"username": "dave", "password": "pw"}))
	s, err := srv.Connect(ctx, jid.MustParse("dave@"+srv.Domain().String()), "pw", nil)
	require.NoError(t, err)
	closeAtEnd(t, s)
}

func TestRegistrationOff(t *testing.T) {
	t.Parallel()
	srv := xmpptest.NewServer(t, nil)
	p := prelogin(t, srv)
	_, ok := p.Features().Lookup(xmlName(register.NSFeature, "register"))
	assert.False(t, ok)
	_, err := register.Fetch(ctxT(t), p)
	var se *stanza.StreamError
	require.ErrorAs(t, err, &se, "xmpptest ends a stream that sends a stanza before authentication")
	_, err = register.Fetch(ctxT(t), p)
	assert.ErrorIs(t, err, session.ErrClosed)
	assert.False(t, errors.Is(err, register.ErrUnencrypted))
}

package register_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/testkit/scripted"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/register"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// Tests against a scripted server: the bytes the client sends, and what
// a real server would not send.

const featRegister = "<register xmlns='http://jabber.org/features/iq-register'/>"

// preloginScripted opens a Prelogin to a peer that runs STARTTLS and then
// serve, which gets the requests.
func preloginScripted(t *testing.T, serve func(p *scripted.Peer)) (*session.Prelogin, *scripted.Peer) {
	t.Helper()
	conn, p := scripted.Start(t, func(p *scripted.Peer) {
		p.Header()
		p.Features(scripted.StartTLSFeature)
		p.StartTLS()
		p.Header()
		p.Features(scripted.Mechanisms("SCRAM-SHA-1"), featRegister)
		serve(p)
	})
	pl, err := session.NewPrelogin(ctxT(t), conn, jid.MustParse(scripted.Domain), &session.Config{TLSConfig: scripted.ClientTLS(t)})
	require.NoError(t, err)
	closeAtEnd(t, pl)
	return pl, p
}

// request reads the client's next iq and returns it with its payload.
func request(p *scripted.Peer) (*stanza.IQ, string) {
	iq, err := scripted.IQ(p.Expect("iq"))
	if err != nil {
		p.Fatalf("%v", err)
	}
	raw, _ := iq.Raw()
	return iq, string(iq.Type) + " " + raw.String()
}

func result(id, payload string) string {
	return "<iq type='result' id='" + id + "'>" + payload + "</iq>"
}

func errorReply(id, cond, text string) string {
	return "<iq type='error' id='" + id + "'><error type='cancel'><" + cond + " xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>" +
		"<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>" + text + "</text></error></iq>"
}

func TestRegisterLegacyBytes(t *testing.T) {
	t.Parallel()
	var got []string
	pl, p := preloginScripted(t, func(p *scripted.Peer) {
		iq, req := request(p)
		got = append(got, req)
		p.Send(result(iq.ID, "<query xmlns='jabber:iq:register'><instructions>Choose</instructions>"+
			"<username/><password/><email/><key>k3y</key><unknown/></query>"))
		iq, req = request(p)
		got = append(got, req)
		p.Send(result(iq.ID, ""))
		p.ExpectClosed()
	})
	ctx := ctxT(t)
	q, err := register.Fetch(ctx, pl)
	require.NoError(t, err)
	assert.Equal(t, "Choose", q.Instructions)
	assert.Equal(t, []register.Field{{Name: "username"}, {Name: "password"}, {Name: "email"}, {Name: "key", Value: "k3y"}}, q.Fields)
	require.NoError(t, register.Register(ctx, pl, q, map[string]string{"password": "s<cret", "username": "romeo", "email": "r@example.net"}))
	require.NoError(t, pl.Close(ctx))
	p.Wait()
	assert.Equal(t, []string{
		"get <query xmlns='jabber:iq:register'/>",
		"set <query xmlns='jabber:iq:register'><username>romeo</username><password>s&lt;cret</password>" +
			"<email>r@example.net</email><key>k3y</key></query>",
	}, got, "the fields in the server's order, the key sent back")
}

func TestRegisterFormBytes(t *testing.T) {
	t.Parallel()
	var got string
	pl, p := preloginScripted(t, func(p *scripted.Peer) {
		iq, _ := request(p)
		p.Send(result(iq.ID, "<query xmlns='jabber:iq:register'><instructions>Use the form</instructions>"+
			"<x xmlns='jabber:x:data' type='form'><title>Sign up</title>"+
			"<field type='hidden' var='FORM_TYPE'><value>jabber:iq:register</value></field>"+
			"<field type='fixed'><value>Welcome</value></field>"+
			"<field type='text-single' var='username' label='User'><required/></field>"+
			"<field type='text-private' var='password'><required/></field>"+
			"<field type='list-single' var='lang'><value>en</value><option><value>en</value></option></field>"+
			"</x><username/></query>"))
		iq, got = request(p)
		p.Send(errorReply(iq.ID, "conflict", "taken, sorry"))
		p.ExpectClosed()
	})
	ctx := ctxT(t)
	q, err := register.Fetch(ctx, pl)
	require.NoError(t, err)
	require.NotNil(t, q.Form)
	assert.Equal(t, "Sign up", q.Form.Title)
	err = register.Register(ctx, pl, q, map[string]string{"username": "romeo", "password": "pw"})
	assert.ErrorIs(t, err, stanza.Conflict)
	var se *stanza.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "taken, sorry", se.Text)
	require.NoError(t, pl.Close(ctx))
	p.Wait()
	assert.Equal(t, "set <query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' type='submit'>"+
		"<field var='FORM_TYPE' type='hidden'><value>jabber:iq:register</value></field>"+
		"<field var='username' type='text-single'><value>romeo</value></field>"+
		"<field var='password' type='text-private'><value>pw</value></field>"+
		"<field var='lang' type='list-single'><value>en</value></field>"+
		"</x></query>", got, "the form, not the legacy fields; defaults kept, the fixed field left out")
}

func TestRegisterServerErrors(t *testing.T) {
	t.Parallel()
	for _, cond := range []stanza.Condition{stanza.NotAcceptable, stanza.NotAllowed, stanza.Forbidden, stanza.ResourceConstraint, stanza.PolicyViolation, stanza.Conflict} {
		t.Run(string(cond), func(t *testing.T) {
			t.Parallel()
			pl, p := preloginScripted(t, func(p *scripted.Peer) {
				iq, _ := request(p)
				p.Send(result(iq.ID, "<query xmlns='jabber:iq:register'><username/><password/></query>"))
				iq, _ = request(p)
				p.Send(errorReply(iq.ID, string(cond), "because "+string(cond)))
				p.ExpectClosed()
			})
			err := register.Create(ctxT(t), pl, "romeo", "pw")
			assert.ErrorIs(t, err, cond)
			var se *stanza.Error
			require.ErrorAs(t, err, &se)
			assert.Equal(t, "because "+string(cond), se.Text)
			require.NoError(t, pl.Close(ctxT(t)))
			p.Wait()
		})
	}
}

func TestFetchMalformed(t *testing.T) {
	t.Parallel()
	for name, payload := range map[string]string{
		"no query":      "",
		"other element": "<query xmlns='jabber:iq:roster'/>",
		"field twice":   "<query xmlns='jabber:iq:register'><username/><username/></query>",
		"bad form":      "<query xmlns='jabber:iq:register'><x xmlns='jabber:x:data'><field><value>a</value><value></field></x></query>",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			pl, p := preloginScripted(t, func(p *scripted.Peer) {
				iq, _ := request(p)
				p.Send(result(iq.ID, payload))
				p.ExpectClosed()
			})
			_, err := register.Fetch(ctxT(t), pl)
			if name == "bad form" {
				require.Error(t, err, "bad XML ends the stream")
			} else {
				assert.ErrorIs(t, err, register.ErrMalformed)
			}
			require.NoError(t, pl.Close(ctxT(t)))
			p.Wait()
		})
	}
}

func TestNoPasswordInTheClear(t *testing.T) {
	t.Parallel()
	conn, p := scripted.Start(t, func(p *scripted.Peer) {
		p.Header()
		p.Features(scripted.Mechanisms("SCRAM-SHA-1"), featRegister)
		iq, _ := request(p)
		p.Send(result(iq.ID, "<query xmlns='jabber:iq:register'><username/><password/></query>"))
		p.ExpectClosed()
	})
	pl, err := session.NewPrelogin(ctxT(t), conn, jid.MustParse(scripted.Domain), &session.Config{NoTLS: true})
	require.NoError(t, err)
	closeAtEnd(t, pl)
	q, err := register.Fetch(ctxT(t), pl)
	require.NoError(t, err, "asking carries no password")
	assert.ErrorIs(t, register.Register(ctxT(t), pl, q, map[string]string{"username": "romeo", "password": "pw"}), register.ErrUnencrypted)
	assert.ErrorIs(t, register.Create(ctxT(t), pl, "romeo", "pw"), register.ErrUnencrypted)
	require.NoError(t, pl.Close(ctxT(t)))
	p.Wait() // the script checked that nothing came after the get
}

// loggedIn logs a session in to a peer that then runs serve.
func loggedIn(t *testing.T, serve func(p *scripted.Peer)) (*session.Session, *scripted.Peer) {
	t.Helper()
	conn, p := scripted.Start(t, func(p *scripted.Peer) {
		p.Login()
		serve(p)
	})
	s, err := session.New(ctxT(t), conn, scripted.Account, scripted.Password, &session.Config{TLSConfig: scripted.ClientTLS(t), KeepAlive: -1})
	require.NoError(t, err)
	closeAtEnd(t, s)
	return s, p
}

func TestChangePasswordBytes(t *testing.T) {
	t.Parallel()
	var got []string
	s, p := loggedIn(t, func(p *scripted.Peer) {
		iq, req := request(p)
		got = append(got, req)
		p.Send(result(iq.ID, ""))
		iq, req = request(p)
		got = append(got, req)
		p.Send(errorReply(iq.ID, "not-authorized", "channel not safe enough"))
		p.ExpectClosed()
	})
	require.NoError(t, register.ChangePassword(ctxT(t), s, "n3w&pw"))
	err := register.ChangePassword(ctxT(t), s, "again")
	assert.ErrorIs(t, err, stanza.NotAuthorized)
	assert.Contains(t, err.Error(), "juliet@example.com")
	require.NoError(t, s.Close(ctxT(t)))
	p.Wait()
	assert.Equal(t, []string{
		"set <query xmlns='jabber:iq:register'><username>juliet</username><password>n3w&amp;pw</password></query>",
		"set <query xmlns='jabber:iq:register'><username>juliet</username><password>again</password></query>",
	}, got)
}

func TestCancelThenClose(t *testing.T) {
	t.Parallel()
	var got string
	s, p := loggedIn(t, func(p *scripted.Peer) {
		iq, req := request(p)
		got = req
		// The result and the end of the stream in one write, as Prosody
		// sends them.
		p.Send(result(iq.ID, "") + "<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>" +
			"<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Account deleted</text></stream:error></stream:stream>")
		_, _ = p.TryNext()
	})
	require.NoError(t, register.Cancel(ctxT(t), s))
	err := waitDone(t, s)
	var se *stanza.StreamError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "Account deleted", se.Text)
	p.Wait()
	assert.Equal(t, "set <query xmlns='jabber:iq:register'><remove/></query>", got)
}

func TestCancelClosedWithoutResult(t *testing.T) {
	t.Parallel()
	s, p := loggedIn(t, func(p *scripted.Peer) {
		request(p)
		p.Send("<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>")
		_, _ = p.TryNext()
	})
	err := register.Cancel(ctxT(t), s)
	assert.ErrorIs(t, err, session.ErrClosed, "without a result Cancel cannot say the account is gone")
	assert.ErrorIs(t, err, stanza.StreamNotAuthorized)
	p.Wait()
}

func TestCancelRefused(t *testing.T) {
	t.Parallel()
	s, p := loggedIn(t, func(p *scripted.Peer) {
		iq, _ := request(p)
		p.Send(errorReply(iq.ID, "not-allowed", "accounts are forever"))
		p.ExpectClosed()
	})
	err := register.Cancel(ctxT(t), s)
	assert.ErrorIs(t, err, stanza.NotAllowed)
	assert.True(t, strings.Contains(err.Error(), "accounts are forever"), err.Error())
	require.NoError(t, s.Close(context.Background()))
	p.Wait()
}

func TestChangePasswordWithForm(t *testing.T) {
	t.Parallel()
	var got string
	s, p := loggedIn(t, func(p *scripted.Peer) {
		iq, _ := request(p)
		// XEP-0077 §3.3: the server wants the old password too.
		p.Send("<iq type='error' id='" + iq.ID + "'><query xmlns='jabber:iq:register'>" +
			"<x xmlns='jabber:x:data' type='form'><title>Password Change</title>" +
			"<field type='hidden' var='FORM_TYPE'><value>jabber:iq:register:changepassword</value></field>" +
			"<field type='text-single' var='username'><required/></field>" +
			"<field type='text-private' var='old_password'><required/></field>" +
			"<field type='text-private' var='password'><required/></field></x></query>" +
			"<error type='modify'><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>")
		iq, got = request(p)
		p.Send(result(iq.ID, ""))
		p.ExpectClosed()
	})
	err := register.ChangePassword(ctxT(t), s, "new")
	assert.ErrorIs(t, err, stanza.NotAuthorized)
	var fe *register.FormError
	require.ErrorAs(t, err, &fe)
	require.NotNil(t, fe.Query.Form)
	ft, _ := fe.Query.Form.FormType()
	assert.Equal(t, "jabber:iq:register:changepassword", ft)
	require.NoError(t, register.Register(ctxT(t), s, fe.Query, map[string]string{"username": "juliet", "old_password": "old", "password": "new"}))
	require.NoError(t, s.Close(ctxT(t)))
	p.Wait()
	assert.Equal(t, "set <query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' type='submit'>"+
		"<field var='FORM_TYPE' type='hidden'><value>jabber:iq:register:changepassword</value></field>"+
		"<field var='username' type='text-single'><value>juliet</value></field>"+
		"<field var='old_password' type='text-private'><value>old</value></field>"+
		"<field var='password' type='text-private'><value>new</value></field></x></query>", got)
}

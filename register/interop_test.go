//go:build interop

package register_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/testkit/syncbuf"
	"github.com/parleyim/parley/internal/testkit/xmppd"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/register"
	"github.com/parleyim/parley/sasl"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// The life of an account on Prosody and ejabberd, with in-band
// registration on 127.0.0.1 (xmppd enables it, loopback only): register,
// log in, change the password, log in with the new one and fail with the
// old one, remove the account, fail to log in; a taken username is
// conflict. What each server answers is logged, and where the servers
// differ the test says so.
func TestInteropAccountLife(t *testing.T) {
	for _, kind := range xmppd.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			srv := xmppd.Start(t, kind, xmppd.Options{})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			trace := &syncbuf.Buffer{}
			cfg := &session.Config{Addr: srv.Addr, TLSConfig: srv.TLSConfig(), KeepAlive: -1, Trace: trace}
			defer func() {
				if t.Failed() {
					t.Logf("trace:\n%s", trace.String())
				}
			}()

			p, err := session.DialPrelogin(ctx, jid.MustParse(srv.Domain), cfg)
			require.NoError(t, err)
			defer p.Close(ctx)
			_, ok := p.Features().Lookup(xmlName(register.NSFeature, "register"))
			assert.True(t, ok, "%s offers in-band registration", kind)
			q, err := register.Fetch(ctx, p)
			require.NoError(t, err)
			t.Logf("%s asks: fields %v, form %v, instructions %q", kind, q.Fields, q.Form != nil, q.Instructions)
			assert.True(t, q.Asks("username") || q.Form != nil)

			// A taken username.
			err = register.Create(ctx, p, "alice", "whatever")
			require.Error(t, err)
			assert.ErrorIs(t, err, stanza.Conflict)
			var se *stanza.Error
			if errors.As(err, &se) {
				t.Logf("%s on a taken username: %s %q", kind, se.Condition, se.Text)
			}
			// A missing password.
			err = register.Register(ctx, p, q, map[string]string{"username": "nopassword"})
			require.Error(t, err)
			if errors.As(err, &se) {
				t.Logf("%s without a password: %s %q", kind, se.Condition, se.Text)
			}
			// Prosody: not-acceptable (XEP-0077 §3.1); ejabberd: bad-request.
			if kind == xmppd.Ejabberd {
				assert.ErrorIs(t, err, stanza.BadRequest)
			} else {
				assert.ErrorIs(t, err, stanza.NotAcceptable)
			}

			require.NoError(t, register.Register(ctx, p, q, map[string]string{"username": "newbie", "password": "first-pw"}))
			require.NoError(t, p.Close(ctx))

			newbie := jid.MustParse("newbie@" + srv.Domain)
			s, err := session.Dial(ctx, newbie, "first-pw", cfg)
			require.NoError(t, err, "the new account logs in")
			defer s.Close(ctx)
			info, err := register.Fetch(ctx, s)
			require.NoError(t, err)
			assert.True(t, info.Registered)
			assert.Equal(t, "newbie", info.Value("username"))

			require.NoError(t, register.ChangePassword(ctx, s, "second-pw"))
			s2, err := session.Dial(ctx, newbie, "second-pw", cfg)
			require.NoError(t, err, "the new password works")
			defer s2.Close(ctx)
			_, err = session.Dial(ctx, newbie, "first-pw", cfg)
			assert.ErrorIs(t, err, sasl.NotAuthorized, "the old password does not")

			// Changing another account's password.
			_, err = s.SendIQ(ctx, &stanza.IQ{Type: stanza.IQSet, Payload: &register.Query{Fields: []register.Field{{Name: "username", Value: "bob"}, {Name: "password", Value: "x"}}}})
			if errors.As(err, &se) {
				t.Logf("%s on another account's username: %s %q", kind, se.Condition, se.Text)
			}
			assert.Error(t, err)
			// An empty password: Prosody would set it, so the client
			// refuses; sent anyway, ejabberd says not-allowed.
			assert.ErrorIs(t, register.ChangePassword(ctx, s, ""), register.ErrEmptyPassword)

			// Another change: Prosody ends the account's other streams
			// (reset), ejabberd keeps them.
			require.NoError(t, register.ChangePassword(ctx, s, "third-pw"))
			if kind == xmppd.Prosody {
				select {
				case <-s2.Done():
					var sse *stanza.StreamError
					require.ErrorAs(t, s2.Err(), &sse)
					assert.Equal(t, stanza.StreamReset, sse.Condition)
					t.Logf("%s after a password change: %v", kind, s2.Err())
				case <-time.After(10 * time.Second):
					t.Errorf("%s kept the other stream after a password change", kind)
				}
			} else {
				_, err := s2.SendIQ(ctx, &stanza.IQ{Type: stanza.IQGet, Payload: &register.Query{}})
				assert.NoError(t, err, "%s keeps the other stream after a password change", kind)
			}

			require.NoError(t, register.Cancel(ctx, s))
			sessions := []*session.Session{s}
			if kind == xmppd.Ejabberd {
				sessions = append(sessions, s2)
			}
			for _, sess := range sessions {
				select {
				case <-sess.Done():
					t.Logf("%s ended %s: %v", kind, sess.Addr(), sess.Err())
					// Prosody: not-authorized "Account deleted"; ejabberd:
					// conflict "User removed".
					want := stanza.StreamNotAuthorized
					if kind == xmppd.Ejabberd {
						want = stanza.StreamConflict
					}
					var sse *stanza.StreamError
					if assert.ErrorAs(t, sess.Err(), &sse) {
						assert.Equal(t, want, sse.Condition)
					}
				case <-time.After(10 * time.Second):
					t.Errorf("%s kept %s after the account was removed", kind, sess.Addr())
				}
			}
			_, err = session.Dial(ctx, newbie, "third-pw", cfg)
			assert.ErrorIs(t, err, sasl.NotAuthorized, "the account is gone")
		})
	}
}

//go:build interop

package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/testkit/xmppd"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// The bot against Prosody and ejabberd, started as main starts it: bob, a
// second Parley client, writes to the bot's bare JID, which a server
// delivers only once the bot has sent available presence (before that,
// both keep such messages offline).
func TestInteropEcho(t *testing.T) {
	for _, kind := range xmppd.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			srv := xmppd.Start(t, kind, xmppd.Options{})
			ca := filepath.Join(t.TempDir(), "ca.pem")
			require.NoError(t, os.WriteFile(ca, srv.CertPEM, 0o600))
			addr, password, cfg, err := setup(options{jid: "alice@" + srv.Domain, server: srv.Addr, caFile: ca},
				func(string) string { return srv.Users["alice"] })
			require.NoError(t, err)
			bot := addr.Bare()

			b := startBot(addr, password, cfg)
			defer b.interrupt()

			mux, replies := collect()
			bob := login(t, srv, "bob", mux)

			// The first answer says the bot is online (a message sent
			// before it was is delivered from offline storage once it is):
			// from then on a message without a body reaches it, and
			// "no reply" means it was ignored.
			waitOnline(t, bob.Send, replies, bot, b.done)
			checkEcho(t, bob, replies, bot, expectCases(t))

			b.stop(t)
		})
	}
}

// login connects user (one of srv.Users) to srv with mux, trusting the
// server's certificate; the session is closed when the test ends.
func login(t *testing.T, srv *xmppd.Server, user string, mux *session.Mux) *session.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	addr, err := jid.Parse(user + "@" + srv.Domain)
	require.NoError(t, err)
	s, err := session.Dial(ctx, addr, srv.Users[user], &session.Config{Addr: srv.Addr, TLSConfig: srv.TLSConfig(), Mux: mux})
	require.NoError(t, err, "%s logs in to %s", user, srv.Kind)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	return s
}

// waitOnline sends the bot a message and waits for its answer.
func waitOnline(t *testing.T, send func(context.Context, stanza.Stanza) error, replies <-chan *stanza.Message, bot jid.JID, done <-chan error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, send(ctx, &stanza.Message{Header: stanza.Header{To: bot}, Type: stanza.MessageChat, Body: "are you there?"}))
	select {
	case r := <-replies:
		require.Equal(t, "you said: are you there?", r.Body)
	case err := <-done:
		t.Fatalf("run returned: %v", err)
	case <-ctx.Done():
		t.Fatal("the bot never answered a message to its bare JID")
	}
}

//go:build interop

package main

import (
	"context"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/testkit/xmppd"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/ping"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// startInteropBot starts the bot on srv as alice, as main starts it (a
// -server, a -ca file, the password from the environment, -reconnect-wait
// 200ms), with the waits after a failed attempt shortened from 5 s
// doubling to 5 min to 200 ms doubling to 2 s, so that the bot is back
// soon after a restarted server.
func startInteropBot(t *testing.T, srv *xmppd.Server) (b *runningBot, bot jid.JID) {
	t.Helper()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, srv.CertPEM, 0o600))
	env := map[string]string{passwordEnv: srv.Users["alice"]}
	addr, password, cfg, err := setup(options{jid: "alice@" + srv.Domain, server: srv.Addr, caFile: ca, wait: 200 * time.Millisecond},
		func(k string) string { return env[k] }, log.New(logLines(nil), "", 0))
	require.NoError(t, err)
	cfg.RetryDelay, cfg.MaxDelay = 200*time.Millisecond, 2*time.Second
	b = startBot(addr, password, cfg)
	t.Cleanup(b.interrupt)
	return b, addr.Bare()
}

// The bot against Prosody and ejabberd: bob, a second Parley client,
// writes to the bot's bare JID, which a server delivers only once the bot
// has sent available presence (before that, both keep such messages
// offline); then he pings it and subscribes to it, and the bot subscribes
// back.
func TestInteropEcho(t *testing.T) {
	for _, kind := range xmppd.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			srv := xmppd.Start(t, kind, xmppd.Options{})
			b, bot := startInteropBot(t, srv)
			botFull := b.online(t)

			bob := newPeer()
			bob.s = login(t, srv, "bob", bob.mux)

			// The first answer says the bot is online (a message sent
			// before it was is delivered from offline storage once it is):
			// from then on a message without a body reaches it, and
			// "no reply" means it was ignored.
			waitOnline(t, bob.s.Send, bob.replies, bot, b.done)
			checkEcho(t, bob.s, bob.replies, bot, expectCases(t))

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := ping.Send(ctx, bob.s, botFull)
			require.NoError(t, err, "the bot answers a ping to its full JID")

			require.NoError(t, bob.s.Send(ctx, &stanza.Presence{Header: stanza.Header{To: bot}, Type: stanza.PresenceSubscribe}))
			assert.Equal(t, bot, recv(t, bob.requests, "the bot's subscription request"), "the bot subscribes back")
			bob.waitChange(t, bot, stanza.PresenceSubscribed)
			bob.waitItem(t, bot, roster.SubscriptionBoth)
			assert.Equal(t, "echobot: "+bob.s.Addr().String()+" is online", b.nextPresence(t))

			b.stop(t)
		})
	}
}

// restartServer stops srv and starts it again under the bot, as an
// operator restarts a server: the same address, certificate, accounts
// and stored rosters (xmppd's Restart).
func restartServer(t *testing.T, srv *xmppd.Server) {
	t.Helper()
	require.NoError(t, srv.Restart(), "restarting %s", srv.Kind)
}

// The bot survives a restart of Prosody and ejabberd. Before it, bob
// subscribes to the bot and the bot subscribes back. The server ends
// every stream as it stops; the bot logs why, waits, tries again while
// the server is down, and logs in on a new stream once it is back. bob,
// logging in again, sees the bot online (the server has its presence,
// which the presence package sent again on the new stream), the bot sees
// him, and it echoes what he sends.
func TestInteropRestart(t *testing.T) {
	for _, kind := range xmppd.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			srv := xmppd.Start(t, kind, xmppd.Options{})
			b, bot := startInteropBot(t, srv)
			b.online(t)

			bob := newPeer()
			bob.s = login(t, srv, "bob", bob.mux)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			require.NoError(t, bob.s.Send(ctx, &stanza.Presence{Header: stanza.Header{To: bot}, Type: stanza.PresenceSubscribe}))
			assert.Equal(t, bot, recv(t, bob.requests, "the bot's subscription request"), "the bot subscribes back")
			bob.waitItem(t, bot, roster.SubscriptionBoth)
			assert.Equal(t, "echobot: "+bob.s.Addr().String()+" is online", b.nextPresence(t))

			restartServer(t, srv)
			again, before := b.connected(t)
			t.Logf("%s: the bot logged %q", kind, before)
			checkEnded(t, before)

			bob = newPeer()
			bob.s = login(t, srv, "bob", bob.mux)
			assert.Equal(t, again, bob.waitOnline(t, bot), "bob sees the bot online again")
			seen := "echobot: " + bob.s.Addr().String() + " is online"
			b.waitLog(t, "that bob came online", func(l string) bool { return l == seen })
			waitOnline(t, bob.s.Send, bob.replies, bot, b.done)
			checkEcho(t, bob.s, bob.replies, bot, expectCases(t)[:1])
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
		require.Equal(t, "are you there?", r.Body)
	case err := <-done:
		t.Fatalf("run returned: %v", err)
	case <-ctx.Done():
		t.Fatal("the bot never answered a message to its bare JID")
	}
}

// slixmpp is the third-party client: Debian's python3-slixmpp, run with
// the system's Python (a Python on PATH, such as pyenv's, may not see
// Debian's packages).
const (
	python     = "/usr/bin/python3"
	slixclient = "testdata/slixclient.py"
)

// requireSlixmpp skips the test when slixmpp is not installed, or fails it
// with PARLEY_REQUIRE_SERVERS=1, as xmppd does for a missing server.
func requireSlixmpp(t *testing.T) {
	t.Helper()
	out, err := exec.Command(python, "-c", "import slixmpp").CombinedOutput()
	if err == nil {
		return
	}
	msg := "slixmpp not available (" + python + " -c 'import slixmpp': " + err.Error() + ": " +
		strings.TrimSpace(string(out)) + "); run scripts/install-servers.sh"
	if os.Getenv("PARLEY_REQUIRE_SERVERS") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// A client no one here wrote — slixmpp, from Debian's packages — logs in
// as carol, subscribes to the bot, approves the bot's request back, sends
// a chat state and then a message with a thread, and gets the echo of the
// message first (testdata/slixclient.py). The bot prints that carol came
// online.
func TestInteropSlixmpp(t *testing.T) {
	requireSlixmpp(t)
	for _, kind := range xmppd.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			srv := xmppd.Start(t, kind, xmppd.Options{})
			b, bot := startInteropBot(t, srv)
			b.online(t)

			ca := filepath.Join(t.TempDir(), "ca.pem")
			require.NoError(t, os.WriteFile(ca, srv.CertPEM, 0o600))
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			carol := "carol@" + srv.Domain
			cmd := exec.CommandContext(ctx, python, slixclient,
				"--jid", carol, "--server", srv.Addr, "--bot", bot.String(), "--ca", ca, "--timeout", "30")
			cmd.Env = append(os.Environ(), "SLIXCLIENT_PASSWORD="+srv.Users["carol"])
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			result := strings.TrimSpace(string(out))
			t.Logf("%s: %s", kind, result)
			require.NoError(t, err, "%s\nits stderr:\n%s", result, stderr.String())
			assert.Equal(t, "slixclient: ok: "+bot.String()+" subscribed back (subscription both) and echoed 'hello from slixmpp' in thread 'slixmpp-thread-1'", result)

			line := b.nextPresence(t)
			assert.True(t, strings.HasPrefix(line, "echobot: "+carol+"/"), "the bot saw carol come online: %q", line)
			b.stop(t)
		})
	}
}

package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
	"github.com/parleyim/parley/xmpptest"
)

// chatState is a chat state notification (XEP-0085) with no body, as
// clients send while the user types.
func chatState(t testing.TB, state string) stanza.Payload {
	t.Helper()
	raw, err := stanza.ParseRaw([]byte("<" + state + " xmlns='http://jabber.org/protocol/chatstates'/>"))
	require.NoError(t, err)
	return raw
}

// expectCase is one message to the bot and whether it is answered.
type expectCase struct {
	name      string
	msg       *stanza.Message // To is set to the bot's bare JID
	wantReply bool
}

// expectCases are the messages every test of the bot sends.
func expectCases(t testing.TB) []expectCase {
	return []expectCase{
		{"chat with a body is echoed in its thread",
			&stanza.Message{Type: stanza.MessageChat, Body: "hello", Thread: stanza.Thread{ID: "thread-1"}}, true},
		{"chat with a body and a chat state is echoed",
			&stanza.Message{Type: stanza.MessageChat, Body: "and you?", Extensions: []stanza.Payload{chatState(t, "active")}}, true},
		{"a chat state alone gets no reply",
			&stanza.Message{Type: stanza.MessageChat, Extensions: []stanza.Payload{chatState(t, "composing")}}, false},
		{"an empty chat message gets no reply",
			&stanza.Message{Type: stanza.MessageChat}, false},
	}
}

// checkEcho sends each case's message from user to bot (its bare JID),
// then a message that is always answered, and checks the first reply:
// the echo of the case's message if it is answered, else the answer to
// the second. So a reply that should not exist is seen without waiting
// for a timeout. replies receives the messages user gets.
func checkEcho(t *testing.T, user *session.Session, replies <-chan *stanza.Message, bot jid.JID, cases []expectCase) {
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			m := *tc.msg
			m.To = bot
			require.NoError(t, user.Send(ctx, &m))
			marker := &stanza.Message{Header: stanza.Header{To: bot}, Type: stanza.MessageChat, Body: "marker " + string(rune('a'+i))}
			require.NoError(t, user.Send(ctx, marker))

			want := []*stanza.Message{marker}
			if tc.wantReply {
				want = []*stanza.Message{&m, marker}
			}
			for _, w := range want {
				select {
				case r := <-replies:
					assert.Equal(t, "you said: "+w.Body, r.Body, "the first reply answers the first message that has a body")
					assert.Equal(t, stanza.MessageChat, r.Type)
					assert.Equal(t, w.Thread, r.Thread, "the thread is kept")
					assert.Equal(t, bot, r.From.Bare())
					assert.Equal(t, user.Addr(), r.To)
				case <-ctx.Done():
					t.Fatalf("no reply to %q", w.Body)
				}
			}
		})
	}
}

// runningBot is run running on its own goroutine, as main runs it.
type runningBot struct {
	interrupt context.CancelFunc // what SIGINT does
	done      chan error         // receives what run returns
}

func startBot(addr jid.JID, password string, cfg session.Config) *runningBot {
	ctx, cancel := context.WithCancel(context.Background())
	b := &runningBot{interrupt: cancel, done: make(chan error, 1)}
	go func() { b.done <- run(ctx, addr, password, cfg) }()
	return b
}

// stop interrupts the bot and checks that run closes the stream and
// returns nil.
func (b *runningBot) stop(t *testing.T) {
	t.Helper()
	b.interrupt()
	select {
	case err := <-b.done:
		assert.NoError(t, err, "an interrupted run closes the stream and returns nil")
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after ctx ended")
	}
}

// collect returns a Mux that hands the messages it receives to the
// returned channel.
func collect() (*session.Mux, <-chan *stanza.Message) {
	ch := make(chan *stanza.Message, 16)
	mux := session.NewMux()
	mux.HandleMessageFunc(session.MessageRoute{}, func(_ context.Context, _ *session.Session, m *stanza.Message) {
		select {
		case ch <- m:
		default:
		}
	})
	return mux, ch
}

// The bot against xmpptest, started as main starts it (a -server, a -ca
// file, the password from the environment): it answers chat messages that
// have a body, ignores the rest, and returns nil once ctx ends.
func TestEcho(t *testing.T) {
	srv := xmpptest.NewServer(t, &xmpptest.Config{Listen: true})
	bot, err := srv.AddUser("bot", "bot-secret")
	require.NoError(t, err)
	alice, err := srv.AddUser("alice", "alice-secret")
	require.NoError(t, err)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, srv.CertPEM(), 0o600))

	// xmpptest bounces a message to a bare JID that has no available
	// resource: wait for the bot's presence before sending it anything.
	// On Close the bot says it is leaving.
	presence := make(chan stanza.PresenceType, 2)
	srv.Watch(func(r xmpptest.Routed) {
		if p, ok := r.Stanza.(*stanza.Presence); ok && p.From.Bare() == bot && p.To.IsZero() {
			select {
			case presence <- p.Type:
			default:
			}
		}
	})

	addr, password, cfg, err := setup(options{jid: bot.String(), server: srv.Addr(), caFile: ca},
		func(string) string { return "bot-secret" })
	require.NoError(t, err)
	b := startBot(addr, password, cfg)
	defer b.interrupt()
	select {
	case typ := <-presence:
		require.Equal(t, stanza.PresenceAvailable, typ)
	case err := <-b.done:
		t.Fatalf("run returned before the bot was available: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("the bot sent no available presence")
	}

	mux, replies := collect()
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	user, err := srv.Connect(cctx, alice, "alice-secret", &session.Config{Mux: mux})
	require.NoError(t, err)
	defer user.Close(cctx)

	checkEcho(t, user, replies, bot, expectCases(t))

	b.stop(t)
	// Close waited for the server's close tag, which the server sends
	// after it has routed everything before the bot's.
	select {
	case typ := <-presence:
		assert.Equal(t, stanza.PresenceUnavailable, typ, "the bot said it was leaving")
	default:
		t.Error("the bot closed without unavailable presence")
	}
}

// When the server ends the stream, run returns why.
func TestEchoServerEndsStream(t *testing.T) {
	srv := xmpptest.NewServer(t, &xmpptest.Config{Listen: true})
	bot, err := srv.AddUser("bot", "bot-secret")
	require.NoError(t, err)
	online := make(chan jid.JID, 1)
	srv.Watch(func(r xmpptest.Routed) {
		if p, ok := r.Stanza.(*stanza.Presence); ok && p.From.Bare() == bot {
			select {
			case online <- p.From:
			default:
			}
		}
	})
	cfg := session.Config{Addr: srv.Addr(), TLSConfig: srv.TLSConfig()}
	b := startBot(bot, "bot-secret", cfg)
	defer b.interrupt()
	var full jid.JID
	select {
	case full = <-online:
	case err := <-b.done:
		t.Fatalf("run returned before the bot was available: %v", err)
	}
	require.NoError(t, srv.StreamError(full, &stanza.StreamError{Condition: stanza.StreamSystemShutdown}))
	select {
	case err := <-b.done:
		assert.ErrorIs(t, err, stanza.StreamSystemShutdown)
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after the server ended the stream")
	}
}

// A login that fails is run's error.
func TestEchoLoginFails(t *testing.T) {
	srv := xmpptest.NewServer(t, &xmpptest.Config{Listen: true})
	bot, err := srv.AddUser("bot", "bot-secret")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = run(ctx, bot, "wrong", session.Config{Addr: srv.Addr(), TLSConfig: srv.TLSConfig()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not-authorized")
}

package main

import (
	"context"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/ping"
	"github.com/parleyim/parley/presence"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/sasl"
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

// receipt is a delivery receipt (XEP-0184) with no body.
func receipt(t testing.TB) stanza.Payload {
	t.Helper()
	raw, err := stanza.ParseRaw([]byte("<received xmlns='urn:xmpp:receipts' id='m-1'/>"))
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
		{"a receipt alone gets no reply",
			&stanza.Message{Type: stanza.MessageChat, Extensions: []stanza.Payload{receipt(t)}}, false},
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
					assert.Equal(t, w.Body, r.Body, "the first reply echoes the first message that has a body")
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

// logLines is the bot's log output, one message per line, as a logger's
// writer: a log.Logger writes each message with one Write.
type logLines chan string

func (l logLines) Write(p []byte) (int, error) {
	select {
	case l <- strings.TrimSuffix(string(p), "\n"):
	default: // a test reads what it waits for; never block the bot
	}
	return len(p), nil
}

// runningBot is run running on its own goroutine, as main runs it.
type runningBot struct {
	interrupt context.CancelFunc // what SIGINT does
	done      chan error         // receives what run returns
	logs      logLines           // what run logs
}

// startBot runs the bot with cfg (a ClientConfig that fast or setup
// returns) as main runs it.
func startBot(addr jid.JID, password string, cfg session.ClientConfig) *runningBot {
	ctx, cancel := context.WithCancel(context.Background())
	b := &runningBot{interrupt: cancel, done: make(chan error, 1), logs: make(logLines, 256)}
	logger := log.New(b.logs, "", 0)
	go func() { b.done <- run(ctx, addr, password, cfg, logger) }()
	return b
}

// fast is the bot's configuration for srv with waits short enough for a
// test: a first wait up to 10 ms after a stream ended, then from 50 ms
// doubling up to half a second.
func fast(srv *xmpptest.Server) session.ClientConfig {
	return session.ClientConfig{
		Session:    &session.Config{Addr: srv.Addr(), TLSConfig: srv.TLSConfig()},
		FirstDelay: 10 * time.Millisecond, RetryDelay: 50 * time.Millisecond, MaxDelay: 500 * time.Millisecond,
	}
}

// waitLog waits until the bot logs a line that match accepts, and
// returns it with the lines passed over before it. what describes it.
// The bound is generous: a real server's restart takes seconds.
func (b *runningBot) waitLog(t *testing.T, what string, match func(line string) bool) (line string, before []string) {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case line := <-b.logs:
			if match(line) {
				return line, before
			}
			before = append(before, line)
		case err := <-b.done:
			b.done <- err // for stop
			t.Fatalf("run returned (%v) before logging %s", err, what)
		case <-timeout:
			t.Fatalf("the bot never logged %s", what)
		}
	}
}

// isPresenceLine says whether the bot's log line is about a resource
// coming online, going offline or (which it does not print) changing its
// presence.
func isPresenceLine(line string) bool {
	return strings.HasSuffix(line, " is online") || strings.HasSuffix(line, " is offline") || strings.HasSuffix(line, " is changed")
}

// online waits for the bot's first login and returns its full JID. The
// bot's own presence, which the server echoes as the login ends, is not
// printed.
func (b *runningBot) online(t *testing.T) jid.JID {
	t.Helper()
	full, before := b.connected(t)
	for _, l := range before {
		assert.False(t, isPresenceLine(l), "no one is online before the bot: %q", l)
	}
	return full
}

// connectedPrefix starts the line the bot logs when a new stream is up.
const connectedPrefix = "echobot: connected as "

// connected waits for the bot's next login on a new stream and returns
// its full JID, with the lines logged before.
func (b *runningBot) connected(t *testing.T) (full jid.JID, before []string) {
	t.Helper()
	line, before := b.waitLog(t, "that it is connected", func(line string) bool { return strings.HasPrefix(line, connectedPrefix) })
	full, err := jid.Parse(strings.TrimPrefix(line, connectedPrefix))
	require.NoError(t, err)
	return full, before
}

// nextPresence waits for the bot's next line about a resource coming
// online or going offline.
func (b *runningBot) nextPresence(t *testing.T) string {
	t.Helper()
	line, _ := b.waitLog(t, "who came online or went offline", isPresenceLine)
	return line
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

// newServer starts an xmpptest server on 127.0.0.1 with the accounts bot
// and alice.
func newServer(t *testing.T) (srv *xmpptest.Server, bot, alice jid.JID) {
	t.Helper()
	srv = xmpptest.NewServer(t, &xmpptest.Config{Listen: true})
	bot, err := srv.AddUser("bot", "bot-secret")
	require.NoError(t, err)
	alice, err = srv.AddUser("alice", "alice-secret")
	require.NoError(t, err)
	return srv, bot, alice
}

// The bot against xmpptest, started as main starts it (a -server, a -ca
// file, the password from the environment): it answers chat messages that
// have a body with the same body and thread, ignores the rest, answers
// pings, and returns nil once ctx ends, after unavailable presence.
func TestEcho(t *testing.T) {
	srv, bot, alice := newServer(t)
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

	env := map[string]string{passwordEnv: "bot-secret"}
	addr, password, cfg, err := setup(options{jid: bot.String(), server: srv.Addr(), caFile: ca},
		func(k string) string { return env[k] }, log.New(logLines(nil), "", 0))
	require.NoError(t, err)
	b := startBot(addr, password, cfg)
	defer b.interrupt()
	select {
	case typ := <-presence:
		require.Equal(t, stanza.PresenceAvailable, typ, "the bot's initial presence")
	case err := <-b.done:
		t.Fatalf("run returned before the bot was available: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("the bot sent no available presence")
	}
	botFull := b.online(t)

	mux, replies := collect()
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	user, err := srv.Connect(cctx, alice, "alice-secret", &session.Config{Mux: mux})
	require.NoError(t, err)
	defer user.Close(cctx)

	checkEcho(t, user, replies, bot, expectCases(t))

	t.Run("ping", func(t *testing.T) {
		rtt, err := ping.Send(cctx, user, botFull)
		require.NoError(t, err, "the bot answers a ping to its full JID")
		assert.Positive(t, rtt)
	})

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

// peer is a user's client with a roster and presence: it approves the
// subscription requests it gets, and reports them, the subscription
// changes, the roster pushes and the messages it receives.
type peer struct {
	s        *session.Session // set once logged in with mux
	mux      *session.Mux
	m        *presence.Manager
	requests chan jid.JID
	changes  chan presence.Change
	pushes   chan roster.Item
	replies  chan *stanza.Message
	online   chan jid.JID // the contacts' resources that come online
}

// newPeer returns a peer to log in with its mux.
func newPeer() *peer {
	p := &peer{
		mux:      session.NewMux(),
		requests: make(chan jid.JID, 8),
		changes:  make(chan presence.Change, 8),
		pushes:   make(chan roster.Item, 64),
		replies:  make(chan *stanza.Message, 16),
		online:   make(chan jid.JID, 16),
	}
	r := roster.Handle(p.mux)
	r.HandlePush(func(_ context.Context, _ *session.Session, it roster.Item) { p.pushes <- it })
	p.m = presence.Handle(p.mux, r, nil)
	p.m.HandleRequest(func(_ context.Context, _ *session.Session, req presence.Request) presence.Decision {
		p.requests <- req.From
		return presence.Approve
	})
	p.m.HandleChange(func(_ context.Context, _ *session.Session, c presence.Change) { p.changes <- c })
	p.m.HandleBroadcast(func(_ context.Context, _ *session.Session, e presence.Event) {
		if e.Op == presence.Online {
			select {
			case p.online <- e.Resource.JID:
			default:
			}
		}
	})
	p.mux.HandleMessageFunc(session.MessageRoute{}, func(_ context.Context, _ *session.Session, m *stanza.Message) {
		select {
		case p.replies <- m:
		default:
		}
	})
	return p
}

// connectPeer logs addr in to srv as a peer, with the resource "phone".
func connectPeer(t *testing.T, srv *xmpptest.Server, addr jid.JID, password string) *peer {
	t.Helper()
	p := newPeer()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := srv.Connect(ctx, addr, password, &session.Config{Mux: p.mux, Resource: "phone"})
	require.NoError(t, err)
	p.s = s
	return p
}

func (p *peer) close(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	assert.NoError(t, p.s.Close(ctx))
}

// waitChange waits for the subscription change typ from contact.
func (p *peer) waitChange(t *testing.T, contact jid.JID, typ stanza.PresenceType) {
	t.Helper()
	c := recv(t, p.changes, string(typ)+" from "+contact.String())
	assert.Equal(t, presence.Change{From: contact, Type: typ}, c)
}

// waitOnline waits until a resource of contact comes online and returns
// it. (The peer's own resource comes online too.)
func (p *peer) waitOnline(t *testing.T, contact jid.JID) jid.JID {
	t.Helper()
	for {
		if r := recv(t, p.online, "the presence of "+contact.String()); r.Bare() == contact {
			return r
		}
	}
}

// waitItem waits for a roster push that gives the peer's item for contact
// the subscription sub with nothing pending.
func (p *peer) waitItem(t *testing.T, contact jid.JID, sub roster.Subscription) {
	t.Helper()
	for {
		it := recv(t, p.pushes, "the roster item for "+contact.String()+" with subscription "+sub.String())
		if it.JID == contact && it.Subscription == sub && !it.Ask {
			return
		}
	}
}

// recv returns what ch receives next, within 10 seconds.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("never received %s", what)
		panic("unreachable")
	}
}

// item returns account's roster item for contact on srv.
func item(t *testing.T, srv *xmpptest.Server, account, contact jid.JID) (roster.Item, bool) {
	t.Helper()
	q, err := srv.Roster(account)
	require.NoError(t, err)
	for _, it := range q.Items {
		if it.JID == contact {
			return it, true
		}
	}
	return roster.Item{}, false
}

// A user who subscribes to the bot is approved and asked back; once the
// user approves, each has subscription both, and the bot logs the user's
// resource coming online and, when it leaves, going offline.
func TestSubscribeBack(t *testing.T) {
	srv, bot, alice := newServer(t)
	b := startBot(bot, "bot-secret", fast(srv))
	defer b.interrupt()
	b.online(t) // initial presence went out before Dial returned

	u := connectPeer(t, srv, alice, "alice-secret")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, u.s.Send(ctx, &stanza.Presence{Header: stanza.Header{To: bot}, Type: stanza.PresenceSubscribe}))

	assert.Equal(t, bot, recv(t, u.requests, "the bot's subscription request"), "the bot subscribes back")
	u.waitChange(t, bot, stanza.PresenceSubscribed)
	u.waitItem(t, bot, roster.SubscriptionBoth)
	it, ok := item(t, srv, bot, alice)
	require.True(t, ok, "the bot has alice in its roster")
	assert.Equal(t, roster.SubscriptionBoth, it.Subscription)
	assert.False(t, it.Ask, "nothing pending")
	it, ok = item(t, srv, alice, bot)
	require.True(t, ok)
	assert.Equal(t, roster.SubscriptionBoth, it.Subscription)
	assert.False(t, it.Ask)

	// The bot receives alice's presence from the moment its subscription
	// is approved. Its own presence, which the server sent it at login,
	// is not printed (online and nextPresence would see it).
	assert.Equal(t, "echobot: "+u.s.Addr().String()+" is online", b.nextPresence(t))
	// A change of status is not printed, going offline is.
	require.NoError(t, u.m.SetAvailable(ctx, u.s, presence.Available{Show: stanza.ShowAway}))
	u.close(t)
	assert.Equal(t, "echobot: "+u.s.Addr().String()+" is offline", b.nextPresence(t))
	b.stop(t)
}

// The bot approves a request from a contact whose presence it already
// has or has asked for, without asking again.
func TestSubscribeBackOnlyWhenNeeded(t *testing.T) {
	tests := []struct {
		name    string
		seed    *roster.Item // the bot's item for alice before she asks
		wantAsk bool
	}{
		{"no item: asks back", nil, true},
		{"subscription none: asks back", &roster.Item{Subscription: roster.SubscriptionNone}, true},
		{"already asked", &roster.Item{Subscription: roster.SubscriptionNone, Ask: true}, false},
		{"subscription to", &roster.Item{Subscription: roster.SubscriptionTo}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, bot, alice := newServer(t)
			if tt.seed != nil {
				it := *tt.seed
				it.JID = alice
				require.NoError(t, srv.SetRosterItem(bot, it))
			}
			asked := make(chan struct{}, 4)
			srv.Watch(func(r xmpptest.Routed) {
				if p, ok := r.Stanza.(*stanza.Presence); ok && p.From.Bare() == bot && p.Type == stanza.PresenceSubscribe {
					asked <- struct{}{}
				}
			})
			b := startBot(bot, "bot-secret", fast(srv))
			defer b.interrupt()
			b.online(t)

			u := connectPeer(t, srv, alice, "alice-secret")
			defer u.close(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			require.NoError(t, u.s.Send(ctx, &stanza.Presence{Header: stanza.Header{To: bot}, Type: stanza.PresenceSubscribe}))
			// The bot asks before it approves, so once the approval has
			// arrived a request of the bot's has been routed, if any.
			u.waitChange(t, bot, stanza.PresenceSubscribed)
			assert.Equal(t, tt.wantAsk, len(asked) == 1, "the bot asked back")
			assert.LessOrEqual(t, len(asked), 1)
			b.stop(t)
		})
	}
}

// restart restarts srv under the bot, as an operator restarts a server:
// xmpptest's Restart ends every stream with system-shutdown, keeps
// accounts and rosters, and accepts connections on the same address
// again before it returns.
func restart(t *testing.T, srv *xmpptest.Server) {
	t.Helper()
	require.NoError(t, srv.Restart())
}

// checkEnded checks the lines the bot logged before it connected again:
// first that it was disconnected and why, and that the session ended
// (what a new stream follows) — at once when it read the stream error,
// or after the session's attempt to resume was refused when the
// connection broke first (the bot was writing as the server closed it;
// Prosody closes a resumable stream without an error as it stops).
// Contacts going offline as the server stops may come before.
func checkEnded(t *testing.T, before []string) {
	t.Helper()
	var lines []string
	for _, l := range before {
		if !isPresenceLine(l) {
			lines = append(lines, l)
		}
	}
	require.NotEmpty(t, lines, "the bot logged nothing before it connected again")
	assert.True(t, strings.HasPrefix(lines[0], "echobot: disconnected"), "first it logs why: %q", before)
	assert.True(t, slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "echobot: disconnected: ") }),
		"it logs why the session ended: %q", before)
}

// When the server ends the bot's stream, the bot logs why and comes back
// — on a new stream, where a contact sees its presence again, or, after
// a broken connection, on the same stream resumed — and echoes a message
// sent after it.
func TestEchoReconnects(t *testing.T) {
	tests := []struct {
		name    string
		end     func(t *testing.T, srv *xmpptest.Server, bot jid.JID)
		resumed bool
	}{
		{"system-shutdown", func(t *testing.T, srv *xmpptest.Server, bot jid.JID) {
			require.NoError(t, srv.StreamError(bot, &stanza.StreamError{Condition: stanza.StreamSystemShutdown}))
		}, false},
		{"server restart", func(t *testing.T, srv *xmpptest.Server, _ jid.JID) { restart(t, srv) }, false},
		{"connection broken", func(t *testing.T, srv *xmpptest.Server, bot jid.JID) {
			require.NoError(t, srv.Drop(bot))
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, bot, alice := newServer(t)
			require.NoError(t, srv.SetRosterItem(bot, roster.Item{JID: alice, Subscription: roster.SubscriptionBoth}))
			require.NoError(t, srv.SetRosterItem(alice, roster.Item{JID: bot, Subscription: roster.SubscriptionBoth}))
			b := startBot(bot, "bot-secret", fast(srv))
			defer b.interrupt()
			first := b.online(t)

			tt.end(t, srv, first)
			var again jid.JID
			if tt.resumed {
				_, before := b.waitLog(t, "that it resumed", func(l string) bool { return l == "echobot: connected (resumed)" })
				t.Logf("the bot logged %q", before)
				require.NotEmpty(t, before)
				assert.True(t, strings.HasPrefix(before[0], "echobot: disconnected (resuming): "), "first it logs why: %q", before)
				again = first
			} else {
				var before []string
				again, before = b.connected(t)
				t.Logf("the bot logged %q", before)
				checkEnded(t, before)
			}
			assert.Contains(t, srv.Resources(bot), again, "the bot is bound")

			// alice logs in now: the server sends her the bot's presence,
			// which it has only if the bot sent it on its new stream.
			u := connectPeer(t, srv, alice, "alice-secret")
			defer u.close(t)
			assert.Equal(t, again, u.waitOnline(t, bot))
			checkEcho(t, u.s, u.replies, bot, expectCases(t)[:1])
			b.stop(t)
		})
	}
}

// Ctrl-C while the bot waits to log in again stops it at once, and run
// returns nil.
func TestEchoInterruptWhileWaiting(t *testing.T) {
	srv, bot, _ := newServer(t)
	cfg := fast(srv)
	cfg.FirstDelay = time.Hour
	b := startBot(bot, "bot-secret", cfg)
	defer b.interrupt()
	full := b.online(t)
	require.NoError(t, srv.StreamError(full, &stanza.StreamError{Condition: stanza.StreamSystemShutdown}))
	b.waitLog(t, "that it waits", func(l string) bool { return strings.HasPrefix(l, "echobot: reconnecting in ") })
	b.stop(t)
}

// A wrong password stops the bot at once: run returns the SASL error
// after logging that it gave up, and never tries again.
func TestEchoLoginFails(t *testing.T) {
	srv, bot, _ := newServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	logs := make(logLines, 16)
	err := run(ctx, bot, "wrong", fast(srv), log.New(logs, "", 0))
	require.ErrorIs(t, err, sasl.NotAuthorized)
	var lines []string // Run delivered every event before it returned
	for len(logs) > 0 {
		lines = append(lines, <-logs)
	}
	assert.Equal(t, []string{"echobot: gave up: " + err.Error()}, lines, "no retry")
}

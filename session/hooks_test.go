package session

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/parleyim/parley/internal/testkit/scripted"
	"github.com/parleyim/parley/stanza"
)

const nsRoster = "jabber:iq:roster"

// events records what happened, in order, from several goroutines.
type events struct {
	mu   sync.Mutex
	list []string
}

func (e *events) add(s string) {
	e.mu.Lock()
	e.list = append(e.list, s)
	e.mu.Unlock()
}

func (e *events) get() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.list...)
}

// recv waits for a value, failing the test after a while.
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("nothing arrived")
		var zero T
		return zero
	}
}

// The roster hook finishes its round trip before the presence hook sends
// initial presence; a message that arrives meanwhile waits for both; New
// returns after them.
func TestStartHooksRunInOrderBeforeHandlers(t *testing.T) {
	var ev events
	handled := make(chan struct{})
	cfg := clientConfig(t)
	cfg.Mux = NewMux()
	cfg.Mux.HandleMessageFunc(MessageRoute{}, func(_ context.Context, _ *Session, m *stanza.Message) {
		ev.add("handler " + m.Body)
		close(handled)
	})
	cfg.Mux.HandleStart(func(ctx context.Context, s *Session, resumed bool) {
		ev.add(fmt.Sprintf("roster hook (resumed %v)", resumed))
		_, err := s.SendIQ(ctx, &stanza.IQ{Type: stanza.IQGet, Payload: emptyElement{nsRoster, "query"}})
		ev.add(fmt.Sprintf("roster fetched (err %v)", err))
	})
	cfg.Mux.HandleStart(func(ctx context.Context, s *Session, _ bool) {
		ev.add("presence hook")
		assert.NoError(t, s.Send(ctx, &stanza.Presence{}))
	})

	var p *peer
	var sent []string
	s, wait, err := dialPeerWait(t, juliet, cfg, func(pp *peer) {
		pp.Login()
		iq := pp.Expect("iq") // not presence: the roster hook runs first
		sent = append(sent, elemString(iq))
		// Read before the reply: it waits for the hooks.
		pp.Send("<message from='romeo@example.net/a'><body>early</body></message>")
		pp.Send(fmt.Sprintf("<iq type='result' id='%s'/>", iq.Attr("id")))
		sent = append(sent, elemString(pp.Expect("presence")))
		p = pp
	})
	require.NoError(t, err)
	ev.add("New returned")
	wait()
	require.NotNil(t, p)
	closed := p.AwaitClose()
	defer func() { closeSession(t, s); <-closed }()

	recv(t, handled)
	require.Len(t, sent, 2)
	assert.Contains(t, sent[0], "<query xmlns='jabber:iq:roster'")
	assert.Contains(t, sent[1], "<presence")
	got := ev.get()
	require.Len(t, got, 5)
	assert.Equal(t, []string{"roster hook (resumed false)", "roster fetched (err <nil>)", "presence hook"}, got[:3])
	assert.ElementsMatch(t, []string{"New returned", "handler early"}, got[3:],
		"the handler runs after the hooks; New returns after them too")
}

// End hooks run once, in order, after the last handler has returned, with
// the cause the session reports; a hook that panics does not stop the
// next.
func TestEndHooks(t *testing.T) {
	tests := []struct {
		name string
		// end ends the session; the channel it returns, if any, is
		// closed when it has finished.
		end   func(s *Session, p *peer) <-chan struct{}
		check func(t *testing.T, err error)
	}{
		{
			name: "Close",
			end: func(s *Session, p *peer) <-chan struct{} {
				closed := p.AwaitClose()
				done := make(chan struct{})
				go func() { _ = s.Close(context.Background()); <-closed; close(done) }()
				return done
			},
			check: func(t *testing.T, err error) { assert.Equal(t, ErrClosed, err) },
		},
		{
			name: "server stream error",
			end: func(_ *Session, p *peer) <-chan struct{} {
				p.Send("<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>")
				return nil
			},
			check: func(t *testing.T, err error) {
				var se *stanza.StreamError
				require.ErrorAs(t, err, &se)
				assert.Equal(t, stanza.StreamConflict, se.Condition)
			},
		},
		{
			name: "server closes the stream",
			end: func(_ *Session, p *peer) <-chan struct{} {
				p.Send("</stream:stream>")
				return nil
			},
			check: func(t *testing.T, err error) { assert.ErrorContains(t, err, "server closed the stream") },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev events
			entered, release := make(chan struct{}), make(chan struct{})
			ended := make(chan error, 2)
			cfg := clientConfig(t)
			cfg.Mux = NewMux()
			cfg.Mux.HandleMessageFunc(MessageRoute{}, func(context.Context, *Session, *stanza.Message) {
				close(entered)
				<-release
				ev.add("handler returned")
			})
			cfg.Mux.HandleEnd(func(*Session, error) {
				ev.add("end hook 1")
				panic("end hook bug")
			})
			cfg.Mux.HandleEnd(func(s *Session, err error) {
				ev.add("end hook 2")
				assert.Equal(t, s.Err(), err, "the cause is what Err returns")
				ended <- err
			})
			s, p := establish(t, cfg)
			p.Send("<message from='romeo@example.net/a'><body>slow</body></message>")
			recv(t, entered)
			finished := tt.end(s, p)
			recv(t, s.Done())
			select {
			case <-ended:
				t.Fatal("an end hook ran while a handler was running")
			case <-time.After(20 * time.Millisecond):
			}
			close(release)
			err := recv(t, ended)
			tt.check(t, err)
			if finished != nil {
				recv(t, finished)
			}
			closeSession(t, s)
			assert.Equal(t, []string{"handler returned", "end hook 1", "end hook 2"}, ev.get())
			assert.Empty(t, ended, "end hooks run once")
		})
	}
}

// An idle session (no dispatcher running) still runs its end hooks, and
// Close waits for them.
func TestEndHooksOfIdleSession(t *testing.T) {
	cfg := clientConfig(t)
	cfg.Mux = NewMux()
	var ran bool
	cfg.Mux.HandleEnd(func(*Session, error) {
		time.Sleep(10 * time.Millisecond) // Close must wait for this
		ran = true
	})
	s, p := establish(t, cfg)
	closed := p.AwaitClose()
	require.NoError(t, s.Close(context.Background()))
	<-closed
	assert.True(t, ran, "Close returned before the end hook had run")
}

// When the start hooks do not return in time, or the stream ends while
// they run, Dial fails, closes the session and leaks nothing; the end
// hooks still run, with the cause.
func TestStartHooksFail(t *testing.T) {
	tests := []struct {
		name string
		// server runs after login and after the start hook's request.
		server func(p *peer, id string, cancel context.CancelFunc)
		// closes makes the hook close the session after the reply.
		closes bool
		want   error
	}{
		{
			name:   "ctx ends",
			server: func(_ *peer, _ string, cancel context.CancelFunc) { cancel() }, // and never answers
			want:   context.Canceled,
		},
		{
			name: "stream ends",
			server: func(p *peer, _ string, _ context.CancelFunc) {
				p.Send("<stream:error><system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>")
			},
			want: stanza.StreamSystemShutdown,
		},
		{
			name: "a hook closes the session",
			server: func(p *peer, id string, _ context.CancelFunc) {
				p.Send(fmt.Sprintf("<iq type='result' id='%s'/>", id))
			},
			closes: true,
			want:   ErrClosed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			hookDone, endErr := make(chan struct{}), make(chan error, 1)
			cfg := clientConfig(t)
			cfg.Mux = NewMux()
			cfg.Mux.HandleStart(func(ctx context.Context, s *Session, _ bool) {
				defer close(hookDone)
				_, err := s.SendIQ(ctx, &stanza.IQ{Type: stanza.IQGet, Payload: emptyElement{nsRoster, "query"}})
				if tt.closes {
					require.NoError(t, err)
					assert.NoError(t, s.Close(ctx), "Close from a start hook returns")
					return
				}
				assert.Error(t, err, "no reply")
			})
			cfg.Mux.HandleEnd(func(_ *Session, err error) { endErr <- err })

			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			defer ln.Close()
			served := make(chan struct{})
			go func() {
				defer close(served)
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				p := scripted.NewPeer(t, c)
				p.Login()
				tt.server(p, p.Expect("iq").Attr("id"), cancel)
				p.ExpectClosed()
			}()
			cfg.Addr = ln.Addr().String()
			s, err := Dial(ctx, juliet, "r0m30myr0m30", cfg)
			assert.Nil(t, s)
			require.ErrorIs(t, err, tt.want)
			assert.ErrorContains(t, err, "start hooks")
			recv(t, hookDone)
			assert.ErrorIs(t, recv(t, endErr), tt.want, "the end hooks see the cause")
			recv(t, served) // the client closed the connection
		})
	}
}

// Without hooks a session starts nothing for them: no dispatcher runs
// until a stanza comes.
func TestNoHooksNoDispatcher(t *testing.T) {
	s, _ := establish(t, clientConfig(t))
	s.queue.mu.Lock()
	defer s.queue.mu.Unlock()
	assert.False(t, s.queue.running)
}

func TestHookPanicIsRecovered(t *testing.T) {
	cfg := clientConfig(t)
	cfg.Mux = NewMux()
	cfg.Mux.HandleStart(func(context.Context, *Session, bool) { panic("start hook bug") })
	second := make(chan struct{})
	cfg.Mux.HandleStart(func(context.Context, *Session, bool) { close(second) })
	s, p := establish(t, cfg)
	recv(t, second)
	pingRoundTrip(t, s, p)
	assert.NoError(t, s.Err(), "the session goes on")
}

// Close hooks run once, in order, while the stream is still open: what
// they send goes out before Close's unavailable presence and the close
// tag; a hook that panics does not stop the next. When the server ends the
// stream instead, they do not run.
func TestCloseHooks(t *testing.T) {
	var ev events
	cfg := clientConfig(t)
	cfg.Mux = NewMux()
	cfg.Mux.HandleClose(func(ctx context.Context, s *Session) {
		ev.add("close hook 1")
		assert.NoError(t, s.Send(ctx, &stanza.Presence{Header: stanza.Header{To: mustJID("room@example.net/nick")}, Type: stanza.PresenceUnavailable}))
		panic("close hook bug")
	})
	cfg.Mux.HandleClose(func(_ context.Context, s *Session) {
		ev.add("close hook 2")
		assert.NoError(t, s.Err(), "the stream has not ended yet")
	})
	cfg.Mux.HandleEnd(func(*Session, error) { ev.add("end hook") })
	s, p := establish(t, cfg)
	require.NoError(t, s.Send(context.Background(), &stanza.Presence{}))
	assert.Contains(t, elemString(p.Expect("presence")), "<presence")
	closed := p.AwaitClose()
	require.NoError(t, s.Close(context.Background()))
	require.NoError(t, s.Close(context.Background()), "a second Close runs nothing again")
	sent := <-closed
	require.Len(t, sent, 2)
	assert.Contains(t, sent[0], "to='room@example.net/nick'", "the hook's presence first")
	assert.NotContains(t, sent[1], " to=", "then the broadcast unavailable")
	assert.Contains(t, sent[1], "type='unavailable'")
	assert.Equal(t, []string{"close hook 1", "close hook 2", "end hook"}, ev.get())

	// The server ends the stream: no close hook, the end hook still.
	var ev2 events
	cfg = clientConfig(t)
	cfg.Mux = NewMux()
	cfg.Mux.HandleClose(func(context.Context, *Session) { ev2.add("close hook") })
	cfg.Mux.HandleEnd(func(*Session, error) { ev2.add("end hook") })
	s, p = establish(t, cfg)
	p.Send("</stream:stream>")
	waitEnd(t, s)
	closeSession(t, s)
	assert.Equal(t, []string{"end hook"}, ev2.get())
}

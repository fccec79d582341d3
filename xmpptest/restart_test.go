package xmpptest_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/stanza"
	"github.com/parleyim/parley/xmpptest"
)

// TestRestartEndsStreamsKeepsState restarts under connected sessions:
// they end with system-shutdown, their resources are gone, and the
// accounts, the roster with its version and an offline message are kept;
// the server answers on the same address, by TCP and in memory.
func TestRestartEndsStreamsKeepsState(t *testing.T) {
	t.Parallel()
	srv := newServer(t, &xmpptest.Config{Listen: true})
	addr := srv.Addr()
	require.NoError(t, srv.SetRosterItem(account(srv, "alice"), roster.Item{JID: account(srv, "bob"), Name: "Bob", Subscription: roster.SubscriptionBoth}))
	before, err := srv.Roster(account(srv, "alice"))
	require.NoError(t, err)
	a, _ := login(t, srv, "alice/desk", nil)
	b, _ := login(t, srv, "bob/desk", nil)
	available(t, b, 0)
	require.NoError(t, a.Send(ctx(t), chat(account(srv, "carol"), "while you were away")))
	syncServer(t, a)

	require.NoError(t, srv.Restart())
	for _, s := range []interface {
		Done() <-chan struct{}
		Err() error
	}{a, b} {
		<-s.Done()
		assert.ErrorIs(t, s.Err(), stanza.StreamSystemShutdown)
	}
	assert.Empty(t, srv.Resources(account(srv, "alice")))
	assert.Empty(t, srv.Resources(account(srv, "bob")))
	assert.Equal(t, addr, srv.Addr())
	after, err := srv.Roster(account(srv, "alice"))
	require.NoError(t, err)
	assert.Equal(t, before, after, "the roster and its version")

	conn, err := net.Dial("tcp", srv.Addr())
	require.NoError(t, err, "TCP on the same address")
	conn.Close()
	c, in := login(t, srv, "carol", nil)
	available(t, c, 0)
	assert.Equal(t, "while you were away", in.message(t).Body)
}

// TestShutdownRefusesUntilRestart keeps the server down: dials fail
// (TCP refused, ErrDown in memory) until Restart.
func TestShutdownRefusesUntilRestart(t *testing.T) {
	t.Parallel()
	srv := newServer(t, &xmpptest.Config{Listen: true})
	a, _ := login(t, srv, "alice", nil)
	require.NoError(t, srv.Shutdown())
	<-a.Done()
	assert.ErrorIs(t, a.Err(), stanza.StreamSystemShutdown)
	require.NoError(t, srv.Shutdown(), "Shutdown twice")

	_, err := net.Dial("tcp", srv.Addr())
	assert.Error(t, err, "TCP refused while down")
	_, err = srv.Pipe()
	assert.ErrorIs(t, err, xmpptest.ErrDown)
	_, err = srv.DialContext(ctx(t), "tcp", "pipe")
	assert.ErrorIs(t, err, xmpptest.ErrDown)
	_, err = srv.Connect(ctx(t), account(srv, "alice"), "pw-alice", nil)
	assert.ErrorIs(t, err, xmpptest.ErrDown)

	require.NoError(t, srv.Restart())
	login(t, srv, "alice", nil)
	conn, err := net.Dial("tcp", srv.Addr())
	require.NoError(t, err)
	conn.Close()
}

// TestRestartAfterClose: Shutdown and Restart after Close return
// ErrClosed, Close after Shutdown ends the server.
func TestRestartAfterClose(t *testing.T) {
	t.Parallel()
	srv, err := xmpptest.Start(&xmpptest.Config{Listen: true})
	require.NoError(t, err)
	require.NoError(t, srv.Shutdown())
	require.NoError(t, srv.Close())
	assert.ErrorIs(t, srv.Restart(), xmpptest.ErrClosed)
	assert.ErrorIs(t, srv.Shutdown(), xmpptest.ErrClosed)
	_, err = srv.Pipe()
	assert.ErrorIs(t, err, xmpptest.ErrClosed)
}

// TestRestartPortTaken: when another listener took the address while the
// server was down, Restart says so and the server stays down.
func TestRestartPortTaken(t *testing.T) {
	t.Parallel()
	srv := newServer(t, &xmpptest.Config{Listen: true})
	require.NoError(t, srv.Shutdown())
	taken, err := net.Listen("tcp", srv.Addr())
	require.NoError(t, err)
	err = srv.Restart()
	require.Error(t, err)
	assert.Contains(t, err.Error(), srv.Addr())
	_, err = srv.Pipe()
	assert.ErrorIs(t, err, xmpptest.ErrDown)
	taken.Close()
	require.NoError(t, srv.Restart())
	login(t, srv, "alice", nil)
}

// TestRestartUnderTraffic restarts while sessions log in, send presence
// and messages, lose their connections and resume, and close (for the
// race detector, and for Restart's wait for every connection to end).
func TestRestartUnderTraffic(t *testing.T) {
	t.Parallel()
	srv := newServer(t, &xmpptest.Config{Listen: true})
	const senders = 4
	var wg sync.WaitGroup
	stop := make(chan struct{})
	connected := make(chan struct{}, senders)
	for i := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				me := account(srv, fmt.Sprintf("alice/r%d", i))
				s, err := srv.Connect(ctx, me, "pw-alice", nil)
				if err == nil {
					select {
					case connected <- struct{}{}:
					default:
					}
					_ = s.Send(ctx, &stanza.Presence{})
					for n := range 20 {
						if n%5 == 4 {
							// The session resumes (stream
							// management), so resumptions run
							// into the restarts too.
							_ = srv.Drop(me)
						}
						if s.Send(ctx, chat(account(srv, "bob"), "hi")) != nil {
							break
						}
					}
					_ = s.Close(ctx)
				}
				cancel()
			}
		}()
	}
	for range 10 {
		// Each restart comes while sessions are at work.
		for range 2 {
			select {
			case <-connected:
			case <-time.After(10 * time.Second):
				require.FailNow(t, "no session connected within 10 s")
			}
		}
		require.NoError(t, srv.Restart())
	}
	close(stop)
	wg.Wait()
	require.NoError(t, srv.Restart())
	login(t, srv, "alice", nil)
}

package session

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/testkit/scripted"
	"github.com/parleyim/parley/sasl"
	"github.com/parleyim/parley/stanza"
)

// The Client against scripted servers: each connection it makes is
// served by the next script; a connection beyond them is refused.

// clientRig runs a Client against scripts and records its events.
type clientRig struct {
	t      *testing.T
	c      *Client
	events chan Event
	runErr chan error
	cancel context.CancelFunc

	mu    sync.Mutex
	addrs []string // addresses dialled, in order
}

// fastClient is a ClientConfig whose waits are short and distinct: a
// first wait is at most 5 ms, a retry at least 10 ms.
func fastClient(cfg *Config) *ClientConfig {
	return &ClientConfig{Session: cfg, FirstDelay: 5 * time.Millisecond, RetryDelay: 20 * time.Millisecond,
		MaxDelay: 40 * time.Millisecond, StableAfter: time.Hour}
}

func runClient(t *testing.T, ccfg *ClientConfig, scripts ...func(p *peer)) *clientRig {
	t.Helper()
	r := &clientRig{t: t, events: make(chan Event, 256), runErr: make(chan error, 1)}
	cfg := *ccfg.Session
	cfg.Addr = "scripted:5222"
	next := 0
	cfg.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		r.mu.Lock()
		r.addrs = append(r.addrs, addr)
		i := next
		next++
		r.mu.Unlock()
		if i >= len(scripts) {
			return nil, errors.New("no more scripted connections")
		}
		conn, _ := scripted.Start(t, scripts[i])
		return conn, nil
	}
	cc := *ccfg
	cc.Session = &cfg
	cc.Events = func(e Event) {
		select {
		case r.events <- e:
		default: // a test reads the first events only
		}
	}
	r.c = NewClient(juliet, scripted.Password, &cc)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.runErr <- r.c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.c.Done():
		case <-time.After(10 * time.Second):
			t.Error("Run did not return")
		}
	})
	return r
}

// next returns the next event.
func (r *clientRig) next() Event {
	r.t.Helper()
	select {
	case e := <-r.events:
		return e
	case <-time.After(10 * time.Second):
		r.t.Fatal("no event")
		return Event{}
	}
}

// expect returns the next event, which must be of kind k.
func (r *clientRig) expect(k EventKind) Event {
	r.t.Helper()
	e := r.next()
	require.Equal(r.t, k, e.Kind, "event %v", e)
	return e
}

// The scripts' own cleanups wait for them, and run before the rig's: a
// test that ends connected closes the Client itself.

// wait returns what Run returned.
func (r *clientRig) wait() error {
	r.t.Helper()
	select {
	case err := <-r.runErr:
		return err
	case <-time.After(10 * time.Second):
		r.t.Fatal("Run did not return")
		return nil
	}
}

func (r *clientRig) dialled() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.addrs...)
}

// TestClientReconnects: a stream ended by the server (system-shutdown) is
// followed, after a random first wait, by a new session on which the
// start hooks run again as a new stream; a Send made in between waits
// for it.
func TestClientReconnects(t *testing.T) {
	cfg := clientConfig(t)
	var mu sync.Mutex
	var starts []bool
	mux := NewMux()
	mux.HandleStart(func(ctx context.Context, s *Session, resumed bool) {
		mu.Lock()
		starts = append(starts, resumed)
		mu.Unlock()
	})
	cfg.Mux = mux
	cc := fastClient(cfg)
	cc.StableAfter = time.Nanosecond
	shut := make(chan struct{})
	gate := make(chan struct{})
	got := make(chan string, 1)
	r := runClient(t, cc, func(p *peer) {
		p.Login()
		<-shut
		p.Send("<stream:error><system-shutdown xmlns='" + ns.StreamErrors + "'/></stream:error></stream:stream>")
		p.ExpectClosed()
	}, func(p *peer) {
		<-gate
		p.Login()
		got <- bodyOf(t, p.Expect("message"))
		p.ExpectClosed()
	})
	first := r.expect(Connected)
	assert.False(t, first.Resumed)
	assert.Equal(t, juliet.String()+"/generated", r.c.Addr().String())
	close(shut)
	e := r.expect(Disconnected)
	require.ErrorIs(t, e.Err, stanza.StreamSystemShutdown)
	assert.Same(t, first.Session, e.Session)
	e = r.expect(Reconnecting)
	assert.LessOrEqual(t, e.Delay, 5*time.Millisecond, "the first wait is drawn up to FirstDelay")

	sent := make(chan error, 1)
	go func() { sent <- r.c.Send(context.Background(), smChat("while away")) }()
	close(gate)
	second := r.expect(Connected)
	assert.NotSame(t, first.Session, second.Session)
	require.NoError(t, <-sent)
	assert.Equal(t, "while away", <-got)

	require.NoError(t, r.c.Close(context.Background()))
	require.ErrorIs(t, r.wait(), ErrClosed)
	require.ErrorIs(t, r.c.Send(context.Background(), smChat("late")), ErrClosed)
	mu.Lock()
	assert.Equal(t, []bool{false, false}, starts, "each session is a new stream")
	mu.Unlock()
}

// TestClientSendWaitsWithCtx: while there is no session Send waits, and
// gives up with its ctx.
func TestClientSendWaitsWithCtx(t *testing.T) {
	r := runClient(t, fastClient(clientConfig(t)))
	e := r.expect(Disconnected) // the only dial waits, then fails
	require.Error(t, e.Err, "a failed dial says why")
	assert.Nil(t, e.Session, "no session was made")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := r.c.Send(ctx, smChat("nobody"))
	require.ErrorIs(t, err, context.Canceled)
	_, err = r.c.SendIQ(ctx, &stanza.IQ{Type: stanza.IQGet})
	require.ErrorIs(t, err, context.Canceled)
}

// TestClientFinal: what stops the Client, and what does not.
func TestClientFinal(t *testing.T) {
	refuse := func(cond string) func(p *peer) {
		return func(p *peer) {
			p.Header()
			p.Features(featStartTLS)
			p.StartTLS()
			p.Header()
			p.Features(mechanisms("SCRAM-SHA-1"))
			p.Expect("auth")
			p.Send("<failure xmlns='" + ns.SASL + "'><" + cond + "/></failure>")
			p.ExpectClosed()
		}
	}
	streamError := func(cond string) func(p *peer) {
		return func(p *peer) {
			p.Login()
			p.Send("<stream:error><" + cond + " xmlns='" + ns.StreamErrors + "'/></stream:error></stream:stream>")
			p.ExpectClosed()
		}
	}
	login := func(p *peer) {
		p.Login()
		p.ExpectClosed()
	}
	for _, tc := range []struct {
		name       string
		onConflict bool
		scripts    []func(p *peer)
		final      error // nil: the Client connects again
	}{
		{name: "wrong password", scripts: []func(p *peer){refuse("not-authorized")}, final: sasl.NotAuthorized},
		{name: "account disabled", scripts: []func(p *peer){refuse("account-disabled")}, final: &sasl.Failure{}},
		{name: "temporary-auth-failure", scripts: []func(p *peer){refuse("temporary-auth-failure"), login}},
		{name: "conflict", scripts: []func(p *peer){streamError("conflict")}, final: stanza.StreamConflict},
		{name: "conflict allowed", onConflict: true, scripts: []func(p *peer){streamError("conflict"), login}},
		{name: "host-unknown", scripts: []func(p *peer){streamError("host-unknown")}, final: stanza.StreamHostUnknown},
		{name: "policy-violation", scripts: []func(p *peer){streamError("policy-violation"), login}},
		{name: "reset", scripts: []func(p *peer){streamError("reset"), login}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc := fastClient(clientConfig(t))
			cc.ReconnectOnConflict = tc.onConflict
			r := runClient(t, cc, tc.scripts...)
			if tc.final != nil {
				var e Event
				for e = r.next(); e.Kind != GaveUp; e = r.next() {
					require.NotEqual(t, Reconnecting, e.Kind, "a final reason is not retried: %v", e)
				}
				err := r.wait()
				var f *sasl.Failure
				if errors.As(tc.final, &f) {
					require.ErrorAs(t, err, &f)
				} else {
					require.ErrorIs(t, err, tc.final)
				}
				assert.Equal(t, err, e.Err)
				assert.Len(t, r.dialled(), 1, "no second attempt")
				return
			}
			for e := r.next(); ; e = r.next() {
				if e.Kind == Connected && len(r.dialled()) == len(tc.scripts) {
					break
				}
				require.NotEqual(t, GaveUp, e.Kind, "%v", e)
			}
			require.NoError(t, r.c.Close(context.Background()))
			require.ErrorIs(t, r.wait(), ErrClosed)
		})
	}
}

// TestClientCancelDuringWait: ctx ends Run while it waits to dial again.
func TestClientCancelDuringWait(t *testing.T) {
	cc := fastClient(clientConfig(t))
	cc.RetryDelay, cc.MaxDelay = time.Hour, time.Hour
	r := runClient(t, cc) // the one dial fails
	r.expect(Disconnected)
	e := r.expect(Reconnecting)
	assert.GreaterOrEqual(t, e.Delay, 30*time.Minute, "after a failed attempt the wait is RetryDelay's")
	r.cancel()
	require.ErrorIs(t, r.wait(), context.Canceled)
	_, err := r.c.Session(context.Background())
	require.ErrorIs(t, err, ErrClosed)
}

// TestClientCancelClosesPolitely: when ctx ends, Run closes the current
// stream with its close tag.
func TestClientCancelClosesPolitely(t *testing.T) {
	closed := make(chan []string, 1)
	r := runClient(t, fastClient(clientConfig(t)), func(p *peer) {
		p.Login()
		closed <- p.ExpectClosed()
	})
	r.expect(Connected)
	r.cancel()
	require.ErrorIs(t, r.wait(), context.Canceled)
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream was not closed")
	}
}

// TestClientStableResets: the wait after a session that lasted
// StableAfter starts again from FirstDelay; after a shorter one it is
// RetryDelay's.
func TestClientStableResets(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stable time.Duration
		min    time.Duration
		max    time.Duration
	}{
		{name: "stable", stable: time.Nanosecond, max: 5 * time.Millisecond},
		{name: "short", stable: time.Hour, min: 10 * time.Millisecond, max: 20 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc := fastClient(clientConfig(t))
			cc.StableAfter = tc.stable
			r := runClient(t, cc, func(p *peer) {
				p.Login()
				p.Conn().Close()
			})
			r.expect(Connected)
			r.expect(Disconnected)
			e := r.expect(Reconnecting)
			assert.GreaterOrEqual(t, e.Delay, tc.min)
			assert.LessOrEqual(t, e.Delay, tc.max)
		})
	}
}

// TestClientDelays: the waits' bounds, drawn many times.
func TestClientDelays(t *testing.T) {
	c := NewClient(juliet, "", &ClientConfig{FirstDelay: time.Second, RetryDelay: 2 * time.Second, MaxDelay: 10 * time.Second})
	for range 1000 {
		d := c.delay(0)
		require.True(t, d >= 0 && d <= time.Second, "first %v", d)
		for n, want := range []time.Duration{2, 4, 8, 10, 10} {
			want *= time.Second
			d := c.delay(n + 1)
			require.True(t, d >= want/2 && d <= want, "failures %d: %v, want in [%v, %v]", n+1, d, want/2, want)
		}
	}
	def := NewClient(juliet, "", nil)
	assert.Equal(t, time.Minute, def.cfg.firstDelay(), "RFC 6120 §3.3")
	none := NewClient(juliet, "", &ClientConfig{FirstDelay: -1})
	assert.Zero(t, none.delay(0))
}

// TestClientResendsUnacked: a resumption the server refuses ends the
// session with what it never acknowledged; the Client sends those
// messages again, once, on the new session.
func TestClientResendsUnacked(t *testing.T) {
	cfg := smConfig(t)
	cut := make(chan struct{})
	again := make(chan []string, 1)
	r := runClient(t, fastClient(cfg), func(p *peer) {
		loginSM(p, "id='s-1' resume='true'")
		p.Expect("message")
		p.Expect("message")
		p.Send("<a xmlns='" + ns.SM + "' h='1'/>")
		p.Send("<iq type='get' id='sync' from='example.com'><ping xmlns='urn:xmpp:ping'/></iq>")
		p.Expect("iq")
		<-cut
		p.Conn().Close()
	}, func(p *peer) {
		resumeSM(p)
		p.Send("<failed xmlns='" + ns.SM + "'><item-not-found xmlns='" + ns.StanzaErrors + "'/></failed>")
		p.ExpectClosed()
	}, func(p *peer) {
		loginSM(p, "id='s-2' resume='true'")
		var bodies []string
		rest := ackUntilClosed(p, 0)
		for _, s := range rest {
			if st, err := decodeSent([]byte(s)); err == nil {
				if m, ok := st.(*stanza.Message); ok {
					bodies = append(bodies, m.Body)
				}
			}
		}
		again <- bodies
	})
	r.expect(Connected)
	ctx := context.Background()
	require.NoError(t, r.c.Send(ctx, smChat("out-1")))
	require.NoError(t, r.c.Send(ctx, smChat("out-2")))
	close(cut)
	e := r.expect(Disconnected)
	assert.True(t, e.Resuming)
	e = r.expect(Disconnected)
	require.ErrorIs(t, e.Err, ErrResumeRefused)
	r.expect(Reconnecting)
	r.expect(Connected)
	require.NoError(t, r.c.Send(ctx, smChat("out-3")))
	require.NoError(t, r.c.Close(ctx))
	assert.Equal(t, []string{"out-2", "out-3"}, <-again)
}

// TestClientSeeOtherHost: see-other-host on an established stream sends
// the next attempt to the host it names.
func TestClientSeeOtherHost(t *testing.T) {
	r := runClient(t, fastClient(clientConfig(t)), func(p *peer) {
		p.Login()
		p.Send("<stream:error><see-other-host xmlns='" + ns.StreamErrors + "'>other.example:5999</see-other-host></stream:error></stream:stream>")
		p.ExpectClosed()
	}, func(p *peer) {
		p.Login()
		p.ExpectClosed()
	})
	r.expect(Connected)
	require.ErrorIs(t, r.expect(Disconnected).Err, stanza.StreamSeeOtherHost)
	r.expect(Reconnecting)
	r.expect(Connected)
	assert.Equal(t, []string{"scripted:5222", "other.example:5999"}, r.dialled())
	require.NoError(t, r.c.Close(context.Background()))
}

// TestClientRunTwice: Run is for one life.
func TestClientRunTwice(t *testing.T) {
	r := runClient(t, fastClient(clientConfig(t)), func(p *peer) {
		p.Login()
		p.ExpectClosed()
	})
	r.expect(Connected)
	require.ErrorIs(t, r.c.Run(context.Background()), ErrClientRunning)
	require.NoError(t, r.c.Close(context.Background()))
}

// TestClientCloseBeforeRun: Run after Close returns at once.
func TestClientCloseBeforeRun(t *testing.T) {
	c := NewClient(juliet, "", nil)
	require.NoError(t, c.Close(context.Background()))
	require.ErrorIs(t, c.Run(context.Background()), ErrClosed)
	require.ErrorIs(t, c.Send(context.Background(), smChat("never")), ErrClosed)
	require.NoError(t, c.Close(context.Background()), "again")
}

// TestClientReportsResumption: a connection the session resumes is
// reported as Disconnected (resuming) then Connected (resumed), in the
// same session; the Client does not dial a new one.
func TestClientReportsResumption(t *testing.T) {
	cut := make(chan struct{})
	r := runClient(t, fastClient(smConfig(t)), func(p *peer) {
		loginSM(p, "id='s-1' resume='true'")
		<-cut
		p.Conn().Close()
	}, func(p *peer) {
		r := resumeSM(p)
		p.Send("<resumed xmlns='" + ns.SM + "' h='" + r.Attr("h") + "' previd='s-1'/>")
		ackUntilClosed(p, 0)
	})
	first := r.expect(Connected)
	close(cut)
	e := r.expect(Disconnected)
	assert.True(t, e.Resuming)
	assert.Same(t, first.Session, e.Session)
	e = r.expect(Connected)
	assert.True(t, e.Resumed)
	assert.Same(t, first.Session, e.Session)
	assert.Equal(t, "connected (resumed)", e.String())
	s, err := r.c.Session(context.Background())
	require.NoError(t, err)
	assert.Same(t, first.Session, s)
	require.NoError(t, r.c.Close(context.Background()))
	assert.Len(t, r.dialled(), 2, "the first connection and the resumption")
}

// TestClientCertificateFinal: a certificate the client does not trust
// stops it at once: another attempt would meet the same certificate.
func TestClientCertificateFinal(t *testing.T) {
	cfg := clientConfig(t)
	cfg.TLSConfig = &tls.Config{RootCAs: x509.NewCertPool()} // trusts nothing
	r := runClient(t, fastClient(cfg), func(p *peer) {
		p.Header()
		p.Features(featStartTLS)
		p.Expect("starttls")
		p.Send("<proceed xmlns='" + ns.TLS + "'/>")
		cert, _ := scripted.Certificate(t)
		_ = tls.Server(p.Conn(), &tls.Config{Certificates: []tls.Certificate{cert}}).Handshake()
	})
	e := r.expect(GaveUp)
	var ue x509.UnknownAuthorityError
	require.ErrorAs(t, e.Err, &ue)
	require.ErrorAs(t, r.wait(), &ue)
	assert.Len(t, r.dialled(), 1, "no second attempt")
}

package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

// A Client stays connected: it dials a session, serves it, and when the
// stream ends for a reason that can pass, dials again, for as long as
// Run's ctx lasts. The flow, all on Run's goroutine:
//
//  1. Run dials at once (Dial's rules: SRV, TLS, SASL, bind, the Mux's
//     start hooks). A broken connection is first the session's business:
//     with stream management it resumes by itself (resume.go), the start
//     hooks run again with resumed=true, and the Client only reports it.
//  2. When the session ends, Run looks at why (final): a refused login
//     (other than temporary-auth-failure), a certificate or TLS-policy
//     failure, host-unknown, and conflict (another client took the
//     resource; ClientConfig.ReconnectOnConflict keeps going) stop it;
//     anything else — a network error, the keepalive timeout,
//     system-shutdown, see-other-host, a refused or expired resumption —
//     passes.
//  3. It waits: before the first attempt after a loss a random time
//     between 0 and ClientConfig.FirstDelay (RFC 6120 §3.3, so that the
//     clients of a restarted server do not all come back at once); after
//     each failed attempt, or a session that lasted less than
//     StableAfter, about RetryDelay doubling up to MaxDelay, each drawn
//     between half and all of it.
//  4. It dials a new session with the same Config, so the same Mux: the
//     packages' start hooks (resumed=false) restore their state on the
//     new stream — the roster fetched by version, the last available
//     presence and the directed presences, the privacy list made active.
//     The messages and subscription requests the old stream never had
//     acknowledged (its *UnackedError) are then sent again, once, in
//     order.
//
// Send and SendIQ go to whichever session is current and wait, within
// their ctx, while there is none. Events (ClientConfig.Events) report
// each step on a goroutine of their own, in order.

// ClientConfig configures a Client. The zero value (or nil) is a client
// with the defaults below and the zero Config.
type ClientConfig struct {
	// Session is the configuration of every session the Client dials:
	// its Mux serves each of them. Nil is the zero Config. It is not
	// modified, and must not be while the Client runs.
	Session *Config

	// FirstDelay bounds the random wait before the first attempt after
	// a stream ended: it is drawn between 0 and FirstDelay. Default 60
	// seconds, RFC 6120 §3.3's recommendation, which keeps the clients
	// of a restarted server from all coming back at the same moment;
	// an interactive client may choose less. Negative: no wait.
	FirstDelay time.Duration
	// RetryDelay is the wait after the first failed attempt (or after a
	// session that ended before StableAfter); it doubles after each
	// further one up to MaxDelay, and each wait is drawn between half
	// and all of it. Default 5 seconds.
	RetryDelay time.Duration
	// MaxDelay caps the waits. Default 5 minutes.
	MaxDelay time.Duration
	// StableAfter is how long a session must last for the waits to start
	// again from FirstDelay. Default 1 minute.
	StableAfter time.Duration

	// CloseTimeout bounds the polite close of the current stream when
	// Run's ctx ends (Session.Close: close hooks, unavailable presence,
	// the close tag, the server's answer). Default 5 seconds.
	CloseTimeout time.Duration

	// ReconnectOnConflict makes a conflict stream error (another client
	// logged in with the same resource, RFC 6120 §4.9.3.3) pass instead
	// of stopping the Client. The waits still apply, so two clients
	// fighting over a resource do not do so in a tight loop.
	ReconnectOnConflict bool

	// Events, when not nil, is called for each Event, one at a time and
	// in order, on a goroutine of the Client's (never Run's or a
	// session's, so it may block for a while without stalling them).
	// Run returns after the last call has returned.
	Events func(Event)
}

func (c *ClientConfig) firstDelay() time.Duration {
	switch {
	case c.FirstDelay < 0:
		return 0
	case c.FirstDelay == 0:
		return time.Minute
	}
	return c.FirstDelay
}

func (c *ClientConfig) retryDelay() time.Duration {
	if c.RetryDelay > 0 {
		return c.RetryDelay
	}
	return 5 * time.Second
}

func (c *ClientConfig) maxDelay() time.Duration {
	if c.MaxDelay > 0 {
		return c.MaxDelay
	}
	return 5 * time.Minute
}

func (c *ClientConfig) closeTimeout() time.Duration {
	if c.CloseTimeout > 0 {
		return c.CloseTimeout
	}
	return 5 * time.Second
}

func (c *ClientConfig) stableAfter() time.Duration {
	if c.StableAfter > 0 {
		return c.StableAfter
	}
	return time.Minute
}

// Client is a connection to the server that lasts: it dials a Session,
// and a new one whenever a stream ends for a reason that can pass (see
// ClientConfig), until the ctx given to Run ends, Close is called, or a
// reason that cannot pass stops it (a wrong password, say). It
// satisfies Sender, so an application passes the one Client to the
// feature packages for its whole life.
//
// Its methods are safe to call from several goroutines, and from
// handlers.
type Client struct {
	addr     jid.JID
	password string
	cfg      ClientConfig
	session  Config

	mu      sync.Mutex
	cur     *Session      // the current session; nil between sessions
	last    *Session      // the latest session, current or not
	up      chan struct{} // closed when cur becomes a session; replaced when it goes
	down    chan struct{} // closed when cur goes; replaced when a session comes
	running bool          // Run was called
	closing bool          // Close was called
	stop    context.CancelCauseFunc
	done    chan struct{} // closed when Run has returned
	err     error         // why Run returned

	events eventQueue
}

// NewClient returns a Client for the account addr (a bare JID, or a full
// JID to ask for that resource) and its password. It does not connect:
// Run does.
func NewClient(addr jid.JID, password string, cfg *ClientConfig) *Client {
	c := &Client{addr: addr, password: password, up: make(chan struct{}), down: make(chan struct{}), done: make(chan struct{})}
	if cfg != nil {
		c.cfg = *cfg
	}
	if c.cfg.Session != nil {
		c.session = *c.cfg.Session
	}
	c.events.f = c.cfg.Events
	return c
}

// ErrClientRunning is what Run returns when it is called a second time.
var ErrClientRunning = errors.New("session: Client.Run called twice")

// Run connects and keeps the Client connected until ctx ends, Close is
// called, or the stream ends for a reason that cannot pass. It returns
// why: ErrClosed after Close; ctx's cause (context.Canceled…) when ctx
// ended, after closing the current stream politely (within
// ClientConfig.CloseTimeout); otherwise the final error — a *sasl.Failure for a
// refused login, a certificate error, a *stanza.StreamError
// (host-unknown, conflict) — also reported as a GaveUp event.
//
// A failed first attempt is retried like any other as long as its reason
// can pass: a server that is down when Run starts is waited for.
func (c *Client) Run(ctx context.Context) error {
	c.mu.Lock()
	if c.closing && c.stop == nil {
		// Closed before it ran: Close has ended it.
		c.mu.Unlock()
		return ErrClosed
	}
	if c.running {
		c.mu.Unlock()
		return ErrClientRunning
	}
	c.running = true
	ctx, stop := context.WithCancelCause(ctx)
	c.stop = stop
	c.mu.Unlock()
	c.events.start()
	err := c.loop(ctx)
	stop(nil)
	c.events.finish()
	c.mu.Lock()
	c.err = err
	close(c.done)
	c.mu.Unlock()
	return err
}

// loop is Run's work: dial, serve, wait, dial again.
func (c *Client) loop(ctx context.Context) error {
	var (
		failures int             // attempts failed, and short sessions, since the last stable session
		delay    time.Duration   // the wait before the next attempt
		resend   []stanza.Stanza // what the last stream never had acknowledged
		redirect string          // where see-other-host sent us
	)
	for attempt := 1; ; attempt++ {
		if delay > 0 {
			c.events.emit(Event{Kind: Reconnecting, Attempt: attempt, Delay: delay})
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
		if ctx.Err() != nil {
			return c.stopped(ctx)
		}
		s, err := c.dial(ctx, redirect)
		if err != nil {
			if ctx.Err() != nil {
				return c.stopped(ctx)
			}
			if c.final(err) {
				c.events.emit(Event{Kind: GaveUp, Err: err, Attempt: attempt})
				return err
			}
			failures++
			delay = c.delay(failures)
			c.events.emit(Event{Kind: Disconnected, Err: err, Attempt: attempt})
			continue
		}
		redirect, attempt = "", 0
		// What the last stream never had acknowledged goes first, before
		// the application can send on this one.
		resend = c.sendAgain(ctx, s, resend)
		c.setCurrent(s)
		c.events.emit(Event{Kind: Connected, Session: s})
		began := time.Now()
		select {
		case <-s.Done():
		case <-ctx.Done():
			c.closeSession(ctx, s)
			return c.stopped(ctx)
		}
		err = s.Err()
		c.setCurrent(nil)
		if c.isClosing() {
			return ErrClosed
		}
		c.events.emit(Event{Kind: Disconnected, Session: s, Err: err})
		if c.final(err) {
			c.events.emit(Event{Kind: GaveUp, Session: s, Err: err})
			return err
		}
		resend = append(unsentStanzas(err), resend...)
		var se *stanza.StreamError
		if errors.As(err, &se) && se.Condition == stanza.StreamSeeOtherHost {
			if next, herr := redirectAddr(se.Host); herr == nil {
				redirect = next
			}
		}
		if time.Since(began) >= c.cfg.stableAfter() {
			failures = 0
		} else {
			failures++
		}
		delay = c.delay(failures)
	}
}

// dial dials one session, at redirect when see-other-host named one.
func (c *Client) dial(ctx context.Context, redirect string) (*Session, error) {
	cfg := c.session
	if redirect != "" {
		cfg.Addr = redirect
	}
	d := newDialer(c.addr, c.password, &cfg)
	d.link = c.linkChanged
	return d.dialSession(ctx)
}

// linkChanged is the sessions' report of a connection lost and resumed
// (resume.go); it runs on a session's reader and must not block.
func (c *Client) linkChanged(s *Session, up bool, cause error) {
	if up {
		c.events.emit(Event{Kind: Connected, Session: s, Resumed: true})
	} else {
		c.events.emit(Event{Kind: Disconnected, Session: s, Err: cause, Resuming: true})
	}
}

// stopped closes nothing (the caller did) and says why Run ends after
// its ctx ended.
func (c *Client) stopped(ctx context.Context) error {
	if c.isClosing() {
		return ErrClosed
	}
	return context.Cause(ctx)
}

// closeSession closes s politely after Run's ctx ended, within
// ClientConfig.CloseTimeout.
func (c *Client) closeSession(ctx context.Context, s *Session) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.closeTimeout())
	defer cancel()
	if err := s.Close(cctx); err != nil {
		// Run returns why it stopped; the close's own trouble (an
		// unanswered close, stanzas never acknowledged) goes to the log.
		s.log.Warn("closing the stream after Run's ctx ended", "err", err)
	}
	c.setCurrent(nil)
}

// setCurrent makes s the current session (nil: none).
func (c *Client) setCurrent(s *Session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case s != nil && c.cur == nil:
		c.cur, c.last = s, s
		c.down = make(chan struct{})
		close(c.up)
	case s == nil && c.cur != nil:
		c.cur = nil
		c.up = make(chan struct{})
		close(c.down)
	}
}

func (c *Client) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// Close stops the Client: it closes the current session politely within
// ctx (Session.Close: close hooks, unavailable presence, the close tag),
// stops Run and waits for it to return. Run then returns ErrClosed. Close
// before Run ends the Client: Run returns ErrClosed at once, and Send and
// Session fail. Close returns the session's Close error, or ctx's when
// Run did not return in time.
func (c *Client) Close(ctx context.Context) error {
	c.mu.Lock()
	if !c.running && !c.closing {
		// Never run: end it here, so that Session and Send fail at once.
		c.closing, c.running, c.err = true, true, ErrClosed
		close(c.done)
		c.mu.Unlock()
		return nil
	}
	c.closing = true
	s, running, stop := c.cur, c.running, c.stop
	c.mu.Unlock()
	var err error
	if s != nil {
		err = s.Close(ctx)
	}
	if !running || stop == nil {
		return err
	}
	stop(ErrClosed)
	select {
	case <-c.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("session: client close: %w", context.Cause(ctx))
	}
}

// Done returns a channel that is closed when Run has returned.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns nil while Run runs (or before it), and then what Run
// returned.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Session returns the current session, waiting within ctx while there is
// none (before the first one, and between sessions). After Run has
// returned it fails with an error wrapping ErrClosed and Run's error.
func (c *Client) Session(ctx context.Context) (*Session, error) {
	for {
		c.mu.Lock()
		s, up, down, done := c.cur, c.up, c.down, c.done
		c.mu.Unlock()
		if s != nil {
			select {
			case <-s.Done():
				// Ended, and about to be replaced: wait for that.
				up = down
			default:
				return s, nil
			}
		}
		select {
		case <-up:
		case <-done:
			return nil, c.endedErr()
		case <-ctx.Done():
			return nil, fmt.Errorf("session: no session: %w", context.Cause(ctx))
		}
	}
}

// endedErr is what the Client's methods return after Run has returned.
func (c *Client) endedErr() error {
	err := c.Err()
	if err == nil || errors.Is(err, ErrClosed) {
		return ErrClosed
	}
	return fmt.Errorf("%w: %w", ErrClosed, err)
}

// Send sends st over the current session (Session.Send), waiting within
// ctx while there is none. A stanza that a session refused because it had
// just ended (ErrClosed: it was not written) goes to the next one.
func (c *Client) Send(ctx context.Context, st stanza.Stanza) error {
	for {
		s, err := c.Session(ctx)
		if err != nil {
			return err
		}
		err = s.Send(ctx, st)
		if err == nil || !errors.Is(err, ErrClosed) || s.Err() == nil {
			return err
		}
	}
}

// SendIQ sends an iq get or set over the current session and waits for
// its reply (Session.SendIQ), waiting within ctx while there is no
// session. If the stream ends while the reply is awaited the error is
// returned, since the server may have handled the request.
func (c *Client) SendIQ(ctx context.Context, iq *stanza.IQ) (*stanza.IQ, error) {
	s, err := c.Session(ctx)
	if err != nil {
		return nil, err
	}
	return s.SendIQ(ctx, iq)
}

// Addr returns the full JID the server bound to the latest session (the
// resource may differ from one session to the next unless the account's
// JID names one), or the zero JID before the first.
func (c *Client) Addr() jid.JID {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil {
		return jid.JID{}
	}
	return c.last.Addr()
}

// Features returns the features of the latest session's stream, or empty
// Features before the first.
func (c *Client) Features() *Features {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil {
		return &Features{}
	}
	return c.last.Features()
}

var _ Sender = (*Client)(nil)

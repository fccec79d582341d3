package session

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

// Dial connects to the server of addr's domain, negotiates TLS, logs in
// with password and binds a resource. The returned session's Addr is the
// full JID the server bound.
//
// Without Config.Addr, Dial resolves the _xmpps-client._tcp (direct TLS,
// XEP-0368) and _xmpp-client._tcp SRV records of the domain and tries the
// targets in RFC 2782 order, falling back to the domain on port 5222.
// A target that fails before credentials were sent is followed by the next
// one; a failed login is final. A see-other-host stream error is followed
// (at most Config.MaxRedirects times) with the same configuration, the
// same stream 'to' and the same certificate name. The whole negotiation
// obeys ctx, and Config.Timeout when ctx has no deadline. Dial returns
// once the Mux's start hooks have returned (see Mux.HandleStart).
func Dial(ctx context.Context, addr jid.JID, password string, cfg *Config) (*Session, error) {
	d := newDialer(addr, password, cfg)
	return d.dialSession(ctx)
}

// dialSession is Dial with d.
func (d *dialer) dialSession(ctx context.Context) (*Session, error) {
	d.canRedial = true
	var s *Session
	err := d.eachTarget(ctx, func(ctx context.Context, conn net.Conn) (authStarted bool, err error) {
		s, authStarted, err = d.negotiate(ctx, conn)
		return authStarted, err
	})
	return s, err
}

// eachTarget finds the server (within ctx, and Config.Timeout when ctx
// has no deadline), connects to its targets in order and hands each
// connection to try until one succeeds: a target that fails before
// credentials were sent is followed by the next, see-other-host by the
// host it names (Dial's rules). try closes conn on failure.
func (d *dialer) eachTarget(ctx context.Context, try func(ctx context.Context, conn net.Conn) (authStarted bool, err error)) error {
	addr := d.account
	ctx, cancel := context.WithDeadline(ctx, d.deadline(ctx))
	defer cancel()

	targets, err := d.targets(ctx)
	if err != nil {
		return fmt.Errorf("session: resolving %s: %w", addr.Domainpart(), err)
	}
	var errs []error
	redirects := 0
	for i := 0; i < len(targets); i++ {
		t := targets[i]
		authStarted, err := d.dial(ctx, t, try)
		if err == nil {
			return nil
		}
		var se *stanza.StreamError
		if errors.As(err, &se) && se.Condition == stanza.StreamSeeOtherHost {
			redirects++
			if redirects > d.cfg.maxRedirects() {
				return fmt.Errorf("session: more than %d see-other-host redirects: %w", d.cfg.maxRedirects(), err)
			}
			next, herr := redirectAddr(se.Host)
			if herr != nil {
				return fmt.Errorf("session: %w (after %w)", herr, err)
			}
			d.cfg.logger().Info("following see-other-host", "from", t.addr, "to", next)
			// Try the redirect next, with the same kind of TLS.
			targets = append(targets[:i+1], append([]target{{addr: next, directTLS: t.directTLS}}, targets[i+1:]...)...)
			continue
		}
		if authStarted || ctx.Err() != nil {
			return err
		}
		d.cfg.logger().Info("connection attempt failed", "addr", t.addr, "err", err)
		errs = append(errs, err)
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return fmt.Errorf("session: no server of %s could be reached: %w", addr.Domainpart(), errors.Join(errs...))
}

// redirectAddr turns the host of see-other-host (RFC 6120 §4.9.3.19: a
// domain, an IPv4 address or a bracketed IPv6 address, with an optional
// port) into a host:port.
func redirectAddr(host string) (string, error) {
	if host == "" {
		return "", errors.New("see-other-host names no host")
	}
	if h, p, err := net.SplitHostPort(host); err == nil && h != "" && p != "" {
		return host, nil
	}
	h := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.ContainsAny(h, "[]/ ") {
		return "", fmt.Errorf("see-other-host names a bad host %q", host)
	}
	return net.JoinHostPort(h, "5222"), nil
}

// New negotiates a client stream over a connection the caller made
// (a proxy, a test pipe, an in-memory server). If conn is a *tls.Conn the
// stream counts as encrypted from the start (direct TLS). New does
// not follow see-other-host, since it cannot dial; the stream error is
// returned. On failure conn is closed. Like Dial, New returns once the
// Mux's start hooks have returned. See Config.DialContext for which
// connections let an idle session use least memory.
func New(ctx context.Context, conn net.Conn, addr jid.JID, password string, cfg *Config) (*Session, error) {
	d := newDialer(addr, password, cfg)
	ctx, cancel := context.WithDeadline(ctx, d.deadline(ctx))
	defer cancel()
	if tc, ok := conn.(*tls.Conn); ok {
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("session: TLS handshake: %w", err)
		}
	}
	s, _, err := d.negotiate(ctx, conn)
	return s, err
}

// dialer does what a Config describes, for one account: it finds the
// server (resolve.go), connects, and negotiates over each connection
// (negotiate.go). The Config itself stays plain data, as tls.Config
// does.
type dialer struct {
	cfg       *Config
	account   jid.JID // the JID the user gave
	password  string
	canRedial bool // Dial, not New: a broken connection can be resumed
	// link, when set (by a Client), hears of a connection lost (up
	// false, with the cause) and resumed; it runs on the session's
	// reader and must not block.
	link func(s *Session, up bool, cause error)
}

func newDialer(account jid.JID, password string, cfg *Config) dialer {
	if cfg == nil {
		cfg = &Config{}
	}
	return dialer{cfg: cfg, account: account, password: password}
}

// deadline is when negotiation must be over.
func (d *dialer) deadline(ctx context.Context) time.Time {
	if dl, ok := ctx.Deadline(); ok {
		return dl
	}
	return time.Now().Add(d.cfg.timeout())
}

// tlsConfig returns the TLS configuration: the user's, cloned, with
// ServerName set to the JID's domain (RFC 6120 §13.7.2: the certificate
// is checked against the domain, never an SRV target or a redirect).
func (d *dialer) tlsConfig() *tls.Config {
	var tc *tls.Config
	if d.cfg.TLSConfig != nil {
		tc = d.cfg.TLSConfig.Clone()
	} else {
		tc = &tls.Config{}
	}
	tc.ServerName = d.account.Domainpart()
	if tc.MinVersion == 0 {
		tc.MinVersion = tls.VersionTLS12
	}
	return tc
}

// dial connects to one target and hands the connection to try.
// authStarted reports whether credentials were sent, after which no other
// target is tried.
func (d *dialer) dial(ctx context.Context, t target, try func(ctx context.Context, conn net.Conn) (authStarted bool, err error)) (authStarted bool, err error) {
	dial := d.cfg.DialContext
	if dial == nil {
		var nd net.Dialer
		dial = nd.DialContext
	}
	conn, err := dial(ctx, "tcp", t.addr)
	if err != nil {
		return false, fmt.Errorf("session: connecting to %s: %w", t.addr, err)
	}
	if t.directTLS {
		tc := tls.Client(conn, d.tlsConfig())
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return false, fmt.Errorf("session: TLS handshake with %s (%s): %w", d.account.Domainpart(), t.addr, err)
		}
		conn = tc
	}
	return try(ctx, conn)
}

// negotiate runs the negotiation over conn within ctx, closing conn on
// failure, and starts the session.
func (d *dialer) negotiate(ctx context.Context, conn net.Conn) (s *Session, authStarted bool, err error) {
	n, err := d.runNegotiator(ctx, conn, func(n *negotiator) (err error) {
		s, err = n.run(ctx)
		return err
	})
	if err != nil {
		return nil, n.authStarted, err
	}
	if d.canRedial {
		s.redial = d
		_, s.directTLS = conn.(*tls.Conn)
	}
	// Lifecycle hooks: the start hooks, then the reader (s.start).
	if err := s.becomeReady(ctx, false); err != nil {
		return nil, true, err
	}
	return s, true, nil
}

// runNegotiator makes a negotiator over conn and runs fn, a negotiation,
// within ctx. On failure it closes the connection and says why the
// negotiation stopped; on success the connection has no deadline.
func (d *dialer) runNegotiator(ctx context.Context, conn net.Conn, fn func(n *negotiator) error) (*negotiator, error) {
	tr := newTCPTransport(conn, &tracer{w: d.cfg.Trace})
	// Deadlines on the connection, not a goroutine per read: ctx's
	// deadline bounds every read and write, and cancelling ctx unblocks
	// them at once.
	_ = tr.SetDeadline(d.deadline(ctx))
	stop := context.AfterFunc(ctx, func() { _ = tr.SetDeadline(longAgo) })
	n := &negotiator{dialer: d, tr: tr, trace: tr.trace}
	err := fn(n)
	if !stop() || err != nil {
		tr.Close()
		if err == nil {
			err = context.Cause(ctx)
		}
		domain := d.account.Domainpart()
		switch {
		case ctx.Err() != nil:
			err = fmt.Errorf("session: negotiation with %s stopped: %w (%w)", domain, context.Cause(ctx), err)
		case errors.Is(err, os.ErrDeadlineExceeded):
			// The connection's deadline is ctx's, and may fire first.
			err = fmt.Errorf("session: negotiation with %s stopped: %w (%w)", domain, context.DeadlineExceeded, err)
		}
		return n, err
	}
	_ = tr.SetDeadline(time.Time{})
	return n, nil
}

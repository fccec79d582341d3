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
	if cfg == nil {
		cfg = &Config{}
	}
	ctx, cancel := context.WithDeadline(ctx, cfg.deadline(ctx))
	defer cancel()

	targets, err := cfg.targets(ctx, addr.Domainpart())
	if err != nil {
		return nil, fmt.Errorf("session: resolving %s: %w", addr.Domainpart(), err)
	}
	var errs []error
	redirects := 0
	for i := 0; i < len(targets); i++ {
		t := targets[i]
		s, authStarted, err := cfg.dialTarget(ctx, t, addr, password)
		if err == nil {
			return s, nil
		}
		var se *stanza.StreamError
		if errors.As(err, &se) && se.Condition == stanza.StreamSeeOtherHost {
			redirects++
			if redirects > cfg.maxRedirects() {
				return nil, fmt.Errorf("session: more than %d see-other-host redirects: %w", cfg.maxRedirects(), err)
			}
			next, herr := redirectAddr(se.Host)
			if herr != nil {
				return nil, fmt.Errorf("session: %w (after %w)", herr, err)
			}
			cfg.logger().Info("following see-other-host", "from", t.addr, "to", next)
			// Try the redirect next, with the same kind of TLS.
			targets = append(targets[:i+1], append([]target{{addr: next, directTLS: t.directTLS}}, targets[i+1:]...)...)
			continue
		}
		if authStarted || ctx.Err() != nil {
			return nil, err
		}
		cfg.logger().Info("connection attempt failed", "addr", t.addr, "err", err)
		errs = append(errs, err)
	}
	if len(errs) == 1 {
		return nil, errs[0]
	}
	return nil, fmt.Errorf("session: no server of %s could be reached: %w", addr.Domainpart(), errors.Join(errs...))
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

// dialTarget connects to one target and negotiates. authStarted reports
// whether credentials were sent, after which no other target is tried.
func (c *Config) dialTarget(ctx context.Context, t target, addr jid.JID, password string) (*Session, bool, error) {
	dial := c.DialContext
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	conn, err := dial(ctx, "tcp", t.addr)
	if err != nil {
		return nil, false, fmt.Errorf("session: connecting to %s: %w", t.addr, err)
	}
	if t.directTLS {
		tc := tls.Client(conn, c.tlsConfig(addr.Domainpart()))
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, false, fmt.Errorf("session: TLS handshake with %s (%s): %w", addr.Domainpart(), t.addr, err)
		}
		conn = tc
	}
	return c.negotiate(ctx, conn, addr, password)
}

// New negotiates a client stream over a connection the caller made
// (a proxy, a test pipe, an in-memory server). If conn is a *tls.Conn the
// stream counts as encrypted from the start (direct TLS). New does
// not follow see-other-host, since it cannot dial; the stream error is
// returned. On failure conn is closed. Like Dial, New returns once the
// Mux's start hooks have returned. See Config.DialContext for which
// connections let an idle session use least memory.
func New(ctx context.Context, conn net.Conn, addr jid.JID, password string, cfg *Config) (*Session, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	ctx, cancel := context.WithDeadline(ctx, cfg.deadline(ctx))
	defer cancel()
	if tc, ok := conn.(*tls.Conn); ok {
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("session: TLS handshake: %w", err)
		}
	}
	s, _, err := cfg.negotiate(ctx, conn, addr, password)
	return s, err
}

// negotiate runs the negotiation over conn within ctx, closing conn on
// failure.
func (c *Config) negotiate(ctx context.Context, conn net.Conn, addr jid.JID, password string) (*Session, bool, error) {
	tr := newTCPTransport(conn, &tracer{w: c.Trace})
	// Deadlines on the connection, not a goroutine per read: ctx's
	// deadline bounds every read and write, and cancelling ctx unblocks
	// them at once.
	_ = tr.SetDeadline(c.deadline(ctx))
	stop := context.AfterFunc(ctx, func() { _ = tr.SetDeadline(time.Unix(1, 0)) })
	n := &negotiator{cfg: c, account: addr, password: password, tr: tr, trace: tr.trace}
	s, err := n.run(ctx)
	if !stop() || err != nil {
		tr.Close()
		if err == nil {
			err = context.Cause(ctx)
		}
		switch {
		case ctx.Err() != nil:
			err = fmt.Errorf("session: negotiation with %s stopped: %w (%w)", addr.Domainpart(), context.Cause(ctx), err)
		case errors.Is(err, os.ErrDeadlineExceeded):
			// The connection's deadline is ctx's, and may fire first.
			err = fmt.Errorf("session: negotiation with %s stopped: %w (%w)", addr.Domainpart(), context.DeadlineExceeded, err)
		}
		return nil, n.authStarted, err
	}
	_ = tr.SetDeadline(time.Time{})
	// Lifecycle hooks: the start hooks, then the reader (s.start).
	if err := s.becomeReady(ctx, false); err != nil {
		return nil, true, err
	}
	return s, true, nil
}

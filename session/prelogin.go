package session

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

// Prelogin is a stream that stops before authentication: connected,
// secured with TLS (and restarted after STARTTLS) exactly as Dial does,
// with the features the server offers to a client that has not logged
// in. In-band registration of a new account (XEP-0077) happens on such a
// stream; the register package sends its requests with SendIQ.
//
// A Prelogin has no reader goroutine and no Mux: SendIQ writes a request
// and reads the next element as its reply, one request at a time, which
// is all the protocol allows before authentication. Its methods are safe
// for concurrent use: requests wait for each other, and Close waits for a
// request in flight. A Prelogin never logs in: after registering, log in
// with Dial on a new stream. Close it when done.
type Prelogin struct {
	domain jid.JID
	cfg    *Config
	feats  *featuresElement // the features after TLS, and how TLS came about

	mu     sync.Mutex // one request at a time; guards n and err
	n      *negotiator
	err    error // why the stream ended; nil while it is open
	closed bool
}

// DialPrelogin connects to the server of domain (a JID; only its
// domainpart counts) as Dial does — the same Config, DNS lookup, TLS
// requirement and certificate checks against the domain, see-other-host —
// and stops when the stream is secured, before authentication. As with
// login, a server that offers no STARTTLS is refused unless Config.NoTLS
// allows a plaintext stream; even then, the register package never sends
// a password over it. Config.Mux, Resource and the settings of the
// established session are not used.
func DialPrelogin(ctx context.Context, domain jid.JID, cfg *Config) (*Prelogin, error) {
	d := newDialer(domain.Domain(), "", cfg)
	var p *Prelogin
	err := d.eachTarget(ctx, func(ctx context.Context, conn net.Conn) (bool, error) {
		var err error
		p, err = d.prelogin(ctx, conn)
		return false, err
	})
	return p, err
}

// NewPrelogin is DialPrelogin over a connection the caller made (see
// New). On failure conn is closed.
func NewPrelogin(ctx context.Context, conn net.Conn, domain jid.JID, cfg *Config) (*Prelogin, error) {
	d := newDialer(domain.Domain(), "", cfg)
	ctx, cancel := context.WithDeadline(ctx, d.deadline(ctx))
	defer cancel()
	if tc, ok := conn.(*tls.Conn); ok {
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("session: TLS handshake: %w", err)
		}
	}
	return d.prelogin(ctx, conn)
}

// prelogin negotiates up to authentication over conn.
func (d *dialer) prelogin(ctx context.Context, conn net.Conn) (*Prelogin, error) {
	var feats *featuresElement
	n, err := d.runNegotiator(ctx, conn, func(n *negotiator) (err error) {
		feats, err = n.secure(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	// What the stream offers for SASL is this element's; how TLS came
	// about, the negotiator's.
	feats.StartTLS, feats.StartTLSRequired = n.neg.StartTLS, n.neg.StartTLSRequired
	return &Prelogin{domain: d.account, cfg: d.cfg, feats: feats, n: n}, nil
}

// Domain returns the server's domain.
func (p *Prelogin) Domain() jid.JID { return p.domain }

// Features returns what the server offered on the secured stream before
// authentication; Lookup finds elements such as the in-band registration
// feature <register xmlns='http://jabber.org/features/iq-register'/>.
// The value must not be modified.
func (p *Prelogin) Features() *Features { return &p.feats.Features }

// Negotiation says how the stream was secured and which SASL mechanisms
// it offers (Mechanism is empty: nobody logged in).
func (p *Prelogin) Negotiation() Negotiation { return p.feats.Negotiation }

// TLS returns a copy of the connection's TLS state, or nil when the
// stream is not encrypted (Config.NoTLS with a server that offered no
// STARTTLS).
func (p *Prelogin) TLS() *tls.ConnectionState { return p.n.tr.TLS() }

// SendIQ sends an iq get or set and reads its reply, as Session.SendIQ
// does: the result, or for an iq error the reply together with its
// *stanza.Error. An empty ID is replaced by an unguessable one. The
// request and its reply must fit within ctx (Config.Timeout when ctx has
// no deadline); anything but the reply, or a ctx that ends first, ends
// the stream, and every later call fails with an error that wraps
// ErrClosed.
func (p *Prelogin) SendIQ(ctx context.Context, iq *stanza.IQ) (*stanza.IQ, error) {
	if iq.Type != stanza.IQGet && iq.Type != stanza.IQSet {
		return nil, fmt.Errorf("session: SendIQ with type %q, want get or set", iq.Type)
	}
	req := *iq
	if req.ID == "" {
		req.ID = stanza.NewID()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return nil, fmt.Errorf("%w: %w", ErrClosed, p.err)
	}
	tr := p.n.tr
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(p.cfg.timeout())
	}
	_ = tr.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { _ = tr.SetDeadline(longAgo) })
	reply, err := p.n.roundTrip(&req)
	if !stop() && err == nil {
		err = context.Cause(ctx)
	}
	if err != nil {
		switch {
		case ctx.Err() != nil:
			err = fmt.Errorf("session: waiting for the reply to iq %s: %w (%w)", req.ID, context.Cause(ctx), err)
		case errors.Is(err, os.ErrDeadlineExceeded):
			// The connection's deadline is ctx's, and may fire first.
			err = fmt.Errorf("session: waiting for the reply to iq %s: %w (%w)", req.ID, context.DeadlineExceeded, err)
		}
		p.err = err
		tr.Close()
		return nil, err
	}
	_ = tr.SetDeadline(time.Time{})
	if reply.Type == stanza.IQError {
		return reply, reply.Error
	}
	return reply, nil
}

// Close closes the stream: it sends the close tag, waits (within ctx, and
// at most 5 seconds) for the server's, and closes the connection. It
// returns nil when the stream was open, and also when called again.
func (p *Prelogin) Close(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	tr := p.n.tr
	defer tr.Close()
	if p.err != nil {
		return nil
	}
	p.err = ErrClosed
	dl := time.Now().Add(endWriteTime)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	_ = tr.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { _ = tr.SetDeadline(longAgo) })
	defer stop()
	p.n.closeStream()
	// Read up to the server's close tag; what comes before it is of no
	// use any more.
	rd := p.n.rd
	for {
		if _, err := rd.NextElement(); err != nil {
			return nil
		}
		for rd.Depth() > 1 {
			if _, err := rd.Token(); err != nil {
				return nil
			}
		}
	}
}

// Package faultproxy is a TCP proxy on 127.0.0.1 that a test drives to
// break the connections passing through it: cut them, cut them after a
// number of bytes, or silently lose what they carry (a blackhole) and then
// heal them. Interop tests put it between a Parley session and a real
// server to test stream management (XEP-0198) and the detection of
// connections that die without a word.
//
// The proxy copies raw bytes, so TLS negotiated with STARTTLS or direct
// TLS passes through unchanged and the client still verifies the server's
// certificate against the server's name.
//
// A test starts a proxy in front of a server's address with [New] (or
// [Start]), dials [Proxy.Addr] instead of the server, and takes the
// connection the client made with [Proxy.Next], one [Conn] per accepted
// TCP connection in the order they came, so a reconnecting client's next
// connection is the next Next. [Proxy.SetPolicy] decides what becomes of
// connections accepted from then on: forwarded (the default), refused, or
// blackholed from the start.
//
// On a [Conn]:
//
//   - [Conn.Cut] closes both TCP connections at once. Each end reads what
//     was forwarded before the cut and then the end of the stream: EOF, or
//     a reset where the kernel sends one (it does when the proxy's socket
//     still held bytes the proxy had not read, and to a later write).
//   - [Conn.CutAfter] cuts once a number of further bytes have been
//     forwarded in one direction; the rest of what the proxy read is
//     discarded, so the cut may fall in the middle of a stanza.
//   - [Conn.Blackhole] keeps both TCP connections open but reads and drops
//     what arrives, in both directions or one: neither end sees an error,
//     as on a dead radio link. An end's close (its FIN) is held back too,
//     and passed on when the direction heals.
//   - [Conn.Heal] forwards again; what was dropped stays lost (under TLS
//     the receiver then fails on the next record: see [Conn.Heal]).
//   - [Conn.Forwarded] and [Conn.Discarded] count bytes per direction, and
//     [Conn.Wait] waits until a condition on them holds.
//
// Every method of [Proxy] and [Conn] is safe for concurrent use.
// [Proxy.Close] ends every connection and returns once every goroutine
// the proxy started has returned.
package faultproxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// Direction is the way bytes travel through a connection.
type Direction int

const (
	// ToServer is what the client sends, on its way to the server.
	ToServer Direction = iota
	// ToClient is what the server sends, on its way to the client.
	ToClient
)

// String returns "to server" or "to client".
func (d Direction) String() string {
	switch d {
	case ToServer:
		return "to server"
	case ToClient:
		return "to client"
	}
	return fmt.Sprintf("Direction(%d)", int(d))
}

func (d Direction) check() {
	if d != ToServer && d != ToClient {
		panic("faultproxy: invalid direction " + d.String())
	}
}

// Policy says what the proxy does with the connections it accepts.
type Policy int

const (
	// Forward connects each new connection to the server and forwards its
	// bytes both ways. It is the default.
	Forward Policy = iota
	// Refuse resets each new connection as soon as it is accepted, without
	// connecting to the server. The kernel completes the TCP handshake
	// before the proxy accepts, so this is not a refused SYN: the client's
	// dial fails with a reset when the reset comes first, or succeeds and
	// its first read or write then fails with a reset (or reads EOF).
	Refuse
	// Blackhole connects each new connection to the server but starts it
	// blackholed both ways, as if [Conn.Blackhole] had been called before
	// any byte moved: the client's stream header is lost, and the client
	// sees nothing until it gives up or the test heals the connection.
	Blackhole
)

var (
	// ErrCut is a connection's Err after Cut, CutAfter or Proxy.Close ended it.
	ErrCut = errors.New("faultproxy: connection cut")
	// ErrRefused is a connection's Err when the Refuse policy reset it.
	ErrRefused = errors.New("faultproxy: connection refused by policy")
	// ErrEnded is returned by Conn.Wait when the connection ended with its
	// condition still false.
	ErrEnded = errors.New("faultproxy: connection ended")
	// ErrClosed is returned by Proxy.Next once the proxy is closed and
	// every connection was returned.
	ErrClosed = errors.New("faultproxy: proxy closed")
)

// dialTimeout bounds the connection to the server made for each accepted
// connection.
const dialTimeout = 10 * time.Second

// Proxy accepts TCP connections on 127.0.0.1 and forwards each to the
// server's address. Its methods are safe for concurrent use.
type Proxy struct {
	target string
	ln     net.Listener
	ctx    context.Context // ends with Close; parent of every dial
	cancel context.CancelFunc
	wg     sync.WaitGroup // the accept loop and every connection's goroutines

	mu        sync.Mutex
	policy    Policy
	conns     []*Conn
	next      int           // index in conns of the connection Next returns next
	arrived   chan struct{} // closed and replaced when conns grows, closed for good by Close
	closed    bool
	acceptErr error // why the accept loop stopped, if not Close
}

// Start starts a proxy listening on a free port of 127.0.0.1 that
// forwards each connection to target ("host:port"). Close it when done.
func Start(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proxy{target: target, ln: ln, ctx: ctx, cancel: cancel, arrived: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// New starts a proxy for a test in front of target: it fails tb when the
// proxy cannot start and closes the proxy when the test ends.
func New(tb testing.TB, target string) *Proxy {
	tb.Helper()
	p, err := Start(target)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = p.Close() })
	return p
}

// Addr returns the address ("127.0.0.1:port") clients dial instead of
// the server's.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetPolicy sets what becomes of the connections accepted from now on.
// Connections already accepted keep their state: a connection started
// blackholed stays so until it is healed.
func (p *Proxy) SetPolicy(policy Policy) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.policy = policy
}

// Next returns the next accepted connection that Next has not returned
// yet, waiting for one when there is none: the first call returns the
// first connection, the second call the second, and so on, refused ones
// included. It fails with ctx's error when ctx ends first, and with
// ErrClosed (or the listener's error) once the proxy stopped accepting
// and every connection was returned.
func (p *Proxy) Next(ctx context.Context) (*Conn, error) {
	for {
		p.mu.Lock()
		if p.next < len(p.conns) {
			c := p.conns[p.next]
			p.next++
			p.mu.Unlock()
			return c, nil
		}
		if p.closed {
			p.mu.Unlock()
			return nil, ErrClosed
		}
		if p.acceptErr != nil {
			err := p.acceptErr
			p.mu.Unlock()
			return nil, err
		}
		arrived := p.arrived
		p.mu.Unlock()
		select {
		case <-arrived:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Conns returns every connection accepted so far, in the order they were
// accepted, ended and refused ones included.
func (p *Proxy) Conns() []*Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*Conn(nil), p.conns...)
}

// Close stops accepting, cuts every connection and waits until every
// goroutine the proxy started has returned. Closing twice is harmless.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.arrived)
	conns := append([]*Conn(nil), p.conns...)
	p.mu.Unlock()

	err := p.ln.Close()
	for _, c := range conns {
		c.mu.Lock()
		c.end(ErrCut)
		c.mu.Unlock()
	}
	p.cancel()
	p.wg.Wait()
	if err != nil {
		return fmt.Errorf("faultproxy: %w", err)
	}
	return nil
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		nc, err := p.ln.Accept()
		if err != nil {
			p.mu.Lock()
			if !p.closed {
				p.acceptErr = fmt.Errorf("faultproxy: accept: %w", err)
				close(p.arrived)
				p.arrived = make(chan struct{})
			}
			p.mu.Unlock()
			return
		}
		client := nc.(*net.TCPConn)
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			client.Close()
			return
		}
		c := newConn(p.ctx, client, p.policy)
		p.conns = append(p.conns, c)
		close(p.arrived)
		p.arrived = make(chan struct{})
		if c.err == nil {
			p.wg.Add(1)
			go p.serve(c)
		}
		p.mu.Unlock()
	}
}

// serve connects c to the server, then runs its ToServer pump in a new
// goroutine and its ToClient pump itself.
func (p *Proxy) serve(c *Conn) {
	defer p.wg.Done()
	d := net.Dialer{Timeout: dialTimeout}
	nc, err := d.DialContext(c.ctx, "tcp", p.target)

	c.mu.Lock()
	switch {
	case err != nil:
		c.end(fmt.Errorf("faultproxy: dial %s: %w", p.target, err))
		c.exit()
		c.mu.Unlock()
		return
	case c.ended:
		nc.Close()
		c.exit()
		c.mu.Unlock()
		return
	}
	c.server = nc.(*net.TCPConn)
	c.active++
	c.mu.Unlock()

	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		c.pump(ToServer, c.client, c.server)
	}()
	c.pump(ToClient, c.server, c.client)
}

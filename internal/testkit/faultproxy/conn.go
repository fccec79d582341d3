package faultproxy

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
)

// bufSize is what one read from an end may take.
const bufSize = 32 << 10

// Conn is one client connection through the proxy and the connection to
// the server made for it. Its methods are safe for concurrent use.
type Conn struct {
	ctx    context.Context // ends when the connection ends: cancels the dial to the server
	cancel context.CancelFunc
	done   chan struct{} // closed once ended and no goroutine works on the connection

	mu      sync.Mutex
	client  *net.TCPConn
	server  *net.TCPConn // nil until the dial succeeds
	dirs    [2]direction
	ended   bool  // both TCP connections are closed
	err     error // why it ended
	active  int   // goroutines working on the connection: the dialler, then the two pumps
	changed chan struct{}
	watched bool // someone waits on changed
}

// direction is the state of one way through a connection.
type direction struct {
	blackholed bool
	forwarded  int64 // written to the other end
	discarded  int64 // read and dropped
	writing    int64 // being written to the other end now
	limit      int64 // with cutAfter: the forwarded count at which to cut
	cutAfter   bool
	held       bool // the source ended while blackholed: its FIN is not passed on yet
	eof        bool // the source ended and its FIN was passed on
}

func newConn(parent context.Context, client *net.TCPConn, policy Policy) *Conn {
	ctx, cancel := context.WithCancel(parent)
	c := &Conn{ctx: ctx, cancel: cancel, done: make(chan struct{}), client: client, active: 1, changed: make(chan struct{})}
	switch policy {
	case Refuse:
		_ = client.SetLinger(0) // close with a reset
		c.active = 0
		c.end(ErrRefused)
	case Blackhole:
		c.dirs[ToServer].blackholed = true
		c.dirs[ToClient].blackholed = true
	}
	return c
}

// Cut closes both TCP connections now and returns once the proxy has
// stopped working on them, so the counts are final. Each end reads what
// was forwarded before and then EOF, or a reset where the kernel sends
// one (when the proxy's socket to that end still held unread bytes, and
// to a later write). Bytes the proxy had read and not yet written are
// lost. Cutting a connection that has ended does nothing.
func (c *Conn) Cut() {
	c.mu.Lock()
	c.end(ErrCut)
	c.mu.Unlock()
	<-c.done
}

// CutAfter cuts the connection, as Cut does, once n more bytes have been
// forwarded in direction d, counted from the bytes the proxy has read so
// far in that direction: the bytes beyond the n-th in the same read are
// discarded, so the cut may fall in the middle of a stanza. Bytes dropped
// while d is blackholed do not count. CutAfter does not wait; a later call
// replaces the earlier one; n = 0 cuts now. It panics if n is negative.
func (c *Conn) CutAfter(d Direction, n int64) {
	d.check()
	if n < 0 {
		panic("faultproxy: CutAfter with a negative count")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if n == 0 {
		c.end(ErrCut)
		return
	}
	s := &c.dirs[d]
	s.cutAfter = true
	s.limit = s.forwarded + s.writing + n
}

// Blackhole stops forwarding in the directions given, both when none is
// given, without closing anything: the proxy goes on reading what arrives
// and drops it (counted by Discarded), so neither end sees an error or a
// full window. An end's close is held back as well and passed on by Heal.
// Bytes the proxy read before the call may still be written.
func (c *Conn) Blackhole(dirs ...Direction) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range both(dirs) {
		c.dirs[d].blackholed = true
	}
}

// Heal forwards again in the directions given, both when none is given.
// What was dropped stays lost; an end's close held back while the
// direction was blackholed is passed on now.
//
// Under TLS a loss is a gap in the record sequence: the receiving end
// fails on the first record it reads after the heal (Prosody, ejabberd
// and Go's crypto/tls answer with a bad_record_mac alert) and the stream
// ends. A blackhole that dropped nothing heals cleanly.
func (c *Conn) Heal(dirs ...Direction) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range both(dirs) {
		s := &c.dirs[d]
		s.blackholed = false
		if s.held && !c.ended {
			s.held = false
			c.passEOF(d)
		}
	}
}

func both(dirs []Direction) []Direction {
	if len(dirs) == 0 {
		return []Direction{ToServer, ToClient}
	}
	for _, d := range dirs {
		d.check()
	}
	return dirs
}

// Forwarded returns how many bytes have been written to the other end in
// direction d.
func (c *Conn) Forwarded(d Direction) int64 {
	d.check()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dirs[d].forwarded
}

// Discarded returns how many bytes the proxy read in direction d and
// dropped: while blackholed, past a CutAfter limit, or when the write to
// the other end failed. Bytes the proxy never read (still in the kernel
// when the connection was cut) are in neither count.
func (c *Conn) Discarded(d Direction) int64 {
	d.check()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dirs[d].discarded
}

// Wait returns nil as soon as cond returns true. It calls cond now and
// again each time the connection's counts change, and fails with ctx's
// error when ctx ends first, or with ErrEnded when the connection ended
// and cond is still false. cond typically reads Forwarded or Discarded:
//
//	err := c.Wait(ctx, func() bool { return c.Discarded(faultproxy.ToServer) >= 10 })
func (c *Conn) Wait(ctx context.Context, cond func() bool) error {
	for {
		c.mu.Lock()
		changed := c.changed
		c.watched = true
		c.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-changed:
		case <-c.done:
			if cond() {
				return nil
			}
			return ErrEnded
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Done returns a channel that is closed when the connection has ended:
// both TCP connections closed and the proxy done with them.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended: nil while it lasts and when both
// ends closed it in turn; ErrCut after Cut, CutAfter or Proxy.Close;
// ErrRefused under the Refuse policy; otherwise the error that ended it,
// such as a failed dial to the server or a reset from one end.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// pump copies from src to dst in direction d until src ends or the
// connection ends.
func (c *Conn) pump(d Direction, src, dst *net.TCPConn) {
	buf := make([]byte, bufSize)
	for {
		n, err := src.Read(buf)
		if n > 0 && !c.forward(d, dst, buf[:n]) {
			break
		}
		if err != nil {
			c.mu.Lock()
			c.sourceEnded(d, err)
			c.mu.Unlock()
			break
		}
	}
	c.mu.Lock()
	c.exit()
	c.mu.Unlock()
}

// forward writes what b may pass to dst, counts it, and reports whether
// the connection goes on.
func (c *Conn) forward(d Direction, dst *net.TCPConn, b []byte) bool {
	c.mu.Lock()
	s := &c.dirs[d]
	if c.ended || s.blackholed {
		s.discarded += int64(len(b))
		c.notify()
		ended := c.ended
		c.mu.Unlock()
		return !ended
	}
	m := int64(len(b))
	cut := false
	if s.cutAfter && s.forwarded+m >= s.limit {
		m = s.limit - s.forwarded
		cut = true
	}
	s.writing = m
	c.mu.Unlock()

	w, err := dst.Write(b[:m])

	c.mu.Lock()
	defer c.mu.Unlock()
	s.writing = 0
	s.forwarded += int64(w)
	s.discarded += int64(len(b)) - int64(w)
	c.notify()
	switch {
	case err != nil:
		c.end(err)
	case cut:
		c.end(ErrCut)
	}
	return !c.ended
}

// sourceEnded handles the end of the source of direction d: a FIN is
// passed on (or held while blackholed), anything else ends the connection.
func (c *Conn) sourceEnded(d Direction, err error) {
	if c.ended {
		return
	}
	if !errors.Is(err, io.EOF) {
		c.end(err)
		return
	}
	if c.dirs[d].blackholed {
		c.dirs[d].held = true
		return
	}
	c.passEOF(d)
}

// passEOF passes the source's FIN on in direction d, and ends the
// connection once both ways have ended.
func (c *Conn) passEOF(d Direction) {
	s := &c.dirs[d]
	s.eof = true
	dst := c.server
	if d == ToClient {
		dst = c.client
	}
	if err := dst.CloseWrite(); err != nil {
		c.end(err)
		return
	}
	if c.dirs[ToServer].eof && c.dirs[ToClient].eof {
		c.end(nil)
	}
}

// end closes both TCP connections, once, recording why. c.mu is held.
func (c *Conn) end(err error) {
	if c.ended {
		return
	}
	c.ended = true
	c.err = err
	c.cancel()
	c.client.Close()
	if c.server != nil {
		c.server.Close()
	}
	c.notify()
	c.settle()
}

// exit records that a goroutine stopped working on the connection. c.mu
// is held.
func (c *Conn) exit() {
	c.active--
	c.settle()
}

// settle closes done once the connection has ended and no goroutine works
// on it. c.mu is held.
func (c *Conn) settle() {
	if c.ended && c.active == 0 {
		select {
		case <-c.done:
		default:
			close(c.done)
		}
	}
}

// notify wakes Wait. c.mu is held.
func (c *Conn) notify() {
	if c.watched {
		close(c.changed)
		c.changed = make(chan struct{})
		c.watched = false
	}
}

package xmpptest

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyim/parley/internal/wire"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

var (
	// errPeerClosed means the client closed its stream or sent a stream
	// error: the server answers with its own close.
	errPeerClosed = errors.New("xmpptest: client closed the stream")
	// errConnClosed is what writes to a connection that has ended return.
	errConnClosed = errors.New("xmpptest: connection closed")
)

// conn is the server side of one client connection. Its goroutine (run)
// owns the reader and the negotiation state; writes from any goroutine go
// through write, under wmu.
type conn struct {
	srv *Server
	raw net.Conn // as accepted; closing it ends everything
	rd  *wire.Reader
	tr  *transcript // nil unless transcripts are recorded

	wmu        sync.Mutex // serializes writes; guards nc, headerSent, dead
	nc         net.Conn   // raw, or TLS over it
	headerSent bool       // the server's header of the current stream is out
	dead       bool

	closing atomic.Bool  // shutdown started: other writers give up
	delay   atomic.Int64 // time.Duration slept before each write
	// ended: the server ends the stream (a stream error, Close, a
	// conflict), so the resource must not hibernate.
	ended atomic.Bool

	// Stream management (sm.go), and the cuts CutAt armed on this
	// connection: guarded by wmu. hasRCut tells the reader to look.
	sm      smState
	wcut    *cutPlan
	rcut    *cutPlan
	hasRCut atomic.Bool
	// readerDone is closed when the goroutine serving the connection
	// lets it go (a resumption that replaces it waits for that).
	readerDone chan struct{}

	// What the server's own rules send this client (roster pushes and
	// the presence of RFC 6121 §3–4), in the order the rules made it:
	// queued under srv.mu (where roster versions and subscription states
	// change) and written under wmu by whichever goroutine gets there
	// first, so that two changes made at once on two goroutines reach
	// every resource in order without a lock held across a write.
	// queueHeld keeps them back while the connection's own goroutine has
	// a reply to write first (the result of the set or get that made
	// them, or the answer to the stanza that caused them).
	qmu       sync.Mutex // guards queue and queueHeld; taken under srv.mu or wmu, never the other way
	queue     []stanza.Stanza
	queueHeld bool

	// Owned by the goroutine.
	tlsState *tls.ConnectionState
	user     string // authenticated localpart
	failures int
	session  bool            // the RFC 3921 session iq was sent
	replies  []stanza.Stanza // to the sender, after the watchers (see reply)
	lang     string

	// Guarded by srv.mu.
	addr      jid.JID // full JID once bound
	bound     bool
	available bool
	priority  int8
	presence  *stanza.Presence // last available presence broadcast
	availSeq  uint64           // when it became available, for ordering
	// rosterInterested: the resource has requested the roster, so it
	// receives roster pushes (RFC 6121 §2.2).
	rosterInterested bool
	// directed holds the entities the resource sent directed
	// available presence to (RFC 6121 §4.6), to send them unavailable.
	directed map[jid.JID]struct{}
	// activeList names the resource's active privacy list, for this
	// stream only (RFC 3921 §10.4); blocklistInterested: it requested
	// the blocklist, so it receives block pushes (XEP-0191 §3.3).
	activeList          string
	blocklistInterested bool
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{srv: s, raw: nc, nc: nc, readerDone: make(chan struct{})}
	if s.cfg.RecordTranscripts {
		c.tr = &transcript{}
	}
	return c
}

// bufConn reads through a bufio.Reader that has peeked at the first byte.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// run serves the connection until it ends; after a resumption it
// serves the resource resumed (sm.go), which then owns the connection.
func (c *conn) run() {
	cur, err := c.serve()
	cur.finish(err)
}

func (c *conn) serve() (*conn, error) {
	br := bufio.NewReader(c.raw)
	first, err := br.Peek(1)
	if err != nil {
		return c, err
	}
	var nc net.Conn = &bufConn{Conn: c.raw, r: br}
	if first[0] == 0x16 { // a TLS handshake record: direct TLS (XEP-0368)
		tc := tls.Server(nc, c.srv.tlsConf)
		if err := c.handshake(tc); err != nil {
			return c, err
		}
		nc = tc
	}
	c.setConn(nc)
	cur, err := c.negotiate()
	if err != nil {
		return cur, err
	}
	if cur != c {
		// Resumed: what the rules queued while the resource
		// hibernated follows the resent stanzas.
		cur.writeQueue(true)
	}
	return cur, cur.readStanzas()
}

func (c *conn) handshake(tc *tls.Conn) error {
	_ = c.raw.SetDeadline(time.Now().Add(c.srv.cfg.WriteTimeout))
	err := tc.Handshake()
	_ = c.raw.SetDeadline(time.Time{})
	if err != nil {
		return err
	}
	st := tc.ConnectionState()
	c.tlsState = &st
	return nil
}

// setConn makes nc the stream's transport and starts a new reader on it.
func (c *conn) setConn(nc net.Conn) {
	c.wmu.Lock()
	c.nc = nc
	c.wmu.Unlock()
	var r io.Reader = nc
	if c.tr != nil {
		r = io.TeeReader(nc, c.tr.writer('C'))
	}
	c.rd = wire.NewReader(r, wire.Limits{MaxStanzaBytes: c.srv.cfg.MaxStanzaBytes})
}

// asStreamError turns a reading error into the stream error to send:
// XML-level faults are stream errors already; an element that cannot be
// kept is restricted-xml; network errors pass through.
func asStreamError(err error) error {
	var se *stanza.StreamError
	if errors.As(err, &se) {
		return se
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrClosedPipe) {
		return err
	}
	if errors.Is(err, stanza.StreamUnsupportedStanzaType) {
		return &stanza.StreamError{Condition: stanza.StreamUnsupportedStanzaType, Text: err.Error()}
	}
	return &stanza.StreamError{Condition: stanza.StreamInvalidXML, Text: err.Error()}
}

// finish ends the connection: the bookkeeping, then the stream error or
// close the server owes, then the end hooks. The resource is gone from
// its account before the client can read the end of its stream, as on
// Prosody: a client that has seen its stream close can count on the
// server no longer holding its resource (a list it used is no longer in
// use, a message to its bare JID no longer goes to it).
//
// A resource whose stream management session is resumable outlives a
// connection that broke: it hibernates instead (sm.go).
func (c *conn) finish(err error) {
	if c.smDetach(err) {
		return
	}
	wasBound := c.unbind()
	var se *stanza.StreamError
	switch {
	case errors.As(err, &se):
		c.shutdown(se, time.Second)
	case errors.Is(err, errPeerClosed):
		c.shutdown(nil, time.Second)
	default:
		c.kill()
	}
	if wasBound {
		for _, h := range c.srv.endHooks {
			h(c)
		}
	}
	c.smRelease()
}

// endResource ends a resource that has no connection (its hibernation
// is over): as finish, without a stream to close.
func (c *conn) endResource() {
	if c.unbind() {
		for _, h := range c.srv.endHooks {
			h(c)
		}
	}
	c.smRelease()
}

// unbind takes the connection off the server and its resource off the
// account, and reports whether it was bound.
func (c *conn) unbind() bool {
	s := c.srv
	s.mu.Lock()
	delete(s.conns, c)
	wasBound := c.bound
	if c.bound {
		if a := s.accounts[c.addr.Localpart()]; a != nil && a.resources[c.addr.Resourcepart()] == c {
			delete(a.resources, c.addr.Resourcepart())
		}
		c.bound = false // the end hooks make it unavailable
	}
	s.mu.Unlock()
	return wasBound
}

// shutdown sends se (when not nil) and the end of the stream, giving a
// blocked client grace to read them, and closes the connection.
func (c *conn) shutdown(se *stanza.StreamError, grace time.Duration) {
	c.ended.Store(true)
	c.endHibernation()
	c.closing.Store(true)
	c.wmu.Lock()
	_ = c.raw.SetWriteDeadline(time.Now().Add(grace))
	if !c.dead {
		c.writeEndLocked(se)
		c.dead = true
	}
	c.wmu.Unlock()
	c.kill()
}

// writeEndLocked writes se (when not nil) and the end of the stream,
// after the server's stream header when it was not sent yet, whether or
// not the connection is marked dead. The caller holds wmu and has set
// the write deadline.
func (c *conn) writeEndLocked(se *stanza.StreamError) {
	var b []byte
	if !c.headerSent {
		b = wire.AppendHeader(b, wire.Header{From: c.srv.domain.Domainpart(), ID: newID(), Version: "1.0", Lang: "en"})
	}
	if se != nil {
		if eb, err := se.AppendXML(b); err == nil {
			b = eb
		}
	}
	b = append(b, wire.Close...)
	c.record('S', b)
	_, _ = c.nc.Write(b)
}

// kill closes the connection at once.
func (c *conn) kill() {
	c.closing.Store(true)
	c.wmu.Lock()
	c.dead = true
	raw := c.raw
	c.wmu.Unlock()
	_ = raw.Close()
}

// write writes b to the client, under the write lock.
func (c *conn) write(b []byte) error {
	if c.closing.Load() {
		return errConnClosed
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeLocked(b)
}

func (c *conn) writeLocked(b []byte) error {
	if c.dead {
		return errConnClosed
	}
	if d := time.Duration(c.delay.Load()); d > 0 {
		time.Sleep(d)
	}
	_ = c.raw.SetWriteDeadline(time.Now().Add(c.srv.cfg.WriteTimeout))
	if c.closing.Load() && c.dead {
		return errConnClosed
	}
	c.record('S', b)
	if _, err := c.nc.Write(b); err != nil {
		c.dead = true
		_ = c.raw.Close()
		return err
	}
	return nil
}

func (c *conn) record(dir byte, b []byte) {
	if c.tr != nil {
		_, _ = c.tr.writer(dir).Write(b)
	}
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// writeStanza encodes st and writes it to the client (with stream
// management, it is kept until acknowledged).
func (c *conn) writeStanza(st stanza.Stanza) error {
	bp := bufPool.Get().(*[]byte)
	b, err := st.AppendXML((*bp)[:0])
	if err == nil {
		c.wmu.Lock()
		err = c.writeStanzaLocked(st, b)
		c.wmu.Unlock()
	}
	*bp = b[:0]
	bufPool.Put(bp)
	return err
}

// enqueue queues a message, a roster push or a presence of the server's
// rules for the client; held keeps it (and what is queued after it) back
// until the connection's own goroutine has written its reply. The caller
// holds srv.mu.
func (c *conn) enqueue(st stanza.Stanza, held bool) {
	c.qmu.Lock()
	c.queue = append(c.queue, st)
	c.queueHeld = c.queueHeld || held
	c.qmu.Unlock()
}

// holdQueue keeps what is queued for the client back until
// the connection's own goroutine has written its reply.
func (c *conn) holdQueue() {
	c.qmu.Lock()
	c.queueHeld = true
	c.qmu.Unlock()
}

// writeQueue writes what is queued in order, unless it is held back; release ends the hold (the connection's own goroutine, once
// its reply is out).
func (c *conn) writeQueue(release bool) {
	c.qmu.Lock()
	if release {
		c.queueHeld = false
	}
	idle := c.queueHeld || len(c.queue) == 0
	c.qmu.Unlock()
	if idle {
		return
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.dead && !c.sm.hib {
		return
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	for {
		c.qmu.Lock()
		if c.queueHeld || len(c.queue) == 0 {
			c.qmu.Unlock()
			return
		}
		st := c.queue[0]
		// Shift down rather than reslice, so that the array is reused:
		// a queue is short, and reslicing made append allocate anew
		// for every stanza.
		n := copy(c.queue, c.queue[1:])
		c.queue[n] = nil
		c.queue = c.queue[:n]
		c.qmu.Unlock()
		b, err := st.AppendXML((*bp)[:0])
		*bp = b[:0]
		if err != nil {
			continue
		}
		if c.writeStanzaLocked(st, b) != nil {
			return
		}
	}
}

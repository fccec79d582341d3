//go:build unix

package session

import (
	"net"
	"syscall"
)

// poller waits for a socket's input without reading it, or looks whether
// there is some without blocking, through the runtime's network poller:
// the socket's end of the idle hand-over (idleInput, idle.go). Its
// functions are made once per connection, so that polling allocates
// nothing.
type poller struct {
	rc syscall.RawConn

	peek   [1]byte
	ready  bool
	waitFn func(fd uintptr) bool
	peekFn func(fd uintptr) bool
}

// newPoller returns a poller for c, or nil if c is not a socket this
// package can poll.
func newPoller(c net.Conn) *poller {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	switch c.(type) {
	case *net.TCPConn, *net.UnixConn:
	default:
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	p := &poller{rc: rc}
	p.waitFn = p.peekOnce
	p.peekFn = func(fd uintptr) bool {
		p.ready = p.peekOnce(fd)
		return true
	}
	return p
}

// peekOnce reports whether the socket has a byte, the end of input or an
// error to read, without taking anything.
func (p *poller) peekOnce(fd uintptr) bool {
	for {
		_, _, err := syscall.Recvfrom(int(fd), p.peek[:], syscall.MSG_PEEK)
		if err == syscall.EINTR {
			continue
		}
		return !wouldBlock(err)
	}
}

// wouldBlock reports whether err says a non-blocking call found nothing.
func wouldBlock(err error) bool {
	return err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
}

// readable reports, without blocking, whether the socket has something
// to read.
func (p *poller) readable() bool {
	p.ready = false
	if err := p.rc.Read(p.peekFn); err != nil {
		return true // the error is the next Read's to report
	}
	return p.ready
}

// wait blocks until the socket has something to read.
func (p *poller) wait() error { return p.rc.Read(p.waitFn) }

package xmpptest

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/parleyim/parley/stanza"
)

// ErrDown is what Pipe and DialContext return between Shutdown and
// Restart, as a TCP dial to Addr is refused then.
var ErrDown = errors.New("xmpptest: server is down")

// shutdownGrace is how long a client that does not read is given to take
// the stream error before its connection is closed.
const shutdownGrace = time.Second

// Shutdown stops the server as Prosody 0.12 and ejabberd 23.01 stop on
// SIGTERM (xmpptest/restartcases_test.go runs the same cases on all
// three), and keeps it down until Restart.
//
// It ends every stream with a system-shutdown stream error (RFC 6120
// §4.9.3.20) followed by the stream's close tag, as RFC 6120 §4.9.1.1
// requires and as Prosody does for a stream without stream management.
// The servers differ: Prosody closes the connection of a resumable
// stream management session without either (to keep its h, below);
// ejabberd sends the stream error and closes the connection, mostly
// without the close tag; its connection processes race the VM's exit,
// so the close tag sometimes comes, and sometimes neither does.
//
// It forgets what lives only in a running server: bound resources and
// their presence (nobody is available afterwards, and no unavailable
// presence goes out, since every stream ends at once), directed presence,
// active privacy lists, which resources asked for the roster or the
// blocklist, and every stream management session, connected or
// hibernating, so that a <resume/> afterwards fails with item-not-found.
// What a session's client had not acknowledged is handled as when the
// session ends otherwise: messages go to offline storage (or to another
// resource), iq requests get an error. Like Prosody it keeps each
// session's h and gives it in the <failed/> of a later resumption, so a
// client knows which of its stanzas the server handled (XEP-0198 §5 makes
// h there optional); ejabberd forgets the session with its h and loses
// the unacknowledged messages.
//
// It keeps what both servers keep on disk: accounts and passwords,
// rosters with their versions, subscriptions and unanswered subscription
// requests, offline messages, privacy lists with the default list, and
// blocklists; and, of xmpptest's own, Watch functions and transcripts.
//
// While down, TCP connections to Addr are refused (the listener is
// closed) and Pipe, DialContext and Connect return ErrDown. Shutdown of
// a server that is down does nothing; after Close it returns ErrClosed.
// Shutdown returns once every connection has ended.
func (s *Server) Shutdown() error {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	return s.shutdownLocked()
}

// Restart is Shutdown followed by the server coming back: the same
// domain, certificate and Config, the same Addr, the state Shutdown
// keeps, and none of what it forgets. On a server that is down (after
// Shutdown) it only brings it back. It returns once new connections are
// accepted, on Addr and through Pipe and DialContext. When another
// process took Addr's port meanwhile, it returns an error and the server
// stays down. After Close it returns ErrClosed.
func (s *Server) Restart() error {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if err := s.shutdownLocked(); err != nil {
		return err
	}
	var ln net.Listener
	if s.addr != "" {
		var err error
		ln, err = net.Listen("tcp", s.addr)
		if err != nil {
			return fmt.Errorf("xmpptest: restart: listen on %s again: %w", s.addr, err)
		}
	}
	s.mu.Lock()
	s.down = false
	s.ln = ln
	if ln != nil {
		s.wg.Add(1)
		go s.accept(ln)
	}
	s.mu.Unlock()
	return nil
}

// shutdownLocked is Shutdown, under lifeMu.
func (s *Server) shutdownLocked() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.down {
		s.mu.Unlock()
		return nil
	}
	s.down = true
	conns := slices.Collect(maps.Keys(s.conns))
	ln := s.ln
	s.ln = nil
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	// First every connection is silenced, then each gets its end: so
	// nothing follows a stream error (one stream's end would otherwise
	// send unavailable presence, or a message stored from its queue,
	// to a stream whose end has not been written yet), as a server
	// that closes all its streams at once.
	live := make([]bool, len(conns))
	for i, c := range conns {
		live[i] = c.silence()
	}
	// The ends are written at once: a client that does not read (a
	// net.Pipe has no buffer) holds its own up to the grace, not the
	// others'.
	se := &stanza.StreamError{Condition: stanza.StreamSystemShutdown, Text: "server shutting down"}
	var ends sync.WaitGroup
	for i, c := range conns {
		if live[i] {
			ends.Add(1)
			go func() {
				defer ends.Done()
				c.wmu.Lock()
				// A timer rather than a write deadline: the TLS
				// handshake clears the connection's deadlines when
				// it ends, and its goroutine may be doing so now.
				raw := c.raw
				cut := time.AfterFunc(shutdownGrace, func() { _ = raw.Close() })
				c.writeEndLocked(se)
				c.wmu.Unlock()
				cut.Stop()
			}()
		}
	}
	ends.Wait()
	for _, c := range conns {
		c.endHibernation()
		c.kill()
	}
	// Every connection's goroutine and every hibernation has ended:
	// serve adds none while down, and the accept loop has returned.
	s.wg.Wait()
	s.mu.Lock()
	// Every session has ended and left its h in smExpired, kept for
	// the <failed/> of a resumption after the restart, as on Prosody.
	clear(s.smSessions)
	s.mu.Unlock()
	return nil
}

// silence marks the connection ended and dead, so that no writer but
// the shutdown's own writes to it and its resource does not hibernate,
// and reports whether it was alive (its client can still read an end).
func (c *conn) silence() bool {
	c.ended.Store(true)
	c.closing.Store(true)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	live := !c.dead
	c.dead = true
	return live
}

package xmppd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
)

// errStopped says that Restart was called after Stop.
var errStopped = errors.New("xmppd: Restart after Stop")

// Restart stops the server as Stop does (SIGTERM, waiting until none of
// its processes is left) and starts it again on what it had: the same
// Dir with its stored data (accounts, rosters, offline messages, ...),
// the same configuration, so the same Addr and DirectTLSAddr, and the same
// certificate (CertPool and CertPEM stay valid). It returns once the
// server listens again, with every stream that was open ended by the
// server's own shutdown. It does not pick other ports: when another
// process took one meanwhile it returns an error naming it, and the server
// stays down until Stop.
//
// Restart after Stop is an error; Stop waits for a Restart under way.
// AddUser, PID and ListenAddrs must not run concurrently with Restart.
func (s *Server) Restart() error {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if s.stopped {
		return errStopped
	}
	if s.proc != nil {
		err := s.proc.stop(s.backend.stopGrace())
		s.proc = nil
		if err != nil {
			return fmt.Errorf("xmppd: restart %s: %w", s.Kind, err)
		}
	}
	if err := portsFree(s.boundPorts()); err != nil {
		return fmt.Errorf("xmppd: restart %s: %w", s.Kind, err)
	}
	s.logFrom = len(readFile(s.backend.logFile(s)))
	s.consoleFrom = len(readFile(s.consoleLog()))
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	name, args := s.backend.command(s)
	proc, err := launch(name, args, s.Dir, s.consoleLog())
	if err != nil {
		return fmt.Errorf("xmppd: restart %s: %w", s.Kind, err)
	}
	s.proc = proc
	if err := s.waitReady(ctx); err != nil {
		tail := s.LogTail(60)
		_ = s.proc.stop(s.backend.stopGrace())
		s.proc = nil
		return fmt.Errorf("xmppd: %s did not restart: %w\n%s", s.Kind, err, tail)
	}
	return nil
}

// portsFree checks that every port can be bound on 127.0.0.1 now, so
// that a port another process took while the server was down is reported
// by number before the server is started on it.
func portsFree(ports []int) error {
	var taken []string
	for _, port := range ports {
		l, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			taken = append(taken, fmt.Sprint(port))
			continue
		}
		l.Close()
	}
	if len(taken) > 0 {
		return fmt.Errorf("%w: 127.0.0.1 port %s", errPortTaken, strings.Join(taken, ", "))
	}
	return nil
}

// boundPorts lists the ports the running server binds: all of ports but
// the direct TLS one when Options.DirectTLS is off.
func (s *Server) boundPorts() []int {
	var bound []int
	for i, port := range s.ports {
		if i == 1 && !s.opts.DirectTLS {
			continue
		}
		bound = append(bound, port)
	}
	return bound
}

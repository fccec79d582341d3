package xmpptest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/serverside/saslauth"
	"github.com/parleyim/parley/internal/serverside/selfsigned"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// ErrClosed is returned by the methods of a Server after Close.
var ErrClosed = errors.New("xmpptest: server closed")

// Server is an XMPP server for tests. Its methods are safe for concurrent
// use. Make one with NewServer in a test or Start in a program, and end it
// with Close.
type Server struct {
	cfg     Config
	domain  jid.JID
	cert    *selfsigned.Cert
	tlsConf *tls.Config
	sasl    *saslauth.Server
	addr    string // the listener's address, kept across Shutdown

	// lifeMu orders Shutdown, Restart and Close; ln is guarded by both
	// it and mu (accept reads it through neither: it is given it).
	lifeMu sync.Mutex
	ln     net.Listener

	// iq handlers of the server itself, by payload name (or namespace
	// with an empty Local) and scope, and the message and presence hooks: the
	// extension points where the roster, presence and privacy rules plug
	// in. They are set up in Start and only read afterwards.
	iqHandlers     map[iqKey]iqFunc
	messageHooks   []messageHook
	presenceHooks  []presenceHook
	endHooks       []func(c *conn)
	streamFeatures []string // extra <stream:features> children after bind
	discoFeatures  []string // the domain's disco#info features
	// accountFeatures are the disco#info features of every account's
	// bare JID, answered on its behalf.
	accountFeatures []string
	// rosterEpoch ends every roster version of this server, so that a
	// version from elsewhere is never taken for one of its own.
	rosterEpoch string

	wg sync.WaitGroup

	mu       sync.Mutex // guards what follows; never held across a write
	closed   bool
	down     bool // between Shutdown and Restart (restart.go)
	accounts map[string]*account
	conns    map[*conn]struct{}
	watchers []func(Routed)
	last     map[jid.JID]*conn // latest connection bound to each full JID, for Transcript
	seq      uint64            // orders resources by when they became available
	// Stream management (sm.go): the resumable sessions by id, and the
	// h of ended ones, the oldest first out.
	smSessions     map[string]*conn
	smExpired      map[string]expiredSM
	smExpiredOrder []string
}

// account is a user, the resources bound to it and its roster (nil
// until first used).
type account struct {
	password  string
	resources map[string]*conn
	roster    *rosterBook
	// pendingIn holds the subscription requests the account has not
	// answered, by the requester's bare JID (RFC 6121 §3.1.3).
	pendingIn map[jid.JID]pendingRequest
	// offline holds the messages kept for the account while it has no
	// available resource (offline.go), oldest first.
	offline []*stanza.Message
	// privacy holds the account's privacy lists by name (nil until the
	// first), defaultList names the default one, blocked is the
	// blocklist in the order the JIDs were blocked (privacy.go).
	privacy     map[string]*privList
	defaultList string
	blocked     []jid.JID
}

// Start starts a server configured by cfg (nil for the defaults), for
// programs such as examples/demo; tests use NewServer. Close it when done.
func Start(cfg *Config) (*Server, error) {
	s := &Server{cfg: cfg.withDefaults(), accounts: map[string]*account{}, conns: map[*conn]struct{}{}, last: map[jid.JID]*conn{}}
	d, err := jid.New("", s.cfg.Domain, "")
	if err != nil {
		return nil, fmt.Errorf("xmpptest: invalid domain: %w", err)
	}
	s.domain = d
	s.cert, err = selfsigned.New("Parley xmpptest", 24*time.Hour, d.Domainpart(), "localhost", "127.0.0.1")
	if err != nil {
		return nil, fmt.Errorf("xmpptest: %w", err)
	}
	s.tlsConf = &tls.Config{Certificates: []tls.Certificate{s.cert.TLS}, MinVersion: tls.VersionTLS12, MaxVersion: s.cfg.TLSMaxVersion}
	s.sasl = &saslauth.Server{Domain: d.Domainpart(), Lookup: s.lookup, NoPlus: s.cfg.NoChannelBinding}
	s.rosterEpoch = newID()[:8]
	s.registerCore()
	s.registerRoster()
	s.registerPresence()
	s.registerOffline()
	s.registerPrivacy()
	s.registerRegistration()
	if s.cfg.Listen {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("xmpptest: %w", err)
		}
		s.ln, s.addr = ln, ln.Addr().String()
		s.wg.Add(1)
		go s.accept(ln)
	}
	return s, nil
}

// NewServer starts a server for a test: it fails tb when the server
// cannot start and closes the server when the test ends. cfg may be nil.
func NewServer(tb testing.TB, cfg *Config) *Server {
	tb.Helper()
	s, err := Start(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// Domain returns the server's domain as a JID.
func (s *Server) Domain() jid.JID { return s.domain }

// AddUser creates an account (or sets its password) and returns its bare
// JID.
func (s *Server) AddUser(local, password string) (jid.JID, error) {
	j, err := jid.New(local, s.domain.Domainpart(), "")
	if err != nil {
		return jid.JID{}, fmt.Errorf("xmpptest: invalid user %q: %w", local, err)
	}
	if local == "" {
		return jid.JID{}, errors.New("xmpptest: a user needs a localpart")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.accounts[j.Localpart()]; ok {
		a.password = password
	} else {
		s.accounts[j.Localpart()] = &account{password: password, resources: map[string]*conn{}}
	}
	return j, nil
}

// lookup returns the password of a SASL user name, which is read as a
// localpart and normalized as one (so "Alice" logs in as alice).
func (s *Server) lookup(user string) (string, bool) {
	j, err := jid.New(user, s.domain.Domainpart(), "")
	if err != nil {
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[j.Localpart()]
	if !ok {
		return "", false
	}
	return a.password, true
}

// CertPool returns a pool that trusts the server's certificate.
func (s *Server) CertPool() *x509.CertPool { return s.cert.Pool }

// CertPEM returns the server's certificate in PEM, for clients outside Go
// (a CA file for slixmpp or go-sendxmpp).
func (s *Server) CertPEM() []byte { return s.cert.CertPEM() }

// TLSConfig returns a client TLS configuration that trusts the server's
// certificate, for session.Config.TLSConfig. Each call returns a new one.
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: s.cert.Pool, ServerName: s.domain.Domainpart(), MinVersion: tls.VersionTLS12}
}

// Addr returns the TCP address ("127.0.0.1:port") on which the server
// accepts connections, both STARTTLS and direct TLS, or "" when it was
// started without Listen.
func (s *Server) Addr() string { return s.addr }

// Pipe returns the client end of a new in-memory connection served by the
// server. The client may start with a stream header (and then STARTTLS) or
// with a TLS handshake (direct TLS).
//
// The connection is a net.Pipe: it has no buffer, so a write waits until
// the other side reads. A client must keep reading (Parley's session
// does); a client whose TLS handshake fails on the certificate sees the
// failure only when its context ends, since its alert waits behind the
// server's unread handshake flight.
func (s *Server) Pipe() (net.Conn, error) {
	client, server := net.Pipe()
	if err := s.serve(server); err != nil {
		client.Close()
		return nil, err
	}
	return client, nil
}

// DialContext has the signature of session.Config.DialContext: it ignores
// the address and returns Pipe's connection, so that session.Dial reaches
// the server in memory (set Config.Addr to anything, for instance "pipe",
// so that Dial does not resolve the domain).
func (s *Server) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.Pipe()
}

// Connect logs the account addr in over an in-memory connection with
// Parley's session package and returns the negotiated session. addr is an
// account's JID as AddUser returns it; a full JID asks to bind its
// resource (as does cfg.Resource), a bare one lets the server choose. cfg
// may be nil; a nil cfg.TLSConfig is replaced by TLSConfig, and with
// cfg.DirectTLS the stream starts with TLS. The caller closes the session.
//
// Connect dials with session.Dial, cfg.Addr set to "pipe" and
// cfg.DialContext to the server's DialContext, so the session can dial
// again (to resume its stream, XEP-0198) and reach the same server in
// memory.
func (s *Server) Connect(ctx context.Context, addr jid.JID, password string, cfg *session.Config) (*session.Session, error) {
	if addr.Domainpart() != s.domain.Domainpart() || addr.Localpart() == "" {
		return nil, fmt.Errorf("xmpptest: %s is not an account of %s", addr, s.domain)
	}
	var c session.Config
	if cfg != nil {
		c = *cfg
	}
	if c.TLSConfig == nil {
		c.TLSConfig = s.TLSConfig()
	}
	c.Addr = "pipe"
	c.DialContext = s.DialContext
	return session.Dial(ctx, addr, password, &c)
}

func (s *Server) accept(ln net.Listener) {
	defer s.wg.Done()
	for {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		if s.serve(nc) != nil {
			nc.Close()
		}
	}
}

// serve starts the goroutine of a new connection.
func (s *Server) serve(nc net.Conn) error {
	c := newConn(s, nc)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		nc.Close()
		return ErrClosed
	}
	if s.down {
		s.mu.Unlock()
		nc.Close()
		return ErrDown
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		c.run()
	}()
	return nil
}

// Close ends every connection (with a system-shutdown stream error where
// the client still reads), stops listening and waits for every goroutine
// of the server. It returns nil, also when called again.
// It waits for a Shutdown or Restart under way.
func (s *Server) Close() error {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closed = true
	conns := slices.Collect(maps.Keys(s.conns))
	ln := s.ln
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	for _, c := range conns {
		c.stopHibernation()
		c.shutdown(&stanza.StreamError{Condition: stanza.StreamSystemShutdown, Text: "server closed"}, 50*time.Millisecond)
	}
	s.wg.Wait()
	return nil
}

// Resources returns the full JIDs bound to the account of addr.
func (s *Server) Resources(addr jid.JID) []jid.JID {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[addr.Localpart()]
	if !ok || addr.Domainpart() != s.domain.Domainpart() {
		return nil
	}
	out := make([]jid.JID, 0, len(a.resources))
	for _, c := range a.resources {
		out = append(out, c.addr)
	}
	return out
}

// iqKey is a payload name in the server's iq registry, with the scope
// its handler answers in.
type iqKey struct {
	typ   stanza.IQType
	name  xml.Name
	scope scope
}

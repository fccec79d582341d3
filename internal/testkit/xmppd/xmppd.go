package xmppd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Kind names a server implementation.
type Kind string

// The servers this package can start.
const (
	Prosody  Kind = "prosody"
	Ejabberd Kind = "ejabberd"
)

// Kinds lists every Kind, for tests that run against each server.
var Kinds = []Kind{Prosody, Ejabberd}

// DefaultDomain is the XMPP domain served when Options.Domain is empty.
const DefaultDomain = "localhost"

// DefaultUsers returns the accounts created when Options.Users is nil:
// alice, bob and carol, each with a fixed password. The map is a fresh copy.
func DefaultUsers() map[string]string {
	return map[string]string{
		"alice": "alice-secret",
		"bob":   "bob-secret",
		"carol": "carol-secret",
	}
}

// Options says how to configure a server. The zero value is a server for
// "localhost" with DefaultUsers, STARTTLS required, TLS 1.3 allowed and
// hashed password storage.
type Options struct {
	// Domain is the XMPP domain (virtual host). Default DefaultDomain.
	// The certificate is valid for it and for "localhost".
	Domain string

	// Users maps username to password: the accounts that exist when
	// Start returns. Nil means DefaultUsers; an empty map means none.
	Users map[string]string

	// TLS12Only caps the server at TLS 1.2. Under TLS 1.2 the tls-unique
	// channel binding exists, so Prosody offers SCRAM-SHA-1-PLUS and a Go
	// client can use ejabberd's -PLUS mechanisms.
	TLS12Only bool

	// DirectTLS also opens a direct TLS port (XEP-0368), Server.DirectTLSAddr.
	DirectTLS bool

	// PlainPasswords stores passwords in plaintext on the server instead of
	// as SCRAM-SHA-1 hashes. With hashes (the default) both servers offer
	// SCRAM-SHA-1(-PLUS) and PLAIN; with plaintext Prosody adds
	// SCRAM-SHA-256 and ejabberd adds SCRAM-SHA-256 and SCRAM-SHA-512.
	PlainPasswords bool

	// PrivacyLists asks for privacy lists (XEP-0016, RFC 3921 section 10).
	// ejabberd always has them. Prosody needs the community module
	// mod_privacy_lists from Debian's prosody-modules package; without it
	// Start skips the test.
	PrivacyLists bool

	// NoArchive leaves message archiving (XEP-0313) out, so that a
	// benchmark's messages are not written to disk (ejabberd's mnesia
	// archive also slows every message as it grows).
	NoArchive bool

	// Plaintext makes Addr a stream without TLS: STARTTLS is not offered
	// (clients that use it when offered cannot be told otherwise), and
	// logins, PLAIN included, happen in the clear. For benchmarks that
	// compare with and without TLS; never for tests of security. Prosody
	// only.
	Plaintext bool

	// ResumeTimeout is how long a stream management (XEP-0198) session
	// whose connection broke stays resumable: Prosody's
	// smacks_hibernation_time, ejabberd's mod_stream_mgmt resume_timeout.
	// It is rounded up to whole seconds; zero means 300 seconds.
	ResumeTimeout time.Duration

	// Debug raises the server's log level to debug. Prosody then logs every
	// stanza, which helps when reading Server.LogTail after a failure.
	Debug bool
}

// Server is a running server. Its fields are set by Start and must not be
// changed. Stop and LogTail are safe to call from several goroutines;
// AddUser must not run concurrently with a read of Users.
type Server struct {
	// Kind is the server implementation.
	Kind Kind
	// Domain is the XMPP domain the server serves.
	Domain string
	// Addr is the client-to-server address (127.0.0.1:port), which
	// requires STARTTLS.
	Addr string
	// DirectTLSAddr is the direct TLS (XEP-0368) address, or "" when
	// Options.DirectTLS was false.
	DirectTLSAddr string
	// CertPool holds the server's self-signed certificate and nothing else.
	CertPool *x509.CertPool
	// CertPEM is the server's certificate in PEM, for clients outside Go.
	CertPEM []byte
	// Users maps every account created so far to its password.
	Users map[string]string
	// Dir is the temporary folder holding all the server's state.
	Dir string
	// StartDuration is how long Start took, from creating Dir to the
	// accounts being in place.
	StartDuration time.Duration

	opts    Options
	backend backend
	ports   []int // every port the configuration names, c2s first

	// lifeMu orders Stop and Restart and guards proc and the fields
	// below it.
	lifeMu  sync.Mutex
	proc    *process
	stopped bool
	stopErr error
	// logFrom and consoleFrom are where the server's log and console
	// output of the current run begin: Restart keeps the files, and
	// waitReady must not take the previous run's lines for this one's.
	logFrom, consoleFrom int

	usersMu sync.Mutex
}

// resumeSeconds is Options.ResumeTimeout in whole seconds, rounded up,
// 300 for zero.
func (o Options) resumeSeconds() int {
	if o.ResumeTimeout <= 0 {
		return 300
	}
	return int((o.ResumeTimeout + time.Second - 1) / time.Second)
}

// TLSConfig returns a client TLS configuration that trusts only this
// server's certificate, with ServerName set to Domain.
func (s *Server) TLSConfig() *tls.Config {
	cfg := &tls.Config{RootCAs: s.CertPool, ServerName: s.Domain}
	if s.opts.TLS12Only {
		cfg.MaxVersion = tls.VersionTLS12
	}
	return cfg
}

// PID returns the process id of the server's process group leader, or 0
// while none runs (after Stop, or a Restart that failed).
func (s *Server) PID() int {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.pid()
}

// ListenAddrs returns the TCP addresses the server's processes listen on,
// as the kernel reports them: for checking that nothing but the expected
// loopback ports is open.
func (s *Server) ListenAddrs() []string {
	pid := s.PID()
	if pid == 0 {
		return nil
	}
	return listeningAddrs(pid)
}

// backend is what differs between server implementations.
type backend interface {
	// missing names what is not installed, or returns "" when all is.
	missing(opts Options) string
	// portCount is the number of free ports to pick: c2s, direct TLS
	// (unused unless asked for), then any internal ones.
	portCount() int
	// configure writes the configuration for the ports into s.Dir.
	configure(s *Server, ports []int) error
	// command returns the foreground command line.
	command(s *Server) (name string, args []string)
	// portFailure reports whether the log shows a port that could not be
	// bound.
	portFailure(log string) bool
	// started reports whether the log shows the server fully started
	// (ejabberd binds its ports before its modules and tables are up).
	started(s *Server, log string) bool
	// addUsers creates accounts or sets their passwords.
	addUsers(ctx context.Context, s *Server, users map[string]string) error
	// usersBeforeLaunch says whether accounts are created before the
	// server starts (else after it is ready).
	usersBeforeLaunch() bool
	// logFile is the server's main log.
	logFile(s *Server) string
	// stopGrace is how long the server may take to stop after SIGTERM.
	stopGrace() time.Duration
}

func backendFor(kind Kind) (backend, error) {
	switch kind {
	case Prosody:
		return prosodyBackend{}, nil
	case Ejabberd:
		return ejabberdBackend{}, nil
	}
	return nil, fmt.Errorf("xmppd: unknown server kind %q", kind)
}

// unavailable skips tb because something a server needs is not
// installed, or fails it when PARLEY_REQUIRE_SERVERS=1 (as in CI, where a
// skip would hide a missing install step).
func unavailable(tb testing.TB, kind Kind, what string) {
	tb.Helper()
	msg := fmt.Sprintf("xmppd: %s not available: %s (run scripts/install-servers.sh)", kind, what)
	if os.Getenv("PARLEY_REQUIRE_SERVERS") == "1" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}

// Start starts a server of the given kind and returns once its ports accept
// connections and its accounts exist. It registers Stop with tb.Cleanup. It
// skips the test when the server is not installed (fails it instead when
// PARLEY_REQUIRE_SERVERS=1) and fails it when the server does not start,
// quoting the server's log.
func Start(tb testing.TB, kind Kind, opts Options) *Server {
	tb.Helper()
	b, err := backendFor(kind)
	if err != nil {
		tb.Fatal(err)
	}
	if what := b.missing(opts); what != "" {
		unavailable(tb, kind, what)
	}
	s, err := start(kind, b, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Stop(); err != nil {
			tb.Error(err)
		}
	})
	return s
}

// startTimeout bounds how long a server may take to open its ports.
const startTimeout = 60 * time.Second

// startAttempts is how often Start tries fresh ports when another process
// took one between picking and binding.
const startAttempts = 3

func start(kind Kind, b backend, opts Options) (*Server, error) {
	began := time.Now()
	if opts.Domain == "" {
		opts.Domain = DefaultDomain
	}
	users := DefaultUsers()
	if opts.Users != nil {
		users = maps.Clone(opts.Users)
	}
	dir, err := os.MkdirTemp("", "parley-"+string(kind)+"-")
	if err != nil {
		return nil, fmt.Errorf("xmppd: %w", err)
	}
	s := &Server{Kind: kind, Domain: opts.Domain, Users: users, Dir: dir, opts: opts, backend: b}
	if err := s.launch(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.StartDuration = time.Since(began)
	return s, nil
}

// launch writes certificate and configuration, starts the process, waits
// for it and creates the accounts.
func (s *Server) launch() error {
	cert, err := newCertificate(s.Domain)
	if err != nil {
		return err
	}
	s.CertPool, s.CertPEM = cert.pool, cert.certPEM
	if err := writeCertificate(s.Dir, cert); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		err := s.launchOnce(ctx)
		if err == nil {
			break
		}
		tail := s.LogTail(60)
		if s.proc != nil {
			_ = s.proc.stop(s.backend.stopGrace())
			s.proc = nil
		}
		if errors.Is(err, errPortTaken) && attempt < startAttempts {
			continue
		}
		return fmt.Errorf("xmppd: %s did not start: %w\n%s", s.Kind, err, tail)
	}
	if s.backend.usersBeforeLaunch() {
		return nil
	}
	if err := s.backend.addUsers(ctx, s, s.Users); err != nil {
		tail := s.LogTail(60)
		_ = s.proc.stop(s.backend.stopGrace())
		return fmt.Errorf("%w\n%s", err, tail)
	}
	return nil
}

// errPortTaken says that another process holds one of the chosen ports.
var errPortTaken = errors.New("port taken by another process")

// launchOnce runs one attempt with fresh ports and a fresh state folder.
func (s *Server) launchOnce(ctx context.Context) error {
	for _, sub := range []string{"data", "spool", "logs"} {
		path := filepath.Join(s.Dir, sub)
		if err := os.RemoveAll(path); err != nil {
			return fmt.Errorf("xmppd: %w", err)
		}
		if err := os.MkdirAll(path, 0o700); err != nil {
			return fmt.Errorf("xmppd: %w", err)
		}
	}
	ports, err := freePorts(s.backend.portCount())
	if err != nil {
		return err
	}
	s.ports = ports
	s.logFrom, s.consoleFrom = 0, 0
	s.Addr = fmt.Sprintf("127.0.0.1:%d", ports[0])
	s.DirectTLSAddr = ""
	if s.opts.DirectTLS {
		s.DirectTLSAddr = fmt.Sprintf("127.0.0.1:%d", ports[1])
	}
	if err := s.backend.configure(s, ports); err != nil {
		return err
	}
	if s.backend.usersBeforeLaunch() {
		if err := s.backend.addUsers(ctx, s, s.Users); err != nil {
			return err
		}
	}
	name, args := s.backend.command(s)
	s.proc, err = launch(name, args, s.Dir, s.consoleLog())
	if err != nil {
		return err
	}
	return s.waitReady(ctx)
}

// waitReady waits until the server's own processes listen on every
// client address.
func (s *Server) waitReady(ctx context.Context) error {
	want := []string{s.Addr}
	if s.DirectTLSAddr != "" {
		want = append(want, s.DirectTLSAddr)
	}
	for {
		// Look at the exit first and at the logs after it, so that the
		// logs are complete when the process has exited.
		exited := s.proc.exited()
		log := readFrom(s.backend.logFile(s), s.logFrom)
		if s.backend.portFailure(log) || s.backend.portFailure(readFrom(s.consoleLog(), s.consoleFrom)) {
			return fmt.Errorf("%w: %s", errPortTaken, strings.Join(want, ", "))
		}
		if exited {
			return fmt.Errorf("%w before listening on %s (%v)", errExited, strings.Join(want, ", "), s.proc.err)
		}
		if containsAll(listeningAddrs(s.proc.pid()), want) && s.backend.started(s, log) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not listening on %s: %w", strings.Join(want, ", "), ctx.Err())
		case <-s.proc.done:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// inParallel runs f for every account, at most limit at a time (0: all
// at once), and joins the errors.
func inParallel(users map[string]string, limit int, f func(user, pass string) error) error {
	if limit <= 0 {
		limit = len(users)
	}
	sem := make(chan struct{}, max(limit, 1))
	errs := make(chan error, len(users))
	for user, pass := range users {
		go func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			errs <- f(user, pass)
		}()
	}
	var all []error
	for range users {
		all = append(all, <-errs)
	}
	return errors.Join(all...)
}

// AddUser creates an account on the running server, or sets the password
// of an existing one, and records it in Users.
func (s *Server) AddUser(user, pass string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.backend.addUsers(ctx, s, map[string]string{user: pass}); err != nil {
		return err
	}
	s.usersMu.Lock()
	s.Users[user] = pass
	s.usersMu.Unlock()
	return nil
}

// Stop ends the server's process group (SIGTERM, then SIGKILL if it
// lingers), checks that none of its processes is left, and removes Dir.
// Stop is idempotent; later calls return the first call's result.
// It waits for a Restart under way to end first.
func (s *Server) Stop() error {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if s.stopped {
		return s.stopErr
	}
	s.stopped = true
	var errs []error
	if s.proc != nil {
		errs = append(errs, s.proc.stop(s.backend.stopGrace()))
		s.proc = nil
	}
	if err := os.RemoveAll(s.Dir); err != nil {
		errs = append(errs, fmt.Errorf("xmppd: %w", err))
	}
	s.stopErr = errors.Join(errs...)
	return s.stopErr
}

// LogTail returns the last n lines of the server's log and of its console
// output, each under a header naming the file. It returns "" once Stop has
// removed the files.
func (s *Server) LogTail(n int) string {
	var b strings.Builder
	for _, path := range []string{s.backend.logFile(s), s.consoleLog()} {
		text := readFile(path)
		if strings.TrimSpace(text) == "" {
			continue
		}
		fmt.Fprintf(&b, "==> %s <==\n%s\n", path, lastLines(text, n))
	}
	return b.String()
}

func (s *Server) consoleLog() string { return filepath.Join(s.Dir, "logs", "console.log") }

// writeCertificate stores the certificate and key as certs/server.crt,
// certs/server.key and both in certs/server.pem.
func writeCertificate(dir string, cert *certificate) error {
	certs := filepath.Join(dir, "certs")
	if err := os.MkdirAll(certs, 0o700); err != nil {
		return fmt.Errorf("xmppd: %w", err)
	}
	files := map[string][]byte{
		"server.crt": cert.certPEM,
		"server.key": cert.keyPEM,
		"server.pem": append(append([]byte{}, cert.certPEM...), cert.keyPEM...),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(certs, name), data, 0o600); err != nil {
			return fmt.Errorf("xmppd: %w", err)
		}
	}
	return nil
}

// readFrom returns the file's text from byte offset on, or "" when the
// file is shorter or cannot be read.
func readFrom(path string, offset int) string {
	text := readFile(path)
	if offset > len(text) {
		return ""
	}
	return text[offset:]
}

func readFile(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return string(data)
}

func lastLines(text string, n int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func containsAll(have, want []string) bool {
	set := make(map[string]bool, len(have))
	for _, a := range have {
		set[a] = true
	}
	for _, a := range want {
		if !set[a] {
			return false
		}
	}
	return true
}

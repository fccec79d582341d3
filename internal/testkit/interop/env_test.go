//go:build interop

package interop_test

import (
	"context"
	"crypto/tls"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/testkit/syncbuf"
	"github.com/parleyim/parley/internal/testkit/xmppd"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
)

// storage is how a server keeps passwords, which decides the SCRAM
// mechanisms it can offer.
type storage string

const (
	// hashed: SCRAM-SHA-1 hashes (the servers' default).
	hashed storage = "hashed"
	// plaintext: passwords in the clear, so every SCRAM hash is possible.
	plaintext storage = "plaintext"
)

// tlsVersion is the highest TLS version the client allows.
type tlsVersion string

const (
	tls12 tlsVersion = "TLS1.2"
	tls13 tlsVersion = "TLS1.3"
)

// env is the servers of one kind that a test binary starts once: one per
// password storage. The hashed one also listens for direct TLS. TLS 1.2 is
// obtained by capping the client, so each server serves both versions.
type env struct {
	kind    xmppd.Kind
	servers map[storage]*xmppd.Server
}

// startEnv starts the servers of kind; they stop when t ends.
func startEnv(t *testing.T, kind xmppd.Kind) *env {
	t.Helper()
	e := &env{kind: kind, servers: map[storage]*xmppd.Server{
		hashed:    xmppd.Start(t, kind, xmppd.Options{DirectTLS: true, Debug: os.Getenv("XMPPD_DEBUG") != ""}),
		plaintext: xmppd.Start(t, kind, xmppd.Options{PlainPasswords: true}),
	}}
	for st, s := range e.servers {
		t.Logf("%s (%s passwords) on %s, started in %v", kind, st, s.Addr, s.StartDuration.Round(time.Millisecond))
	}
	return e
}

// dialSpec says how one test logs in.
type dialSpec struct {
	store    storage
	tls      tlsVersion
	user     string // default "alice"
	password string // default the account's password
	resource string
	direct   bool // XEP-0368 direct TLS instead of STARTTLS
	// tune, when set, changes the configuration before dialling.
	tune func(*session.Config)
}

// dial logs in as spec says. A session that was established is closed when
// the test ends (if the test has not closed it); its trace is logged when
// the test fails.
func (e *env) dial(t *testing.T, spec dialSpec) (*session.Session, *syncbuf.Buffer, error) {
	t.Helper()
	srv := e.servers[spec.store]
	if spec.store == "" {
		srv = e.servers[hashed]
	}
	user := spec.user
	if user == "" {
		user = "alice"
	}
	password := spec.password
	if password == "" {
		password = srv.Users[user]
	}
	addr, err := jid.New(user, srv.Domain, "")
	require.NoError(t, err)

	tlsCfg := srv.TLSConfig()
	if spec.tls == tls12 {
		tlsCfg.MaxVersion = tls.VersionTLS12
	}
	trace := &syncbuf.Buffer{}
	cfg := &session.Config{
		Addr:      srv.Addr,
		TLSConfig: tlsCfg,
		Resource:  spec.resource,
		Timeout:   30 * time.Second,
		Trace:     trace,
	}
	if spec.direct {
		require.NotEmpty(t, srv.DirectTLSAddr, "server has no direct TLS port")
		cfg.Addr, cfg.DirectTLS = srv.DirectTLSAddr, true
	}
	if spec.tune != nil {
		spec.tune(cfg)
	}
	s, err := session.Dial(context.Background(), addr, password, cfg)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("trace of %s:\n%s", addr, trace.String())
			t.Logf("server log:\n%s", srv.LogTail(logLines))
		}
	})
	if err == nil {
		t.Cleanup(func() { closeSession(t, s) })
	}
	return s, trace, err
}

// closeSession closes s within a bound.
func closeSession(t *testing.T, s *session.Session) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Logf("close %s: %v", s.Addr(), err)
	}
}

// ctxFor returns a context for one request.
func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// logLines is how much of the server's log a failed test shows.
var logLines = 30

func init() {
	if os.Getenv("XMPPD_DEBUG") != "" {
		logLines = 400
	}
}

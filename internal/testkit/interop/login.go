package interop

import (
	"context"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/testkit/xmppd"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
)

// Login connects user (one of srv.Users) to srv with mux and a trusted
// certificate, keepalive off, and closes the session when the test ends.
// Feature packages' interop tests use it.
func Login(t testing.TB, srv *xmppd.Server, user string, mux *session.Mux) *session.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	addr, err := jid.Parse(user + "@" + srv.Domain)
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	s, err := session.Dial(ctx, addr, srv.Users[user], &session.Config{Addr: srv.Addr, TLSConfig: srv.TLSConfig(), Mux: mux, KeepAlive: -1})
	if err != nil {
		t.Fatalf("interop: %s logs in to %s: %v", user, srv.Kind, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	return s
}

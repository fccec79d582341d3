package xmppd_test

import (
	"crypto/tls"
	"net"
	"testing"

	"github.com/parleyim/parley/internal/testkit/xmppd"
)

// An interop test starts a server per kind and connects to it. Start skips
// the test when the server is not installed and stops the server when the
// test ends.
func ExampleStart() {
	testInterop := func(t *testing.T) {
		for _, kind := range xmppd.Kinds {
			t.Run(string(kind), func(t *testing.T) {
				s := xmppd.Start(t, kind, xmppd.Options{TLS12Only: true})
				conn, err := net.Dial("tcp", s.Addr)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				// ... open a stream, STARTTLS with s.TLSConfig() (trusts
				// s.CertPool, ServerName s.Domain), log in as "alice" with
				// s.Users["alice"] ...
				_ = tls.Client(conn, s.TLSConfig())
			})
		}
	}
	_ = testInterop // in a real test: func TestInterop(t *testing.T) { ... }
}

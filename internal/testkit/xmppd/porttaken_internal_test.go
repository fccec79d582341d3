//go:build interop

package xmppd

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPortTakenIsDetected launches each server on a port another socket
// holds and checks that waitReady reports errPortTaken (so Start retries
// with fresh ports) instead of taking the other socket for the server.
func TestPortTakenIsDetected(t *testing.T) {
	t.Parallel()
	for _, kind := range Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			b, err := backendFor(kind)
			require.NoError(t, err)
			if what := b.missing(Options{}); what != "" {
				t.Skip(what)
			}
			taken, err := net.Listen("tcp4", "127.0.0.1:0")
			require.NoError(t, err)
			defer taken.Close()

			s := &Server{Kind: kind, Domain: DefaultDomain, Users: DefaultUsers(), Dir: t.TempDir(), backend: b}
			cert, err := newCertificate(s.Domain)
			require.NoError(t, err)
			s.CertPool = cert.pool
			require.NoError(t, writeCertificate(s.Dir, cert))
			ports, err := freePorts(b.portCount())
			require.NoError(t, err)
			ports[0] = taken.Addr().(*net.TCPAddr).Port
			for _, sub := range []string{"data", "spool", "logs"} {
				require.NoError(t, os.MkdirAll(filepath.Join(s.Dir, sub), 0o700))
			}
			s.Addr = taken.Addr().String()
			require.NoError(t, b.configure(s, ports))
			name, args := b.command(s)
			s.proc, err = launch(name, args, s.Dir, s.consoleLog())
			require.NoError(t, err)
			defer func() { assert.NoError(t, s.proc.stop(b.stopGrace())) }()

			err = s.waitReady(t.Context())
			assert.ErrorIs(t, err, errPortTaken, "log:\n%s", s.LogTail(20))
		})
	}
}

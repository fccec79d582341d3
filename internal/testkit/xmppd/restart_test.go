//go:build interop

package xmppd_test

import (
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/testkit/xmppd"
)

// TestRestartKeepsState stores an account, a roster item and an offline
// message, restarts the server and finds all three again on the same
// address, behind the same certificate. It logs (see -v) how long
// Restart took and what a connected client saw.
func TestRestartKeepsState(t *testing.T) {
	t.Parallel()
	for _, kind := range xmppd.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			s := xmppd.Start(t, kind, xmppd.Options{})
			addr, tlsAddr, certPEM, pid := s.Addr, s.DirectTLSAddr, string(s.CertPEM), s.PID()
			require.NoError(t, s.AddUser("dave", "dave-secret"))

			alice := login(t, s.Addr, s.Domain, s.TLSConfig(), "alice", s.Users["alice"])
			send(t, alice, "<iq type='set' id='rs1'><query xmlns='jabber:iq:roster'><item jid='bob@"+s.Domain+"' name='Bob'/></query></iq>")
			requireResult(t, alice, "rs1")
			send(t, alice, "<message to='carol@"+s.Domain+"' type='chat' id='m1'><body>while you were away</body></message>")
			send(t, alice, "<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>")
			requireResult(t, alice, "p1")

			began := time.Now()
			require.NoError(t, s.Restart())
			t.Logf("%s: Restart took %v", kind, time.Since(began).Round(time.Millisecond))

			assert.Equal(t, addr, s.Addr)
			assert.Equal(t, tlsAddr, s.DirectTLSAddr)
			assert.Equal(t, certPEM, string(s.CertPEM))
			assert.NotEqual(t, pid, s.PID(), "a new process")
			t.Logf("%s: a connected client saw %q", kind, readToEnd(t, alice))

			// Logging in through TLSConfig verifies the certificate
			// against the pool taken before the restart.
			login(t, s.Addr, s.Domain, s.TLSConfig(), "dave", "dave-secret").Close()

			alice = login(t, s.Addr, s.Domain, s.TLSConfig(), "alice", s.Users["alice"])
			send(t, alice, "<iq type='get' id='rg1'><query xmlns='jabber:iq:roster'/></iq>")
			roster := readUntil(t, alice, "</iq>")
			assert.Contains(t, roster, "bob@"+s.Domain, "roster after the restart")

			carol := login(t, s.Addr, s.Domain, s.TLSConfig(), "carol", s.Users["carol"])
			send(t, carol, "<presence/>")
			got := readUntil(t, carol, "while you were away", "</stream:stream>")
			assert.Contains(t, got, "while you were away", "offline message after the restart")
		})
	}
}

// TestRestartAndStop checks that Stop after Restart stops the new
// process and that Restart after Stop fails.
func TestRestartAndStop(t *testing.T) {
	t.Parallel()
	s := xmppd.Start(t, xmppd.Prosody, xmppd.Options{})
	require.NoError(t, s.Restart())
	pid := s.PID()
	require.NotZero(t, pid)
	require.NoError(t, s.Stop())
	assert.Empty(t, xmppd.Family(pid), "processes left after Stop")
	err := s.Restart()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "after Stop")
	assert.Zero(t, s.PID())
}

// send writes text to conn.
func send(t *testing.T, conn net.Conn, text string) {
	t.Helper()
	_, err := io.WriteString(conn, text)
	require.NoError(t, err)
}

// requireResult reads until the iq with id is answered and requires a
// result.
func requireResult(t *testing.T, conn net.Conn, id string) {
	t.Helper()
	re := regexp.MustCompile(`<iq[^>]*id=["']` + id + `["'][^>]*>`)
	var text string
	for !re.MatchString(text) {
		text += readUntil(t, conn, ">")
	}
	assert.Regexp(t, `type=["']result["']`, re.FindString(text), "reply to %s in %q", id, text)
}

// readToEnd reads what the server sends until it closes the connection.
func readToEnd(t *testing.T, conn net.Conn) string {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Errorf("the connection stayed open after the restart")
			}
			return b.String()
		}
	}
}

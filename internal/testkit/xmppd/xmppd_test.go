//go:build interop

package xmppd_test

import (
	"crypto/tls"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/testkit/xmppd"
)

func TestStartTLSAndMechanisms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		kind      xmppd.Kind
		opts      xmppd.Options
		clientMax uint16 // client's TLS cap; 0: TLS 1.3 allowed
		wantTLS   uint16
		want      []string
		dontWant  []string
	}{
		{
			name:     "prosody/default",
			kind:     xmppd.Prosody,
			wantTLS:  tls.VersionTLS13,
			want:     []string{"SCRAM-SHA-1", "PLAIN"},
			dontWant: []string{"SCRAM-SHA-1-PLUS", "SCRAM-SHA-256"},
		},
		{
			name:    "prosody/tls12only",
			kind:    xmppd.Prosody,
			opts:    xmppd.Options{TLS12Only: true},
			wantTLS: tls.VersionTLS12,
			want:    []string{"SCRAM-SHA-1", "SCRAM-SHA-1-PLUS", "PLAIN"},
		},
		{
			name:     "prosody/plain-passwords",
			kind:     xmppd.Prosody,
			opts:     xmppd.Options{PlainPasswords: true},
			wantTLS:  tls.VersionTLS13,
			want:     []string{"SCRAM-SHA-1", "SCRAM-SHA-256", "PLAIN"},
			dontWant: []string{"SCRAM-SHA-1-PLUS"},
		},
		{
			name:     "ejabberd/default",
			kind:     xmppd.Ejabberd,
			wantTLS:  tls.VersionTLS13,
			want:     []string{"SCRAM-SHA-1", "SCRAM-SHA-1-PLUS", "PLAIN"},
			dontWant: []string{"SCRAM-SHA-256", "SCRAM-SHA-512"},
		},
		{
			name:    "ejabberd/tls12only",
			kind:    xmppd.Ejabberd,
			opts:    xmppd.Options{TLS12Only: true},
			wantTLS: tls.VersionTLS12,
			want:    []string{"SCRAM-SHA-1", "SCRAM-SHA-1-PLUS", "PLAIN"},
		},
		{
			name:    "ejabberd/plain-passwords",
			kind:    xmppd.Ejabberd,
			opts:    xmppd.Options{PlainPasswords: true},
			wantTLS: tls.VersionTLS13,
			want:    []string{"SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-512", "SCRAM-SHA-512-PLUS", "PLAIN"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := xmppd.Start(t, tt.kind, tt.opts)
			// The client allows TLS 1.3, so a TLS 1.2 result is the server's cap.
			cfg := &tls.Config{RootCAs: s.CertPool, ServerName: "localhost"}
			conn, feats := startTLS(t, s.Addr, s.Domain, cfg)
			assert.Equal(t, tt.wantTLS, conn.ConnectionState().Version, "TLS version")
			assert.NotContains(t, feats, "<starttls", "STARTTLS offered again")
			got := mechanisms(feats)
			for _, m := range tt.want {
				assert.Contains(t, got, m)
			}
			for _, m := range tt.dontWant {
				assert.NotContains(t, got, m)
			}
			assert.True(t, plainAuth(t, conn, "alice", "alice-secret"), "alice logs in\n%s", s.LogTail(20))
		})
	}
}

func TestAccounts(t *testing.T) {
	t.Parallel()
	for _, kind := range xmppd.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			s := xmppd.Start(t, kind, xmppd.Options{
				Users: map[string]string{"erin": "erin-pass", "frank": "frank-pass"},
			})
			require.NoError(t, s.AddUser("dave", "dave-pass"))
			require.NoError(t, s.AddUser("erin", "erin-new"), "changing a password")
			assert.Equal(t, map[string]string{"erin": "erin-new", "frank": "frank-pass", "dave": "dave-pass"}, s.Users)
			tests := []struct {
				name, user, pass string
				ok               bool
			}{
				{"given at start", "frank", "frank-pass", true},
				{"added while running", "dave", "dave-pass", true},
				{"changed password", "erin", "erin-new", true},
				{"old password", "erin", "erin-pass", false},
				{"default users not created", "alice", "alice-secret", false},
				{"wrong password", "dave", "nope", false},
			}
			for _, tc := range tests {
				conn, _ := startTLS(t, s.Addr, s.Domain, s.TLSConfig())
				assert.Equal(t, tc.ok, plainAuth(t, conn, tc.user, tc.pass), tc.name)
				conn.Close()
			}
		})
	}
}

func TestDirectTLS(t *testing.T) {
	t.Parallel()
	for _, kind := range xmppd.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			s := xmppd.Start(t, kind, xmppd.Options{DirectTLS: true})
			require.NotEmpty(t, s.DirectTLSAddr)
			assert.NotEqual(t, s.Addr, s.DirectTLSAddr)
			dialer := &net.Dialer{Timeout: 5 * time.Second}
			conn, err := tls.DialWithDialer(dialer, "tcp", s.DirectTLSAddr, s.TLSConfig())
			require.NoError(t, err)
			defer conn.Close()
			feats := features(t, conn, s.Domain)
			assert.NotContains(t, feats, "<starttls")
			assert.Contains(t, mechanisms(feats), "SCRAM-SHA-1")
			assert.True(t, plainAuth(t, conn, "bob", "bob-secret"), "bob logs in")
		})
	}
}

func TestSideBySide(t *testing.T) {
	t.Parallel()
	for _, kind := range xmppd.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			a := xmppd.Start(t, kind, xmppd.Options{})
			b := xmppd.Start(t, kind, xmppd.Options{})
			assert.NotEqual(t, a.Addr, b.Addr)
			assert.NotEqual(t, a.Dir, b.Dir)
			assert.NotEqual(t, a.PID(), b.PID())
			for _, s := range []*xmppd.Server{a, b} {
				conn, _ := startTLS(t, s.Addr, s.Domain, s.TLSConfig())
				assert.True(t, plainAuth(t, conn, "carol", "carol-secret"))
				conn.Close()
			}
			for _, s := range []*xmppd.Server{a, b} {
				pid := s.PID()
				procs := xmppd.Family(pid)
				require.Contains(t, procs, pid)
				require.NoError(t, s.Stop())
				for _, p := range procs {
					assert.False(t, alive(p), "process %d (of %d) still alive after Stop", p, pid)
				}
				assert.Empty(t, xmppd.Family(pid), "processes of %d left", pid)
				_, err := os.Stat(s.Dir)
				assert.True(t, os.IsNotExist(err), "Dir %s not removed", s.Dir)
				_, err = net.DialTimeout("tcp", s.Addr, time.Second)
				assert.Error(t, err, "%s still accepts connections", s.Addr)
			}
		})
	}
}

func TestListensOnLoopbackOnly(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind  xmppd.Kind
		extra int // listeners besides Addr and DirectTLSAddr
	}{
		{xmppd.Prosody, 0},
		{xmppd.Ejabberd, 1}, // Erlang distribution
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			t.Parallel()
			s := xmppd.Start(t, tt.kind, xmppd.Options{DirectTLS: true})
			addrs := s.ListenAddrs()
			assert.Contains(t, addrs, s.Addr)
			assert.Contains(t, addrs, s.DirectTLSAddr)
			assert.Len(t, addrs, 2+tt.extra, "listeners: %v", addrs)
			for _, a := range addrs {
				assert.True(t, strings.HasPrefix(a, "127.0.0.1:"), "listens on %s", a)
			}
		})
	}
}

func TestStopIsIdempotent(t *testing.T) {
	t.Parallel()
	s := xmppd.Start(t, xmppd.Prosody, xmppd.Options{})
	require.NoError(t, s.Stop())
	assert.NoError(t, s.Stop())
	assert.Empty(t, s.LogTail(10))
}

func TestPrivacyLists(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		kind      xmppd.Kind
		opts      xmppd.Options
		supported bool
	}{
		{"prosody/without", xmppd.Prosody, xmppd.Options{}, false},
		{"prosody/with", xmppd.Prosody, xmppd.Options{PrivacyLists: true}, true},
		{"ejabberd", xmppd.Ejabberd, xmppd.Options{PrivacyLists: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := xmppd.Start(t, tt.kind, tt.opts)
			conn := login(t, s.Addr, s.Domain, s.TLSConfig(), "alice", s.Users["alice"])
			_, err := conn.Write([]byte("<iq type='get' id='priv1'><query xmlns='jabber:iq:privacy'/></iq>"))
			require.NoError(t, err)
			reply := readUntil(t, conn, "</iq>")
			if tt.supported {
				assert.Regexp(t, `type=["']result["']`, reply)
			} else {
				assert.Contains(t, reply, "service-unavailable", reply)
			}
		})
	}
}

func TestCustomDomain(t *testing.T) {
	t.Parallel()
	for _, kind := range xmppd.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			s := xmppd.Start(t, kind, xmppd.Options{Domain: "example.test"})
			assert.Equal(t, "example.test", s.Domain)
			cfg := s.TLSConfig()
			assert.Equal(t, "example.test", cfg.ServerName)
			conn := login(t, s.Addr, s.Domain, cfg, "bob", s.Users["bob"])
			conn.Close()
		})
	}
}

// TestIdleSessionSurvives idles on a logged-in stream for longer than a
// client keepalive and checks that the server still answers.
func TestIdleSessionSurvives(t *testing.T) {
	if testing.Short() {
		t.Skip("idles for 8 s")
	}
	t.Parallel()
	for _, kind := range xmppd.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			s := xmppd.Start(t, kind, xmppd.Options{})
			conn := login(t, s.Addr, s.Domain, s.TLSConfig(), "alice", s.Users["alice"])
			// login's deadline covers the login; the idle time is the
			// test's, and the ping gets a deadline of its own.
			require.NoError(t, conn.SetDeadline(time.Time{}))
			time.Sleep(8 * time.Second)
			require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
			_, err := conn.Write([]byte("<iq type='get' id='ping1'><ping xmlns='urn:xmpp:ping'/></iq>"))
			require.NoError(t, err)
			reply := readUntil(t, conn, "id='ping1'", `id="ping1"`, "</stream:stream>")
			assert.Regexp(t, `type=["']result["']`, reply)
		})
	}
}

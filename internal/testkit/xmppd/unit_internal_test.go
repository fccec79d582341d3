package xmppd

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLuaString(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"plain", "localhost", `"localhost"`},
		{"path", "/tmp/parley-1/data", `"/tmp/parley-1/data"`},
		{"quote and backslash", `a"b\c`, `"a\034b\092c"`},
		{"escape then digit", "\n1", `"\0101"`},
		{"non-ASCII bytes", "é", `"\195\169"`},
		{"empty", "", `""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, luaString(tt.in))
		})
	}
}

func TestYAMLAndShellStrings(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, yaml, sh string }{
		{"plain", "localhost", `"localhost"`, `'localhost'`},
		{"quotes", `it's "x"`, `"it's \"x\""`, `'it'\''s "x"'`},
		{"colon and hash", "a: #b", `"a: #b"`, `'a: #b'`},
		{"newline", "a\nb", `"a\nb"`, "'a\nb'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.yaml, yamlString(tt.in))
			assert.Equal(t, tt.sh, shellString(tt.in))
		})
	}
}

func TestCertificate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, domain string
		verify       []string
	}{
		{"localhost", "localhost", []string{"localhost", "pubsub.localhost", "127.0.0.1", "::1"}},
		{"other domain", "example.test", []string{"example.test", "localhost", "pubsub.example.test", "127.0.0.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cert, err := newCertificate(tt.domain)
			require.NoError(t, err)
			block, _ := pem.Decode(cert.certPEM)
			require.NotNil(t, block)
			leaf, err := x509.ParseCertificate(block.Bytes)
			require.NoError(t, err)
			assert.Equal(t, x509.ECDSA, leaf.PublicKeyAlgorithm)
			key, _ := pem.Decode(cert.keyPEM)
			require.NotNil(t, key)
			assert.Equal(t, "PRIVATE KEY", key.Type)
			for _, name := range tt.verify {
				_, err := leaf.Verify(x509.VerifyOptions{
					DNSName:   name,
					Roots:     cert.pool,
					KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
				})
				assert.NoError(t, err, name)
			}
			_, err = leaf.Verify(x509.VerifyOptions{DNSName: "example.com", Roots: cert.pool})
			assert.Error(t, err, "valid for a name it should not cover")
			_, err = leaf.Verify(x509.VerifyOptions{DNSName: tt.domain})
			assert.Error(t, err, "trusted without the pool")
		})
	}
}

func TestLastLines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		n        int
		want     string
	}{
		{"fewer lines", "a\nb\n", 5, "a\nb"},
		{"cut", "a\nb\nc\nd\n", 2, "c\nd"},
		{"no trailing newline", "a\nb", 1, "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, lastLines(tt.in, tt.n))
		})
	}
}

// TestFreePortsAreDistinct checks that freePorts never hands out a port
// twice and only hands out real ports. It does not bind them again: between
// freePorts and a second bind, any connection on the machine (another test
// binary's, a server's) may take the port as its ephemeral local port, so
// such a check fails at random; Start copes with that by retrying.
func TestFreePortsAreDistinct(t *testing.T) {
	t.Parallel()
	seen := make(map[int]bool)
	for range 20 {
		ports, err := freePorts(3)
		require.NoError(t, err)
		require.Len(t, ports, 3)
		for _, p := range ports {
			assert.False(t, seen[p], "port %d handed out twice", p)
			assert.Greater(t, p, 0)
			assert.Less(t, p, 1<<16)
			seen[p] = true
		}
	}
}

func TestBenchmarkOptions(t *testing.T) {
	render := func(opts Options) string {
		s := &Server{Domain: "localhost", Dir: t.TempDir(), opts: opts}
		if err := (prosodyBackend{}).configure(s, []int{5222, 5223}); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(prosodyBackend{}.configPath(s))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	def := render(Options{})
	if !strings.Contains(def, `"mam";`) || !strings.Contains(def, `"tls";`) || !strings.Contains(def, "c2s_require_encryption = true") || strings.Contains(def, "allow_unencrypted_plain_auth") {
		t.Errorf("default configuration:\n%s", def)
	}
	bench := render(Options{NoArchive: true, Plaintext: true})
	if strings.Contains(bench, `"mam";`) || strings.Contains(bench, `"tls";`) || !strings.Contains(bench, "c2s_require_encryption = false") || !strings.Contains(bench, "allow_unencrypted_plain_auth = true") {
		t.Errorf("benchmark configuration:\n%s", bench)
	}
	if !slices.Contains(prosodyModules, "mam") || !slices.Contains(prosodyModules, "tls") {
		t.Error("NoArchive changed the shared module list")
	}
	if err := (ejabberdBackend{}).configure(&Server{Dir: t.TempDir(), opts: Options{Plaintext: true}}, []int{1, 2, 3}); err == nil {
		t.Error("ejabberd accepted Plaintext")
	}
	if _, err := ejabberdctlPath(); err != nil {
		return
	}
	renderEjabberd := func(opts Options) string {
		s := &Server{Domain: "localhost", Dir: t.TempDir(), opts: opts}
		require.NoError(t, (ejabberdBackend{}).configure(s, []int{1, 2, 3}))
		b, err := os.ReadFile(filepath.Join(s.Dir, "ejabberd.yml"))
		require.NoError(t, err)
		return string(b)
	}
	if def := renderEjabberd(Options{}); !strings.Contains(def, "  mod_mam: ") {
		t.Errorf("ejabberd's default configuration has no mod_mam:\n%s", def)
	}
	if na := renderEjabberd(Options{NoArchive: true}); strings.Contains(na, "mod_mam") || !strings.Contains(na, "  mod_offline: ") {
		t.Errorf("ejabberd's NoArchive configuration:\n%s", na)
	}
	if !slices.ContainsFunc(ejabberdModules, func(m ejabberdModule) bool { return m.Name == "mod_mam" }) {
		t.Error("NoArchive changed ejabberd's shared module list")
	}
}

// TestResumeTimeoutConfig checks that Options.ResumeTimeout reaches both
// configurations, in whole seconds rounded up, and that zero keeps 300.
func TestResumeTimeoutConfig(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{{0, "300"}, {3 * time.Second, "3"}, {1500 * time.Millisecond, "2"}} {
		s := &Server{Domain: "localhost", Dir: t.TempDir(), opts: Options{ResumeTimeout: tt.d}}
		if err := (prosodyBackend{}).configure(s, []int{5222, 5223}); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(prosodyBackend{}.configPath(s))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "smacks_hibernation_time = "+tt.want+"\n") {
			t.Errorf("%v: prosody configuration:\n%s", tt.d, b)
		}
		if _, err := ejabberdctlPath(); err != nil {
			continue
		}
		if err := (ejabberdBackend{}).configure(s, []int{1, 2, 3}); err != nil {
			t.Fatal(err)
		}
		b, err = os.ReadFile(filepath.Join(s.Dir, "ejabberd.yml"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "mod_stream_mgmt: {resume_timeout: "+tt.want+"}\n") {
			t.Errorf("%v: ejabberd configuration:\n%s", tt.d, b)
		}
	}
}

func TestEjabberdctlOverride(t *testing.T) {
	ctl := filepath.Join(t.TempDir(), "ejabberdctl")
	require.NoError(t, os.WriteFile(ctl, []byte("#!/bin/sh\nERL=/nonexistent/erl\n"), 0o700))

	t.Setenv("PARLEY_EJABBERDCTL", ctl)
	got, err := ejabberdctlPath()
	require.NoError(t, err)
	assert.Equal(t, ctl, got)
	// The override's own ERL line decides whether the runtime is there.
	assert.Equal(t, "Erlang runtime /nonexistent/erl not found", ejabberdBackend{}.missing(Options{}))

	t.Setenv("PARLEY_EJABBERDCTL", ctl+".absent")
	_, err = ejabberdctlPath()
	require.Error(t, err)
	assert.Equal(t, "ejabberdctl not found", ejabberdBackend{}.missing(Options{}))
}

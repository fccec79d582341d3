package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/parleyim/parley/xmpptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// readmeProgram returns the Go block of README.md's "Using it" section.
func readmeProgram(readme string) (string, bool) {
	_, section, ok := strings.Cut(readme, "\n## Using it\n")
	if !ok {
		return "", false
	}
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	_, block, ok := strings.Cut(section, "\n```go\n")
	if !ok {
		return "", false
	}
	block, _, ok = strings.Cut(block, "\n```\n")
	return block, ok
}

// The program README.md shows is this command's, character for
// character: the README cannot drift from code that is built and tested.
func TestREADMEShowsRun(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	block, ok := readmeProgram(string(readme))
	require.True(t, ok, `README.md has no "## Using it" section with a Go block`)
	require.Contains(t, block, "func run(", "the README shows run")
	main, err := os.ReadFile("main.go")
	require.NoError(t, err)
	assert.Contains(t, string(main), block+"\n", "README.md's Using it block is not in examples/echobot/main.go verbatim")
}

func TestReadmeProgram(t *testing.T) {
	tests := []struct {
		name, readme, want string
		ok                 bool
	}{
		{"the block", "# P\n\n## Using it\n\ntext\n\n```go\nfunc run() {}\n```\n\n## Next\n", "func run() {}", true},
		{"only the section's block", "## Using it\n\nnone\n\n## Next\n\n```go\nx\n```\n", "", false},
		{"no section", "# P\n\n```go\nx\n```\n", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := readmeProgram(tt.readme)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestSetup(t *testing.T) {
	srv := xmpptest.NewServer(t, nil)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(ca, srv.CertPEM(), 0o600))
	env := func(pw string) func(string) string {
		return func(k string) string {
			if k == passwordEnv {
				return pw
			}
			return ""
		}
	}
	tests := []struct {
		name    string
		o       options
		pw      string
		wantErr string
	}{
		{"ok", options{jid: "bot@example.test", server: "127.0.0.1:5222", caFile: ca}, "secret", ""},
		{"ok without server and CA", options{jid: "bot@example.test"}, "secret", ""},
		{"no JID", options{}, "secret", "-jid is required"},
		{"bad JID", options{jid: "bot@exa mple.test"}, "secret", "-jid: jid: "},
		{"no localpart", options{jid: "example.test"}, "secret", "-jid example.test: an account is name@domain"},
		{"no password", options{jid: "bot@example.test"}, "", "no password: set the environment variable ECHOBOT_PASSWORD"},
		{"missing CA file", options{jid: "bot@example.test", caFile: filepath.Join(dir, "missing.pem")}, "secret", "-ca: session: reading CA file: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, pw, cfg, err := setup(tt.o, env(tt.pw))
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.o.jid, addr.String())
			assert.Equal(t, tt.pw, pw)
			assert.Equal(t, tt.o.server, cfg.Addr)
			assert.Equal(t, tt.o.caFile != "", cfg.TLSConfig != nil, "a TLS configuration only for -ca")
			assert.Nil(t, cfg.Mux, "run brings its own")
		})
	}
}

package main

import (
	"bufio"
	"context"
	"crypto/x509"
	"errors"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
	"github.com/parleyim/parley/xmpptest"
)

// runMainEnv, set to 1, makes the test binary run the command's main
// instead of the tests: TestCommand runs the command as a process.
const runMainEnv = "ECHOBOT_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

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
	missing := filepath.Join(dir, "missing.pem")
	pw := map[string]string{passwordEnv: "secret"}
	with := func(env map[string]string) map[string]string {
		m := map[string]string{passwordEnv: "secret"}
		for k, v := range env {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name       string
		o          options
		env        map[string]string
		wantErr    string
		wantJID    string
		wantServer string
		wantTLS    string // "": the system's roots, "ca": the -ca file's, "insecure": none
		wantFirst  time.Duration
	}{
		{"flags", options{jid: "bot@example.test", server: "127.0.0.1:5222", caFile: ca, wait: time.Minute}, pw, "",
			"bot@example.test", "127.0.0.1:5222", "ca", time.Minute},
		{"reconnect at once", options{jid: "bot@example.test"}, pw, "",
			"bot@example.test", "", "", -1},
		{"a negative wait is none", options{jid: "bot@example.test", wait: -time.Second}, pw, "",
			"bot@example.test", "", "", -1},
		{"flags without server and CA", options{jid: "bot@example.test", wait: time.Second}, pw, "",
			"bot@example.test", "", "", time.Second},
		{"environment", options{wait: time.Second}, with(map[string]string{jidEnv: "env@example.test", serverEnv: "127.0.0.1:5223", caEnv: ca}), "",
			"env@example.test", "127.0.0.1:5223", "ca", time.Second},
		{"flags win over the environment", options{jid: "bot@example.test", server: "127.0.0.1:5222", caFile: ca, wait: time.Second},
			with(map[string]string{jidEnv: "env@example.test", serverEnv: "127.0.0.1:5223", caEnv: missing}), "",
			"bot@example.test", "127.0.0.1:5222", "ca", time.Second},
		{"insecure", options{jid: "bot@example.test", insecure: true, wait: time.Second}, pw, "",
			"bot@example.test", "", "insecure", time.Second},
		{"no JID", options{}, pw, "no JID: give -jid or set ECHOBOT_JID", "", "", "", 0},
		{"bad JID", options{jid: "bot@exa mple.test"}, pw, "-jid: jid: ", "", "", "", 0},
		{"bad JID from the environment", options{}, with(map[string]string{jidEnv: "bot@exa mple.test"}), "ECHOBOT_JID: jid: ", "", "", "", 0},
		{"no localpart", options{jid: "example.test"}, pw, "-jid example.test: an account is name@domain", "", "", "", 0},
		{"no password", options{jid: "bot@example.test"}, nil, "no password: set the environment variable ECHOBOT_PASSWORD", "", "", "", 0},
		{"missing CA file", options{jid: "bot@example.test", caFile: missing}, pw, "-ca: session: reading CA file: ", "", "", "", 0},
		{"missing CA file from the environment", options{jid: "bot@example.test"}, with(map[string]string{caEnv: missing}),
			"ECHOBOT_CA: session: reading CA file: ", "", "", "", 0},
		{"insecure and a CA", options{jid: "bot@example.test", caFile: ca, insecure: true}, pw,
			"-insecure and -ca exclude each other", "", "", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logged strings.Builder
			addr, pw, cfg, err := setup(tt.o, func(k string) string { return tt.env[k] }, log.New(&logged, "", 0))
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantJID, addr.String())
			assert.Equal(t, "secret", pw)
			assert.Equal(t, tt.wantFirst, cfg.FirstDelay)
			assert.Zero(t, cfg.RetryDelay, "the Client's default")
			assert.Zero(t, cfg.MaxDelay, "the Client's default")
			assert.Nil(t, cfg.Events, "run brings its own")
			sc := cfg.Session
			require.NotNil(t, sc)
			assert.Equal(t, tt.wantServer, sc.Addr)
			assert.Nil(t, sc.Mux, "run brings its own")
			switch tt.wantTLS {
			case "":
				assert.Nil(t, sc.TLSConfig, "the session's default: the system's roots")
			case "ca":
				require.NotNil(t, sc.TLSConfig)
				assert.False(t, sc.TLSConfig.InsecureSkipVerify)
				assert.NotNil(t, sc.TLSConfig.RootCAs, "the -ca file's certificates")
			case "insecure":
				require.NotNil(t, sc.TLSConfig)
				assert.True(t, sc.TLSConfig.InsecureSkipVerify)
			}
			if tt.wantTLS == "insecure" {
				assert.Contains(t, logged.String(), "WARNING: -insecure: the server's certificate is NOT verified")
			} else {
				assert.Empty(t, logged.String(), "nothing to warn about")
			}
		})
	}
}

// -insecure connects to a server whose certificate nothing trusts; without
// it (nor -ca) the same login fails on the certificate.
func TestInsecure(t *testing.T) {
	srv, bot, _ := newServer(t)
	env := map[string]string{passwordEnv: "bot-secret"}
	quiet := log.New(logLines(nil), "", 0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	addr, password, cfg, err := setup(options{jid: bot.String(), server: srv.Addr()}, func(k string) string { return env[k] }, quiet)
	require.NoError(t, err)
	err = run(ctx, addr, password, cfg, quiet)
	var unknown x509.UnknownAuthorityError
	require.ErrorAs(t, err, &unknown, "verified against the system's roots, which do not hold the test certificate")

	addr, password, cfg, err = setup(options{jid: bot.String(), server: srv.Addr(), insecure: true}, func(k string) string { return env[k] }, quiet)
	require.NoError(t, err)
	b := startBot(addr, password, cfg)
	defer b.interrupt()
	b.online(t)
	b.stop(t)
}

// command is the echobot command run as a process with args and env
// (added to the test's environment).
func command(args []string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), append(env, runMainEnv+"=1")...)
	return cmd
}

// The command as a user runs it: the JID from a flag, the server from
// ECHOBOT_SERVER, the password from ECHOBOT_PASSWORD; it echoes, and on
// SIGINT it sends unavailable presence, closes the stream and exits 0.
func TestCommand(t *testing.T) {
	srv, bot, alice := newServer(t)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, srv.CertPEM(), 0o600))
	presence := make(chan stanza.PresenceType, 4)
	srv.Watch(func(r xmpptest.Routed) {
		if p, ok := r.Stanza.(*stanza.Presence); ok && p.From.Bare() == bot && p.To.IsZero() {
			select {
			case presence <- p.Type:
			default:
			}
		}
	})

	cmd := command([]string{"-jid", bot.String(), "-ca", ca}, serverEnv+"="+srv.Addr(), passwordEnv+"=bot-secret")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = cmd.Stdout // log writes to stderr
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill() }()
	lines := bufio.NewScanner(out)
	var online bool
	for !online && lines.Scan() {
		online = strings.Contains(lines.Text(), connectedPrefix+bot.String()+"/")
	}
	require.True(t, online, "the command logged in")
	select {
	case typ := <-presence:
		require.Equal(t, stanza.PresenceAvailable, typ)
	case <-time.After(10 * time.Second):
		t.Fatal("no initial presence")
	}

	mux, replies := collect()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	user, err := srv.Connect(ctx, alice, "alice-secret", &session.Config{Mux: mux})
	require.NoError(t, err)
	defer user.Close(ctx)
	checkEcho(t, user, replies, bot, expectCases(t)[:1])

	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	go func() {
		for lines.Scan() { // the rest, so the command never blocks writing
		}
	}()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		require.NoError(t, err, "SIGINT: exit status 0")
	case <-time.After(10 * time.Second):
		t.Fatal("the command did not exit after SIGINT")
	}
	select {
	case typ := <-presence:
		assert.Equal(t, stanza.PresenceUnavailable, typ, "the command said it was leaving")
	default:
		t.Error("the command exited without unavailable presence")
	}
}

// A wrong password: the command logs that it gave up and why, and exits
// 1 without trying again.
func TestCommandLoginFails(t *testing.T) {
	srv, bot, _ := newServer(t)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, srv.CertPEM(), 0o600))
	out, err := command([]string{"-jid", bot.String(), "-server", srv.Addr(), "-ca", ca, "-reconnect-wait", "0"},
		passwordEnv+"=wrong").CombinedOutput()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "the command failed: %v\n%s", err, out)
	assert.Equal(t, 1, exit.ExitCode(), "%s", out)
	assert.Contains(t, string(out), "echobot: gave up: ")
	assert.Contains(t, string(out), "not-authorized")
	assert.NotContains(t, string(out), "reconnecting")
}

// Bad flags or a missing password: exit status 2 and why.
func TestCommandBadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"no JID", nil, []string{passwordEnv + "=pw"}, "echobot: no JID: give -jid or set ECHOBOT_JID"},
		{"no password", []string{"-jid", "bot@example.test"}, []string{passwordEnv + "="}, "echobot: no password"},
		{"insecure and CA", []string{"-jid", "bot@example.test", "-insecure", "-ca", "x.pem"}, []string{passwordEnv + "=pw"},
			"echobot: -insecure and -ca exclude each other"},
		{"unknown flag", []string{"-password", "pw"}, nil, "flag provided but not defined: -password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := append([]string{jidEnv + "=", serverEnv + "=", caEnv + "="}, tt.env...)
			out, err := command(tt.args, env...).CombinedOutput()
			var exit *exec.ExitError
			require.True(t, errors.As(err, &exit), "the command failed: %v\n%s", err, out)
			assert.Equal(t, 2, exit.ExitCode())
			assert.Contains(t, string(out), tt.want)
			assert.Contains(t, string(out), "usage: ECHOBOT_PASSWORD=")
		})
	}
}

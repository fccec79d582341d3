package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/parleyim/parley/sasl"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStory(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		xml      bool
		contains []string
	}{
		{"plain", false, []string{
			"== 1. alice logs in",
			"roster push: bob@parley.example \"Bob\" [Friends], subscription none",
			"[bob  ] approves the subscription request of alice@parley.example",
			"[alice] roster: bob@parley.example, subscription to",
			"[alice] tracker: bob@parley.example is online as bob@parley.example/demo",
			"[bob  ] roster: alice@parley.example, subscription both",
			"[bob  ] sees alice@parley.example/demo changed (away, \"in a meeting\")",
			"[alice] sees bob@parley.example/demo changed (chat, \"free to talk\")",
			"active, receipt requested)",
			"[alice] ← bob@parley.example/demo received the message",
			"[alice] ← bob@parley.example/demo is composing",
			"[bob  ] → alice@parley.example/demo: \"Hi Alice",
			"[bob  ] blocks alice@parley.example",
			"[bob  ] got alice's new message; the blocked one never came",
			"pong from parley.example", "answers a ping",
			"[alice] connected as alice@parley.example/demo (TLS 1.3)",
			"[alice] disconnected: session: server ended the stream: stanza: stream error system-shutdown",
			"[alice] back online, a new session, as alice@parley.example/demo",
			"[bob  ] back online, a new session, as bob@parley.example/demo",
			"[alice] sees bob@parley.example/demo online (chat, \"free to talk\")",
			"[bob  ] sees alice@parley.example/demo online (away, \"in a meeting\")",
			"[bob  ] ← alice@parley.example/demo: \"Still there after the restart?\"",
			"[bob  ] sees alice@parley.example/demo offline",
			"all 18 steps done",
		}},
		{"with XML", true, []string{"alice SEND <starttls", "bob   RECV <message", "bob   RECV <presence", "system-shutdown", "all 18 steps done"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			err := run(context.Background(), config{xml: tc.xml, timeout: 5 * time.Second}, &out, storySteps())
			require.NoError(t, err, out.String())
			for _, s := range tc.contains {
				assert.Contains(t, out.String(), s)
			}
		})
	}
}

// A step that does not happen ends the story with its number, its name and
// the reason, and later steps do not run.
func TestStoryFailingStep(t *testing.T) {
	t.Parallel()
	steps := storySteps()[:2]
	steps = append(steps,
		step{"bob hears from nobody", func(ctx context.Context, st *story) error {
			ctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			defer cancel()
			select {
			case m := <-st.bob.messages:
				return errors.New("unexpected message " + m.Body)
			case <-ctx.Done():
				return fmt.Errorf("no message for bob: %w", ctx.Err())
			}
		}},
		step{"never reached", func(context.Context, *story) error { panic("ran a step after a failure") }},
	)
	var out bytes.Buffer
	err := run(context.Background(), config{timeout: 5 * time.Second}, &out, steps)
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "step 3 (bob hears from nobody)")
	assert.Contains(t, out.String(), "FAILED")
	assert.NotContains(t, out.String(), "never reached")
}

// A real-server run without accounts fails before connecting.
func TestRealServerNeedsAccounts(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), config{server: "127.0.0.1:1"}, &bytes.Buffer{}, storySteps())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "-jid")
}

// The story against the server on TCP, as a real server: the flags path.
func TestStoryOverTCP(t *testing.T) {
	t.Parallel()
	srv, err := newTCPServer()
	require.NoError(t, err)
	defer srv.Close()
	dir := t.TempDir()
	ca := dir + "/ca.pem"
	require.NoError(t, writeFile(ca, srv.CertPEM()))
	cfg := config{
		server: srv.Addr(), jid: "alice@parley.example", password: "alice-secret",
		peer: "bob@parley.example", peerPassword: "bob-secret", caFile: ca, timeout: 5 * time.Second,
	}
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), cfg, &out, storySteps()), out.String())
	assert.Contains(t, out.String(), "skipped: -server names a real server, which the demo cannot restart")
	assert.NotContains(t, out.String(), "back online")
	assert.Contains(t, out.String(), "all 18 steps done")
}

// A refused login stops the Client at once: the first step fails with
// the server's reason, without waiting for its timeout.
func TestStoryWrongPassword(t *testing.T) {
	t.Parallel()
	srv, err := newTCPServer()
	require.NoError(t, err)
	defer srv.Close()
	ca := t.TempDir() + "/ca.pem"
	require.NoError(t, writeFile(ca, srv.CertPEM()))
	cfg := config{
		server: srv.Addr(), jid: "alice@parley.example", password: "not alice's",
		peer: "bob@parley.example", peerPassword: "bob-secret", caFile: ca, timeout: 20 * time.Second,
	}
	var out bytes.Buffer
	err = run(context.Background(), cfg, &out, storySteps())
	require.Error(t, err)
	assert.ErrorIs(t, err, sasl.NotAuthorized)
	assert.Contains(t, err.Error(), "step 1 (alice logs in): alice could not log in")
	assert.Contains(t, out.String(), "[alice] gave up: ")
}

// A -ca file that cannot serve fails the run before anyone connects, and
// says which flag was wrong.
func TestRealServerBadCAFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty := dir + "/empty.pem"
	require.NoError(t, writeFile(empty, nil))
	tests := []struct {
		name, ca, want string
	}{
		{"missing", dir + "/missing.pem", "-ca: session: reading CA file: open "},
		{"no certificate", empty, "-ca: session: CA file " + empty + " holds no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config{server: "127.0.0.1:1", jid: "alice@parley.example", peer: "bob@parley.example", caFile: tt.ca}
			var out bytes.Buffer
			err := run(context.Background(), cfg, &out, storySteps())
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Empty(t, out.String(), "no step ran")
		})
	}
}

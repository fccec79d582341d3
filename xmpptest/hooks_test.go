package xmpptest_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
	"github.com/parleyim/parley/xmpptest"
)

func TestWatch(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	var mu sync.Mutex
	var seen []xmpptest.Routed
	srv.Watch(func(r xmpptest.Routed) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, r)
	})
	a, _ := login(t, srv, "alice", nil)
	b, bin := login(t, srv, "bob/one", nil)
	m := chat(b.Addr(), "watched")
	m.From = jid.MustParse("alice@example.test") // bare: accepted, stamped full
	require.NoError(t, a.Send(ctx(t), m))
	bin.message(t)
	require.NoError(t, a.Send(ctx(t), chat(jid.MustParse("mallory@example.test"), "lost")))
	syncServer(t, a)

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, seen, 3) // the message, the bounced one, the ping
	got := seen[0].Stanza.(*stanza.Message)
	assert.Equal(t, "watched", got.Body)
	assert.Equal(t, a.Addr(), got.From)
	assert.Equal(t, []jid.JID{b.Addr()}, seen[0].Delivered)
	assert.Empty(t, seen[1].Delivered)
	assert.IsType(t, &stanza.IQ{}, seen[2].Stanza)
}

func TestInject(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	b, bin := login(t, srv, "bob/one", nil)
	_, bin2 := login(t, srv, "bob/two", nil)
	spoof := &stanza.Message{Header: stanza.Header{From: jid.MustParse("santa@north.pole/sleigh")}, Body: "ho ho"}
	require.NoError(t, srv.Inject(b.Addr(), spoof))
	got := bin.message(t)
	assert.Equal(t, "ho ho", got.Body)
	assert.Equal(t, "santa@north.pole/sleigh", got.From.String(), "injected stanzas keep their from")
	bin2.noMessage(t)

	require.NoError(t, srv.InjectRaw(b.Addr().Bare(), []byte("<message from='example.test'><body>to all</body></message>")))
	assert.Equal(t, "to all", bin.message(t).Body)
	assert.Equal(t, "to all", bin2.message(t).Body)

	err := srv.Inject(jid.MustParse("carol@example.test"), spoof)
	assert.ErrorIs(t, err, xmpptest.ErrNotConnected)
}

func TestFaults(t *testing.T) {
	t.Parallel()
	t.Run("drop", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, nil)
		// Without stream management, whose session would resume.
		a, _ := login(t, srv, "alice", &session.Config{NoStreamManagement: true})
		require.NoError(t, srv.Drop(a.Addr()))
		<-a.Done()
		var se *stanza.StreamError
		assert.False(t, errors.As(a.Err(), &se), "a dropped connection has no stream error: %v", a.Err())
		assert.Eventually(t, func() bool { return len(srv.Resources(a.Addr())) == 0 }, 5*time.Second, 10*time.Millisecond)
	})
	t.Run("drop under stream management", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, nil)
		a, _ := login(t, srv, "alice", nil)
		b, bin := login(t, srv, "bob/one", nil)
		require.NoError(t, srv.Drop(a.Addr()))
		// The session resumes by itself: what it sends meanwhile arrives.
		require.NoError(t, a.Send(ctx(t), chat(b.Addr(), "after the drop")))
		assert.Equal(t, "after the drop", bin.message(t).Body)
		require.NoError(t, a.Err())
		assert.Equal(t, 1, a.Stats().Resumed)
	})
	t.Run("stream error", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, nil)
		a, _ := login(t, srv, "alice", nil)
		require.NoError(t, srv.StreamError(a.Addr(), &stanza.StreamError{Condition: stanza.StreamSeeOtherHost, Host: "elsewhere.example"}))
		<-a.Done()
		var se *stanza.StreamError
		require.ErrorAs(t, a.Err(), &se)
		assert.Equal(t, stanza.StreamSeeOtherHost, se.Condition)
		assert.Equal(t, "elsewhere.example", se.Host)
	})
	t.Run("delay", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, nil)
		a, _ := login(t, srv, "alice", nil)
		b, bin := login(t, srv, "bob/one", nil)
		require.NoError(t, srv.Delay(b.Addr(), 200*time.Millisecond))
		start := time.Now()
		require.NoError(t, a.Send(ctx(t), chat(b.Addr(), "slow")))
		assert.Equal(t, "slow", bin.message(t).Body)
		assert.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)
		require.NoError(t, srv.Delay(b.Addr(), 0))
	})
	t.Run("unknown address", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, nil)
		nobody := jid.MustParse("alice@example.test/nobody")
		assert.ErrorIs(t, srv.Drop(nobody), xmpptest.ErrNotConnected)
		assert.ErrorIs(t, srv.Delay(nobody, time.Second), xmpptest.ErrNotConnected)
		assert.ErrorIs(t, srv.StreamError(nobody, &stanza.StreamError{}), xmpptest.ErrNotConnected)
	})
}

func TestTranscript(t *testing.T) {
	t.Parallel()
	srv := newServer(t, &xmpptest.Config{RecordTranscripts: true})
	a, _ := login(t, srv, "alice", nil)
	b, _ := login(t, srv, "bob/one", nil)
	require.NoError(t, a.Send(ctx(t), chat(b.Addr(), "for the record")))
	syncServer(t, a)
	require.NoError(t, a.Close(ctx(t)))
	tr := srv.Transcript(a.Addr())
	assert.Contains(t, tr, "C: <message to='bob@example.test/one' type='chat'><body>for the record</body></message>")
	assert.Contains(t, tr, "S: <stream:features><bind")
	assert.True(t, strings.HasSuffix(strings.TrimSpace(tr), "S: </stream:stream>"), "the transcript ends with the server's close:\n%s", tr)
	assert.Contains(t, srv.Transcript(b.Addr()), "S: <message")
	assert.Empty(t, newServer(t, nil).Transcript(a.Addr()), "no transcripts unless asked for")
}

// Close ends every stream with system-shutdown and leaves no goroutine
// (TestMain checks with goleak).
func TestClose(t *testing.T) {
	t.Parallel()
	srv, err := xmpptest.Start(&xmpptest.Config{Listen: true})
	require.NoError(t, err)
	_, err = srv.AddUser("alice", "pw-alice")
	require.NoError(t, err)
	a, err := srv.Connect(ctx(t), account(srv, "alice"), "pw-alice", nil)
	require.NoError(t, err)
	require.NoError(t, srv.Close())
	<-a.Done()
	assert.ErrorIs(t, a.Err(), stanza.StreamSystemShutdown)
	assert.NoError(t, srv.Close(), "Close twice")
	_, err = srv.Pipe()
	assert.ErrorIs(t, err, xmpptest.ErrClosed)
	_, err = srv.Connect(ctx(t), account(srv, "alice"), "pw-alice", nil)
	assert.Error(t, err)
}

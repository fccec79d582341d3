package session

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/stanza"
)

// The ack timeout (acktimeout.go) against scripted servers that stop
// answering without closing anything: a connection that silently died.

// lossLog records why the session took its connections for lost, from
// its log.
type lossLog struct {
	mu     sync.Mutex
	causes []error
}

func (l *lossLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *lossLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *lossLog) WithGroup(string) slog.Handler            { return l }
func (l *lossLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "connection lost; resuming the stream" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Any().(error); ok && a.Key == "err" {
			l.mu.Lock()
			l.causes = append(l.causes, err)
			l.mu.Unlock()
		}
		return true
	})
	return nil
}

func (l *lossLog) all() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.causes...)
}

// silentServer reads everything the client sends and answers nothing,
// until the client hangs up.
func silentServer(p *peer) {
	for {
		if _, err := p.TryNext(); err != nil {
			return
		}
	}
}

// resumedCounter returns a Mux whose start hook counts resumptions on
// the channel.
func resumedCounter() (*Mux, chan struct{}) {
	mux := NewMux()
	ch := make(chan struct{}, 4)
	mux.HandleStart(func(ctx context.Context, s *Session, resumed bool) {
		if resumed {
			ch <- struct{}{}
		}
	})
	return mux, ch
}

func waitResumed(t *testing.T, s *Session, ch chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-s.Done():
		t.Fatalf("the session ended: %v", s.Err())
	case <-time.After(10 * time.Second):
		t.Fatal("no resumption")
	}
}

// An <r/> the server never answers takes the connection for dead: the
// session resumes, and the stanza the server never acknowledged is sent
// again on the new connection.
func TestAckTimeoutResumes(t *testing.T) {
	cfg := smConfig(t)
	cfg.AckEvery, cfg.AckTimeout = 1, 50*time.Millisecond
	losses := &lossLog{}
	cfg.Logger = slog.New(losses)
	var resumeH string
	again := make(chan string, 2)
	mux, resumed := resumedCounter()
	cfg.Mux = mux
	s, err := dialSM(t, cfg, func(p *peer) {
		loginSM(p, "id='s-1' resume='true'")
		p.Expect("message")
		p.Expect("r")
		silentServer(p)
	}, func(p *peer) {
		r := resumeSM(p)
		resumeH = r.Attr("h")
		p.Send("<resumed xmlns='" + ns.SM + "' h='0' previd='s-1'/>")
		handled := 0
		p.Serve(func(p *peer, el *stanza.Raw) bool {
			switch el.Name().Local {
			case "message":
				handled++
				again <- bodyOf(t, el)
			case "r":
				p.Send(fmt.Sprintf("<a xmlns='%s' h='%d'/>", ns.SM, handled))
			}
			return true
		})
	})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, s.Send(ctx, smChat("unanswered")))
	waitResumed(t, s, resumed)
	require.NoError(t, s.SendAcked(ctx, smChat("after")))
	assert.Equal(t, "unanswered", <-again, "sent again, first")
	assert.Equal(t, "after", <-again)
	assert.Equal(t, 1, s.Stats().Resumed)
	require.NoError(t, s.Close(ctx))
	assert.Equal(t, "0", resumeH)
	causes := losses.all()
	require.Len(t, causes, 1)
	assert.ErrorIs(t, causes[0], ErrAckTimeout)
}

// Requests answered leave the connection alone: with every <r/>
// answered the timer is off; with one of two answered it still runs.
func TestAckTimeoutAnswered(t *testing.T) {
	cfg := smConfig(t)
	cfg.AckEvery, cfg.AckTimeout = 1, time.Hour
	holdSecond := make(chan struct{})
	s, err := dialSM(t, cfg, func(p *peer) {
		loginSM(p, "id='s-1' resume='true'")
		for i := 1; i <= 3; i++ {
			p.Expect("message")
			p.Expect("r")
			p.Send(fmt.Sprintf("<a xmlns='%s' h='%d'/>", ns.SM, i))
		}
		p.Expect("message")
		p.Expect("r")
		p.Expect("message")
		p.Expect("r")
		p.Send("<a xmlns='" + ns.SM + "' h='4'/>")
		<-holdSecond
		p.Send("<a xmlns='" + ns.SM + "' h='5'/>")
		ackUntilClosed(p, 5)
	})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 3 {
		require.NoError(t, s.Send(ctx, smChat(fmt.Sprint(i))))
	}
	require.Eventually(t, func() bool { return s.Stats().Acked == 3 }, 5*time.Second, time.Millisecond)
	deadline := func() (bool, int) {
		s.sm.mu.Lock()
		defer s.sm.mu.Unlock()
		return s.sm.dl.on, s.sm.dl.requests
	}
	on, n := deadline()
	assert.False(t, on, "every request answered: no timer")
	assert.Zero(t, n)

	require.NoError(t, s.Send(ctx, smChat("3")))
	require.NoError(t, s.Send(ctx, smChat("4")))
	require.Eventually(t, func() bool { return s.Stats().Acked == 4 }, 5*time.Second, time.Millisecond)
	on, n = deadline()
	assert.True(t, on, "one request still unanswered")
	assert.Equal(t, 1, n)
	close(holdSecond)
	require.Eventually(t, func() bool { return s.Stats().Acked == 5 }, 5*time.Second, time.Millisecond)
	on, n = deadline()
	assert.False(t, on)
	assert.Zero(t, n)
	assert.Zero(t, s.Stats().Resumed)
	require.NoError(t, s.Close(ctx))
}

// An idle session whose server went silent: the keepalive's ping is
// followed by an <r/> (AckDelay), whose timeout drops the connection
// long before the ping's own (KeepAliveTimeout); the session resumes.
func TestAckTimeoutIdleKeepalive(t *testing.T) {
	cfg := smConfig(t)
	cfg.KeepAlive, cfg.KeepAliveTimeout = 50*time.Millisecond, time.Hour
	cfg.AckDelay, cfg.AckTimeout = 20*time.Millisecond, 50*time.Millisecond
	losses := &lossLog{}
	cfg.Logger = slog.New(losses)
	mux, resumed := resumedCounter()
	cfg.Mux = mux
	s, err := dialSM(t, cfg, func(p *peer) {
		loginSM(p, "id='s-1' resume='true'")
		p.Expect("iq") // the keepalive's ping
		p.Expect("r")
		silentServer(p)
	}, func(p *peer) {
		resumeSM(p)
		p.Send("<resumed xmlns='" + ns.SM + "' h='0' previd='s-1'/>")
		handled := 0
		p.Serve(func(p *peer, el *stanza.Raw) bool {
			switch el.Name().Local {
			case "iq":
				handled++
				if el.Attr("type") == "get" {
					p.Send("<iq type='result' id='" + el.Attr("id") + "' from='example.com'/>")
				}
			case "r":
				p.Send(fmt.Sprintf("<a xmlns='%s' h='%d'/>", ns.SM, handled))
			}
			return true
		})
	})
	require.NoError(t, err)
	waitResumed(t, s, resumed)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, s.Err())
	require.NoError(t, s.Close(ctx))
	causes := losses.all()
	require.NotEmpty(t, causes)
	assert.ErrorIs(t, causes[0], ErrAckTimeout)
}

// A session from New cannot resume: an unanswered <r/> ends it with
// ErrAckTimeout, a connection-timeout stream error sent in case the
// server still reads, and the unacknowledged stanza handed back.
func TestAckTimeoutEndsNew(t *testing.T) {
	cfg := smConfig(t)
	cfg.AckEvery, cfg.AckTimeout = 1, 50*time.Millisecond
	sent := make(chan []string, 1)
	s, err := dialPeer(t, cfg, func(p *peer) {
		loginSM(p, "id='s-1'")
		p.Expect("message")
		p.Expect("r")
		sent <- p.ExpectClosed()
	})
	require.NoError(t, err)
	require.NoError(t, s.Send(context.Background(), smChat("lost?")))
	select {
	case <-s.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the session did not end")
	}
	require.ErrorIs(t, s.Err(), ErrAckTimeout)
	var ue *UnackedError
	require.ErrorAs(t, s.Err(), &ue)
	require.Len(t, ue.Stanzas, 1)
	assert.Equal(t, "lost?", ue.Stanzas[0].(*stanza.Message).Body)
	assert.Contains(t, strings.Join(<-sent, ""), "connection-timeout")
	assert.Zero(t, s.Stats().Resumed)
}

// A negative AckTimeout turns the check off.
func TestAckTimeoutOff(t *testing.T) {
	cfg := &Config{AckTimeout: -1}
	assert.Zero(t, cfg.ackTimeout())
	assert.Equal(t, defaultAckTimeout, (&Config{}).ackTimeout())
	s := &Session{cfg: &Config{AckTimeout: time.Second}}
	assert.Equal(t, 3*time.Second, s.ackWait(2*ackTimeoutRate))
}

// The queue written again after a resumption carries an <r/> after every
// AckEvery stanzas and after the last, so that a server slow to work
// through it answers as it goes.
func TestResendRequestsAcks(t *testing.T) {
	cfg := smConfig(t)
	cfg.AckEvery = 2
	mux, resumed := resumedCounter()
	cfg.Mux = mux
	cut := make(chan struct{})
	queued := make(chan struct{})
	got := make(chan []string, 1)
	s, err := dialSM(t, cfg, func(p *peer) {
		loginSM(p, "id='s-1' resume='true'")
		p.Conn().Close()
		close(cut)
	}, func(p *peer) {
		resumeSM(p)
		<-queued
		p.Send("<resumed xmlns='" + ns.SM + "' h='0' previd='s-1'/>")
		var names []string
		for len(names) < 8 {
			names = append(names, p.Next().Name().Local)
		}
		got <- names
		ackUntilClosed(p, 5)
	})
	require.NoError(t, err)
	<-cut
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 5 {
		require.NoError(t, s.Send(ctx, smChat(fmt.Sprint(i))))
	}
	close(queued)
	waitResumed(t, s, resumed)
	assert.Equal(t, []string{"message", "message", "r", "message", "message", "r", "message", "r"}, <-got)
	require.NoError(t, s.Close(ctx))
}

// Time the reader spends not reading, held by a full queue behind a
// blocked handler, is not held against the server: its <a/> waits unread
// behind stanzas the client has no room for, and the connection is not
// taken for dead however often the ack timeout passes meanwhile.
func TestAckTimeoutSparesHeldReader(t *testing.T) {
	cfg := smConfig(t)
	cfg.AckEvery, cfg.AckTimeout = 1, 50*time.Millisecond
	cfg.QueueBytes = 256
	losses := &lossLog{}
	cfg.Logger = slog.New(losses)
	release := make(chan struct{})
	var handled atomic.Int32
	mux, resumed := resumedCounter()
	mux.HandleMessageFunc(MessageRoute{}, func(context.Context, *Session, *stanza.Message) {
		<-release
		handled.Add(1)
	})
	cfg.Mux = mux
	const fillers = 20
	s, err := dialSM(t, cfg, func(p *peer) {
		loginSM(p, "id='s-1' resume='true'")
		for i := range fillers {
			p.Send(fmt.Sprintf("<message from='romeo@example.com/x' type='chat'><body>filler %d</body></message>", i))
		}
		p.Expect("message")
		p.Expect("r")
		p.Send("<a xmlns='" + ns.SM + "' h='1'/>")
		ackUntilClosed(p, 1)
	})
	require.NoError(t, err)
	require.Eventually(t, s.queue.readerHeld, 10*time.Second, time.Millisecond, "the reader never waited for room")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, s.Send(ctx, smChat("asked")))
	time.Sleep(10 * cfg.AckTimeout) // the ack timeout passes, several times
	close(release)
	require.NoError(t, s.SendAcked(ctx, smChat("after")))
	require.Eventually(t, func() bool { return handled.Load() == fillers }, 10*time.Second, time.Millisecond)
	select {
	case <-resumed:
		t.Fatal("the connection was taken for dead while the reader was held")
	default:
	}
	assert.Zero(t, s.Stats().Resumed)
	assert.Empty(t, losses.all())
	require.NoError(t, s.Close(ctx))
}

package session

import (
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/stanza"
)

// establishPlain is establish without TLS.
func establishPlain(t *testing.T, cfg *Config) (*Session, *peer) {
	t.Helper()
	cfg.NoTLS = true
	return establishWith(t, cfg, func(p *peer) {
		p.Header()
		p.LoginFromSASL()
	})
}

// establishOver is establish over TLS or not.
func establishOver(t *testing.T, cfg *Config, withTLS bool) (*Session, *peer) {
	t.Helper()
	if withTLS {
		return establish(t, cfg)
	}
	return establishPlain(t, cfg)
}

// readerStack returns the stack of the session package's reader goroutine.
func readerStack() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "session.(*Session).readLoop(") {
			return g
		}
	}
	return ""
}

// waitIdleReader waits until the reader waits for input in the poller,
// with no parser frames under it.
func waitIdleReader(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := readerStack()
		if strings.Contains(st, "(*poller).wait(") {
			assert.NotContains(t, st, "readElements", "the waiting goroutine has parsed nothing")
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("the reader does not wait in the poller:\n%s", buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(time.Millisecond)
	}
}

// messages registers a handler that passes message bodies to a channel.
func messages(cfg *Config) <-chan string {
	ch := make(chan string, 16)
	cfg.Mux = NewMux()
	cfg.Mux.HandleMessageFunc(MessageRoute{}, func(_ context.Context, _ *Session, m *stanza.Message) {
		ch <- m.Body
	})
	return ch
}

func receive(t *testing.T, ch <-chan string, want string) {
	t.Helper()
	select {
	case got := <-ch:
		assert.Equal(t, want, got)
	case <-time.After(5 * time.Second):
		t.Fatalf("message %q not received", want)
	}
}

func chat(body string) string {
	return "<message from='romeo@example.net/orchard' type='chat'><body>" + body + "</body></message>"
}

// An idle session's reader waits in a fresh, shallow goroutine, after
// traffic and after whitespace keepalives from the server alike; input
// then wakes it up.
func TestIdleReaderWaitsInPoller(t *testing.T) {
	for _, withTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", withTLS), func(t *testing.T) {
			cfg := clientConfig(t)
			got := messages(cfg)
			s, p := establishOver(t, cfg, withTLS)
			require.True(t, s.tr.Pollable())
			waitIdleReader(t)
			p.Send(chat("one"))
			receive(t, got, "one")
			waitIdleReader(t)
			p.Send(" \n ")
			time.Sleep(20 * time.Millisecond)
			waitIdleReader(t)
			p.Send("\n" + chat("two") + " ")
			receive(t, got, "two")
			waitIdleReader(t)
			pingRoundTrip(t, s, p)
			waitIdleReader(t)
		})
	}
}

// Input that crypto/tls holds, decrypted or as whole records read along
// with earlier ones, is read before the reader waits on the socket: here
// one record holds a stanza that fills the reader's buffer to the byte
// and another stanza after it, for several alignments, and then the
// server says nothing more.
func TestIdleReaderReadsWhatTLSHolds(t *testing.T) {
	for _, size := range []int{4094, 4095, 4096, 4097, 4098, 8192, 8193} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			cfg := clientConfig(t)
			got := messages(cfg)
			_, p := establish(t, cfg)
			waitIdleReader(t)
			first := chat(strings.Repeat("x", size-len(chat(""))))
			require.Len(t, first, size)
			p.Send(first + chat("second")) // one TLS record
			receive(t, got, strings.Repeat("x", size-len(chat(""))))
			receive(t, got, "second")
		})
	}
}

// heldConn keeps what is written while held and writes it at once on
// flush: records written one by one reach the socket together. wrap is
// a peer's UnderTLS.
type heldConn struct {
	net.Conn
	mu   sync.Mutex
	held bool
	buf  []byte
}

func (c *heldConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held {
		c.buf = append(c.buf, p...)
		return len(p), nil
	}
	return c.Conn.Write(p)
}

func (c *heldConn) wrap(under net.Conn) net.Conn { c.Conn = under; return c }

func (c *heldConn) hold() { c.mu.Lock(); c.held = true; c.mu.Unlock() }

func (c *heldConn) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.held = false
	_, err := c.Conn.Write(c.buf)
	c.buf = nil
	return err
}

// Records that reach the client together are read by crypto/tls at once;
// the ones after the first must not wait for more input.
func TestIdleReaderReadsBufferedRecords(t *testing.T) {
	cfg := clientConfig(t)
	got := messages(cfg)
	held := &heldConn{}
	_, p := establishWith(t, cfg, func(p *peer) {
		p.UnderTLS = held.wrap
		p.Login()
	})
	waitIdleReader(t)
	held.hold()
	for _, body := range []string{"a", "b", "c"} {
		p.Send(chat(body)) // a record each
	}
	require.NoError(t, held.flush())
	for _, body := range []string{"a", "b", "c"} {
		receive(t, got, body)
	}
}

// A connection that ends while the reader waits in the poller ends the
// session with the read's error, over TLS and without.
func TestIdleReaderSeesEndOfInput(t *testing.T) {
	for _, withTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", withTLS), func(t *testing.T) {
			cfg := clientConfig(t)
			s, p := establishOver(t, cfg, withTLS)
			waitIdleReader(t)
			under := p.Conn()
			if tc, ok := under.(interface{ NetConn() net.Conn }); ok {
				under = tc.NetConn()
			}
			require.NoError(t, under.(interface{ CloseWrite() error }).CloseWrite())
			err := waitEnd(t, s)
			require.Error(t, err)
			assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
		})
	}
}

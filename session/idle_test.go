package session

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/testkit/scripted"
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
			require.True(t, s.conn().Pollable())
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

// An element whose rest comes after a silence longer than the reader's
// wait in place is still read whole: the reader's read deadline (idle.go)
// passes inside the element, and the read goes on without it. The pause
// is 10 ms of wall time after the first half was sent, so the deadline,
// set at most 2×idleWait after it was read, has passed.
func TestReaderWaitsOutSlowElement(t *testing.T) {
	for _, withTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", withTLS), func(t *testing.T) {
			cfg := clientConfig(t)
			got := messages(cfg)
			s, p := establishOver(t, cfg, withTLS)
			p.Send(chat("one"))
			receive(t, got, "one")
			two := chat("two")
			p.Send(two[:len(two)/2])
			time.Sleep(10 * idleWait)
			p.Send(two[len(two)/2:])
			receive(t, got, "two")
			require.NoError(t, s.Err())
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

// tlsPair returns the two ends of a TLS connection over loopback TCP
// with the given version, the client's counting the reads crypto/tls
// makes of the connection underneath. The server's records are held and
// written together on flush.
func tlsPair(t *testing.T, version uint16) (client *tls.Conn, under *countReads, server *tls.Conn, held *heldConn, raw net.Conn) {
	t.Helper()
	cc, sc := scripted.Loopback(t)
	cert, pool := scripted.Certificate(t)
	under = &countReads{Conn: cc}
	held = &heldConn{Conn: sc}
	client = tls.Client(under, &tls.Config{RootCAs: pool, ServerName: scripted.Domain, MinVersion: version, MaxVersion: version})
	server = tls.Server(held, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: version, MaxVersion: version})
	errc := make(chan error, 1)
	go func() { errc <- server.Handshake() }()
	require.NoError(t, client.Handshake())
	require.NoError(t, <-errc)
	return client, under, server, held, cc
}

// countReads counts the reads made of a connection.
type countReads struct {
	net.Conn
	reads atomic.Int32
}

func (c *countReads) Read(p []byte) (int, error) {
	c.reads.Add(1)
	return c.Conn.Read(p)
}

// waitReadable waits until the socket under c has input.
func waitReadable(t *testing.T, c net.Conn) *poller {
	t.Helper()
	p := newPoller(c)
	require.NotNil(t, p, "loopback TCP can be polled")
	require.NoError(t, p.wait())
	require.True(t, p.readable())
	return p
}

// readAll reads exactly n bytes.
func readAll(t *testing.T, c net.Conn, n int) string {
	t.Helper()
	buf := make([]byte, n)
	_, err := io.ReadFull(c, buf)
	require.NoError(t, err)
	return string(buf)
}

// The idle hand-over (idle.go) reads with a deadline that may pass
// before or during a Read, and then reads on. Go checks the deadline
// before the system call: a Read whose deadline has passed returns what
// is already buffered, and otherwise fails with os.ErrDeadlineExceeded
// and takes nothing from the socket. If a Go release changes that, this
// test fails.
func TestRuntimeReadDeadlineBeforeSyscall(t *testing.T) {
	if c, _ := scripted.Loopback(t); newPoller(c) == nil {
		t.Skip("sockets cannot be polled here: the reader waits in Read, with no deadline")
	}
	t.Run("tcp", func(t *testing.T) {
		client, server := scripted.Loopback(t)
		_, err := io.WriteString(server, "waiting")
		require.NoError(t, err)
		p := waitReadable(t, client)

		require.NoError(t, client.SetReadDeadline(longAgo))
		n, err := client.Read(make([]byte, 64))
		assert.Zero(t, n, "nothing read past the deadline")
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)

		require.NoError(t, client.SetReadDeadline(time.Time{}))
		assert.True(t, p.readable(), "the input is still in the socket")
		assert.Equal(t, "waiting", readAll(t, client, len("waiting")))
	})
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			client, under, server, held, raw := tlsPair(t, version)
			// Two records reach the socket together; the first Read
			// takes both from it.
			held.hold()
			_, err := io.WriteString(server, "first")
			require.NoError(t, err)
			_, err = io.WriteString(server, "second")
			require.NoError(t, err)
			require.NoError(t, held.flush())
			waitReadable(t, raw)
			assert.Equal(t, "first", readAll(t, client, len("first")))

			require.NoError(t, client.SetReadDeadline(longAgo))
			reads := under.reads.Load()
			buf := make([]byte, 64)
			n, err := client.Read(buf)
			require.NoError(t, err, "a buffered record is returned past the deadline")
			assert.Equal(t, "second", string(buf[:n]))
			assert.Equal(t, reads, under.reads.Load(), "without reading the connection")

			// Now crypto/tls holds nothing and the socket has a record.
			// (The poller, too, fails at once while the deadline is
			// past.)
			_, err = io.WriteString(server, "third")
			require.NoError(t, err)
			require.NoError(t, client.SetReadDeadline(time.Time{}))
			p := waitReadable(t, raw)
			require.NoError(t, client.SetReadDeadline(longAgo))
			n, err = client.Read(buf)
			assert.Zero(t, n)
			assert.ErrorIs(t, err, os.ErrDeadlineExceeded)

			require.NoError(t, client.SetReadDeadline(time.Time{}))
			assert.True(t, p.readable(), "the record is still in the socket")
			assert.Equal(t, "third", readAll(t, client, len("third")))
		})
	}
}

// crypto/tls's timeout is not sticky: after a Read that failed with
// os.ErrDeadlineExceeded, clearing the deadline lets the next Read
// succeed, and the connection works both ways. The idle hand-over
// (idle.go) relies on it whenever the stream was silent for its wait.
func TestRuntimeTLSTimeoutNotSticky(t *testing.T) {
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			client, _, server, _, _ := tlsPair(t, version)
			for i := range 3 {
				require.NoError(t, client.SetReadDeadline(longAgo))
				_, err := client.Read(make([]byte, 64))
				require.ErrorIs(t, err, os.ErrDeadlineExceeded)
				require.NoError(t, client.SetReadDeadline(time.Time{}))

				msg := fmt.Sprintf("ping %d", i)
				_, err = io.WriteString(server, msg)
				require.NoError(t, err)
				assert.Equal(t, msg, readAll(t, client, len(msg)), "reading works again")
				_, err = io.WriteString(client, msg)
				require.NoError(t, err, "writing works")
				assert.Equal(t, msg, readAll(t, server, len(msg)))
			}
		})
	}
}

// A read deadline that passes while crypto/tls has read part of a record
// loses nothing: once the rest arrives, the next Read returns the whole
// record. The idle hand-over (idle.go) relies on it when the stream falls
// silent in the middle of a record.
func TestRuntimeTLSTimeoutMidRecord(t *testing.T) {
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			client, _, server, held, raw := tlsPair(t, version)
			held.hold()
			_, err := io.WriteString(server, "one record")
			require.NoError(t, err)
			held.mu.Lock()
			record := held.buf
			held.buf, held.held = nil, false
			held.mu.Unlock()
			half := len(record) / 2
			_, err = held.Conn.Write(record[:half])
			require.NoError(t, err)

			p := waitReadable(t, raw)

			// The deadline passes while crypto/tls waits for the rest.
			require.NoError(t, client.SetReadDeadline(time.Now().Add(10*time.Millisecond)))
			n, err := client.Read(make([]byte, 64))
			assert.Zero(t, n)
			require.ErrorIs(t, err, os.ErrDeadlineExceeded)
			require.NoError(t, client.SetReadDeadline(time.Time{}))
			assert.False(t, p.readable(), "crypto/tls took the half record from the socket")

			_, err = held.Conn.Write(record[half:])
			require.NoError(t, err)
			assert.Equal(t, "one record", readAll(t, client, len("one record")))
		})
	}
}

package faultproxy_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/testkit/faultproxy"
)

// timeout only fails a test that would otherwise hang.
const timeout = 10 * time.Second

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	return ctx
}

// target is a server the proxy forwards to, whose accepted connections
// the test takes in hand.
type target struct {
	ln *net.TCPListener
}

func newTarget(t *testing.T) *target {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	return &target{ln: ln.(*net.TCPListener)}
}

func (tg *target) addr() string { return tg.ln.Addr().String() }

func (tg *target) accept(t *testing.T) *net.TCPConn {
	t.Helper()
	require.NoError(t, tg.ln.SetDeadline(time.Now().Add(timeout)))
	c, err := tg.ln.AcceptTCP()
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func dial(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, timeout)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// link is one connection through a proxy with both of its ends in the
// test's hands.
type link struct {
	p              *faultproxy.Proxy
	c              *faultproxy.Conn
	client, server *net.TCPConn
}

func newLink(t *testing.T) *link {
	t.Helper()
	tg := newTarget(t)
	p := faultproxy.New(t, tg.addr())
	client := dial(t, p.Addr())
	c, err := p.Next(testContext(t))
	require.NoError(t, err)
	return &link{p: p, c: c, client: client, server: tg.accept(t)}
}

func write(t *testing.T, c net.Conn, s string) {
	t.Helper()
	n, err := c.Write([]byte(s))
	require.NoError(t, err)
	require.Equal(t, len(s), n)
}

// read reads exactly n bytes.
func read(t *testing.T, c net.Conn, n int) string {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(timeout)))
	b := make([]byte, n)
	_, err := io.ReadFull(c, b)
	require.NoError(t, err)
	return string(b)
}

// readEnd reads until the connection ends and returns what came before
// the end, which must be EOF or a reset, not the test's timeout.
func readEnd(t *testing.T, c net.Conn) string {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(timeout)))
	var got bytes.Buffer
	_, err := io.Copy(&got, c) // nil at EOF
	if err != nil {
		require.ErrorIs(t, err, syscall.ECONNRESET, "the end must be EOF or a reset")
	}
	return got.String()
}

func waitDone(t *testing.T, c *faultproxy.Conn) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(timeout):
		t.Fatal("the connection did not end")
	}
}

func TestForwardBothWays(t *testing.T) {
	t.Parallel()
	l := newLink(t)
	ctx := testContext(t)
	write(t, l.client, "<stream:stream>")
	assert.Equal(t, "<stream:stream>", read(t, l.server, 15))
	write(t, l.server, "<features/>")
	assert.Equal(t, "<features/>", read(t, l.client, 11))

	// Large enough to take several reads and writes.
	big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10)
	go func() { _, _ = l.server.Write(big) }()
	got := make([]byte, len(big))
	require.NoError(t, l.client.SetReadDeadline(time.Now().Add(timeout)))
	_, err := io.ReadFull(l.client, got)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(big, got))

	require.NoError(t, l.c.Wait(ctx, func() bool { return l.c.Forwarded(faultproxy.ToClient) == int64(11+len(big)) }))
	assert.Equal(t, int64(15), l.c.Forwarded(faultproxy.ToServer))
	assert.Zero(t, l.c.Discarded(faultproxy.ToServer))
	assert.Zero(t, l.c.Discarded(faultproxy.ToClient))
	assert.NoError(t, l.c.Err())
	select {
	case <-l.c.Done():
		t.Fatal("the connection ended by itself")
	default:
	}
}

func TestCut(t *testing.T) {
	t.Parallel()
	l := newLink(t)
	write(t, l.client, "hello")
	assert.Equal(t, "hello", read(t, l.server, 5))
	write(t, l.server, "hi")
	assert.Equal(t, "hi", read(t, l.client, 2))

	l.c.Cut()
	waitDone(t, l.c) // Cut returned: already done
	assert.ErrorIs(t, l.c.Err(), faultproxy.ErrCut)
	assert.Empty(t, readEnd(t, l.client), "the client reads the end")
	assert.Empty(t, readEnd(t, l.server), "the server reads the end")
	assert.Equal(t, int64(5), l.c.Forwarded(faultproxy.ToServer))
	assert.Equal(t, int64(2), l.c.Forwarded(faultproxy.ToClient))

	l.c.Cut() // a second cut does nothing
	assert.ErrorIs(t, l.c.Err(), faultproxy.ErrCut)
}

func TestCutAfter(t *testing.T) {
	t.Parallel()
	for _, d := range []faultproxy.Direction{faultproxy.ToServer, faultproxy.ToClient} {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			l := newLink(t)
			from, to := l.client, l.server
			if d == faultproxy.ToClient {
				from, to = l.server, l.client
			}
			// Bytes forwarded before the call do not count.
			write(t, from, "<message>")
			assert.Equal(t, "<message>", read(t, to, 9))
			require.NoError(t, l.c.Wait(testContext(t), func() bool { return l.c.Forwarded(d) == 9 }))

			l.c.CutAfter(d, 7)
			write(t, from, "<body>hello</body></message>")
			assert.Equal(t, "<body>h", readEnd(t, to), "exactly 7 bytes, then the end")
			assert.Empty(t, readEnd(t, from), "the sender sees the end too")
			waitDone(t, l.c)
			assert.ErrorIs(t, l.c.Err(), faultproxy.ErrCut)
			assert.Equal(t, int64(16), l.c.Forwarded(d))
			assert.LessOrEqual(t, l.c.Discarded(d), int64(28-7), "at most the rest of the write")
			other := faultproxy.ToClient
			if d == faultproxy.ToClient {
				other = faultproxy.ToServer
			}
			assert.Zero(t, l.c.Forwarded(other))
		})
	}
}

func TestCutAfterAcrossWrites(t *testing.T) {
	t.Parallel()
	l := newLink(t)
	ctx := testContext(t)
	l.c.CutAfter(faultproxy.ToServer, 10)
	write(t, l.client, "abcd")
	assert.Equal(t, "abcd", read(t, l.server, 4))
	require.NoError(t, l.c.Wait(ctx, func() bool { return l.c.Forwarded(faultproxy.ToServer) == 4 }))
	write(t, l.client, "efgh")
	assert.Equal(t, "efgh", read(t, l.server, 4))
	write(t, l.client, "ijklmn")
	assert.Equal(t, "ij", readEnd(t, l.server))
	waitDone(t, l.c)
	assert.Equal(t, int64(10), l.c.Forwarded(faultproxy.ToServer))
}

func TestCutAfterZeroCutsNow(t *testing.T) {
	t.Parallel()
	l := newLink(t)
	l.c.CutAfter(faultproxy.ToClient, 0)
	waitDone(t, l.c)
	assert.Empty(t, readEnd(t, l.client))
	assert.Empty(t, readEnd(t, l.server))
	assert.Panics(t, func() { l.c.CutAfter(faultproxy.ToClient, -1) })
	assert.Panics(t, func() { l.c.Blackhole(faultproxy.Direction(7)) })
}

func TestBlackholeAndHeal(t *testing.T) {
	t.Parallel()
	l := newLink(t)
	ctx := testContext(t)
	write(t, l.client, "before")
	assert.Equal(t, "before", read(t, l.server, 6))
	write(t, l.server, "back")
	assert.Equal(t, "back", read(t, l.client, 4))

	l.c.Blackhole()
	write(t, l.client, "lost to server")
	write(t, l.server, "lost to client")
	require.NoError(t, l.c.Wait(ctx, func() bool {
		return l.c.Discarded(faultproxy.ToServer) == 14 && l.c.Discarded(faultproxy.ToClient) == 14
	}))
	// Neither end saw an error: both connections are open, and writing
	// more is lost as well.
	write(t, l.client, "more")
	require.NoError(t, l.c.Wait(ctx, func() bool { return l.c.Discarded(faultproxy.ToServer) == 18 }))
	assert.NoError(t, l.c.Err())

	l.c.Heal()
	write(t, l.client, "after")
	write(t, l.server, "again")
	// What each end reads next is what was sent after the heal: the
	// blackholed bytes are gone.
	assert.Equal(t, "after", read(t, l.server, 5))
	assert.Equal(t, "again", read(t, l.client, 5))
	require.NoError(t, l.c.Wait(ctx, func() bool {
		return l.c.Forwarded(faultproxy.ToServer) == 11 && l.c.Forwarded(faultproxy.ToClient) == 9
	}))
	assert.Equal(t, int64(18), l.c.Discarded(faultproxy.ToServer))
	assert.Equal(t, int64(14), l.c.Discarded(faultproxy.ToClient))
}

func TestBlackholeOneWay(t *testing.T) {
	t.Parallel()
	l := newLink(t)
	ctx := testContext(t)
	l.c.Blackhole(faultproxy.ToClient)
	write(t, l.server, "lost")
	require.NoError(t, l.c.Wait(ctx, func() bool { return l.c.Discarded(faultproxy.ToClient) == 4 }))
	write(t, l.client, "still flows")
	assert.Equal(t, "still flows", read(t, l.server, 11))

	l.c.Heal(faultproxy.ToServer) // the other way: changes nothing
	write(t, l.server, "lost too")
	require.NoError(t, l.c.Wait(ctx, func() bool { return l.c.Discarded(faultproxy.ToClient) == 12 }))

	l.c.Heal(faultproxy.ToClient)
	write(t, l.server, "found")
	assert.Equal(t, "found", read(t, l.client, 5))
	assert.Zero(t, l.c.Discarded(faultproxy.ToServer))
}

// An end's close is lost like its bytes while blackholed, and passed on
// when the way heals; the connection ends once both ends have closed.
func TestBlackholeHoldsClose(t *testing.T) {
	t.Parallel()
	l := newLink(t)
	ctx := testContext(t)
	l.c.Blackhole(faultproxy.ToServer)
	write(t, l.client, "bye")
	require.NoError(t, l.client.CloseWrite())
	require.NoError(t, l.c.Wait(ctx, func() bool { return l.c.Discarded(faultproxy.ToServer) == 3 }))
	// The other way still works, and the server closing its side reaches
	// the client.
	write(t, l.server, "reply")
	require.NoError(t, l.server.CloseWrite())
	assert.Equal(t, "reply", readEnd(t, l.client))
	select {
	case <-l.c.Done():
		t.Fatal("the connection ended while the client's close was held")
	default:
	}

	l.c.Heal()
	assert.Empty(t, readEnd(t, l.server), "the held close arrives, the bytes do not")
	waitDone(t, l.c)
	assert.NoError(t, l.c.Err(), "both ends closed")
}

func TestEndsClose(t *testing.T) {
	t.Parallel()
	l := newLink(t)
	write(t, l.client, "</stream:stream>")
	require.NoError(t, l.client.CloseWrite())
	assert.Equal(t, "</stream:stream>", readEnd(t, l.server))
	write(t, l.server, "</stream:stream>")
	require.NoError(t, l.server.Close())
	assert.Equal(t, "</stream:stream>", readEnd(t, l.client))
	waitDone(t, l.c)
	assert.NoError(t, l.c.Err())
}

func TestResetEnds(t *testing.T) {
	t.Parallel()
	l := newLink(t)
	require.NoError(t, l.server.SetLinger(0))
	require.NoError(t, l.server.Close()) // a reset
	assert.Empty(t, readEnd(t, l.client))
	waitDone(t, l.c)
	assert.ErrorIs(t, l.c.Err(), syscall.ECONNRESET)
}

func TestNextAndConns(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	p := faultproxy.New(t, tg.addr())
	ctx := testContext(t)

	short, cancel := context.WithCancel(ctx)
	cancel()
	_, err := p.Next(short)
	assert.ErrorIs(t, err, context.Canceled, "no connection yet")

	// Each connection carries what its client wrote first, so the test
	// can tell which is which.
	var clients []*net.TCPConn
	for _, name := range []string{"first", "again"} {
		c := dial(t, p.Addr())
		write(t, c, name)
		clients = append(clients, c)
		assert.Equal(t, name, read(t, tg.accept(t), 5))
	}
	for _, name := range []string{"first", "again"} {
		c, err := p.Next(ctx)
		require.NoError(t, err)
		require.NoError(t, c.Wait(ctx, func() bool { return c.Forwarded(faultproxy.ToServer) == 5 }), name)
		c.Cut()
	}
	assert.Len(t, p.Conns(), 2)
	for _, c := range clients {
		assert.Empty(t, readEnd(t, c))
	}

	// Next waits for the next one.
	got := make(chan *faultproxy.Conn, 1)
	go func() {
		c, _ := p.Next(ctx)
		got <- c
	}()
	dial(t, p.Addr())
	tg.accept(t)
	select {
	case c := <-got:
		require.NotNil(t, c)
		assert.Same(t, p.Conns()[2], c)
	case <-ctx.Done():
		t.Fatal("Next did not return the third connection")
	}

	require.NoError(t, p.Close())
	_, err = p.Next(ctx)
	assert.ErrorIs(t, err, faultproxy.ErrClosed)
}

func TestPolicyRefuse(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	p := faultproxy.New(t, tg.addr())
	ctx := testContext(t)
	p.SetPolicy(faultproxy.Refuse)
	// The reset may reach the client before its dial returns, or after.
	refused, err := net.DialTimeout("tcp", p.Addr(), timeout)
	if err != nil {
		require.ErrorIs(t, err, syscall.ECONNRESET)
	} else {
		defer refused.Close()
		assert.Empty(t, readEnd(t, refused))
	}
	c, err := p.Next(ctx)
	require.NoError(t, err)
	waitDone(t, c)
	assert.ErrorIs(t, c.Err(), faultproxy.ErrRefused)

	// The refused connection never reached the server: the first one the
	// server accepts is the next client's.
	p.SetPolicy(faultproxy.Forward)
	client := dial(t, p.Addr())
	write(t, client, "through")
	assert.Equal(t, "through", read(t, tg.accept(t), 7))
	c, err = p.Next(ctx)
	require.NoError(t, err)
	assert.NoError(t, c.Err())
}

func TestPolicyBlackhole(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	p := faultproxy.New(t, tg.addr())
	ctx := testContext(t)
	p.SetPolicy(faultproxy.Blackhole)
	client := dial(t, p.Addr())
	server := tg.accept(t) // the server is dialled
	c, err := p.Next(ctx)
	require.NoError(t, err)
	write(t, client, "<stream:stream>")
	write(t, server, "<stream:stream>")
	require.NoError(t, c.Wait(ctx, func() bool {
		return c.Discarded(faultproxy.ToServer) == 15 && c.Discarded(faultproxy.ToClient) == 15
	}))

	// The policy applies to new connections only.
	p.SetPolicy(faultproxy.Forward)
	c.Heal()
	write(t, client, "late")
	assert.Equal(t, "late", read(t, server, 4))
}

func TestDialFails(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	addr := tg.addr()
	require.NoError(t, tg.ln.Close())
	p := faultproxy.New(t, addr)
	client := dial(t, p.Addr())
	c, err := p.Next(testContext(t))
	require.NoError(t, err)
	waitDone(t, c)
	assert.ErrorIs(t, c.Err(), syscall.ECONNREFUSED)
	assert.Empty(t, readEnd(t, client))
}

// Close ends every connection, whatever its state, and leaks nothing
// (goleak in TestMain).
func TestClose(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	p, err := faultproxy.Start(tg.addr())
	require.NoError(t, err)
	ctx := testContext(t)

	forwarding := dial(t, p.Addr())
	write(t, forwarding, "x")
	assert.Equal(t, "x", read(t, tg.accept(t), 1))
	p.SetPolicy(faultproxy.Blackhole)
	blackholed := dial(t, p.Addr())
	tg.accept(t)
	// A client that closed while blackholed: its close is held.
	p.SetPolicy(faultproxy.Blackhole)
	held := dial(t, p.Addr())
	tg.accept(t)
	require.NoError(t, held.CloseWrite())
	conns := make([]*faultproxy.Conn, 3)
	for i := range conns {
		conns[i], err = p.Next(ctx)
		require.NoError(t, err)
	}

	require.NoError(t, p.Close())
	for _, c := range conns {
		waitDone(t, c)
		assert.ErrorIs(t, c.Err(), faultproxy.ErrCut)
	}
	for _, c := range []net.Conn{forwarding, blackholed} {
		assert.Empty(t, readEnd(t, c))
	}
	_, err = net.DialTimeout("tcp", p.Addr(), timeout)
	assert.Error(t, err, "the proxy no longer listens")
	assert.NoError(t, p.Close(), "closing twice")
}

// Blackhole and Heal racing with the bytes: every byte read is counted
// once, as forwarded or discarded, and what was forwarded is what the
// server received.
func TestCountsUnderToggling(t *testing.T) {
	t.Parallel()
	l := newLink(t)
	const total = 1000 * 1000 // a whole number of chunks
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%2 == 0 {
				l.c.Blackhole(faultproxy.ToServer)
			} else {
				l.c.Heal(faultproxy.ToServer)
			}
			runtime.Gosched()
		}
	})
	wg.Go(func() {
		chunk := bytes.Repeat([]byte("z"), 1000)
		for sent := 0; sent < total; sent += len(chunk) {
			if _, err := l.client.Write(chunk); err != nil {
				t.Error(err)
				return
			}
		}
	})
	received := make(chan int64, 1)
	go func() {
		n, _ := io.Copy(io.Discard, l.server)
		received <- n
	}()
	ctx := testContext(t)
	require.NoError(t, l.c.Wait(ctx, func() bool {
		return l.c.Forwarded(faultproxy.ToServer)+l.c.Discarded(faultproxy.ToServer) == total
	}), "forwarded %d, discarded %d", l.c.Forwarded(faultproxy.ToServer), l.c.Discarded(faultproxy.ToServer))
	close(stop)
	wg.Wait()
	l.c.Cut()
	var n int64
	select {
	case n = <-received:
	case <-ctx.Done():
		t.Fatal("the server's reader did not end")
	}
	assert.Equal(t, l.c.Forwarded(faultproxy.ToServer), n)
	assert.Equal(t, int64(total), l.c.Forwarded(faultproxy.ToServer)+l.c.Discarded(faultproxy.ToServer))
}

func TestWaitEnded(t *testing.T) {
	t.Parallel()
	l := newLink(t)
	ctx := testContext(t)
	go l.c.Cut()
	err := l.c.Wait(ctx, func() bool { return l.c.Forwarded(faultproxy.ToServer) > 0 })
	assert.ErrorIs(t, err, faultproxy.ErrEnded)
	assert.True(t, errors.Is(l.c.Err(), faultproxy.ErrCut))
}

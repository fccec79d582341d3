package session

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/testkit/childproc"
	"github.com/parleyim/parley/internal/testkit/scripted"
	"github.com/parleyim/parley/stanza"
)

// countingConn counts the client's turns: each change from writing to
// reading is one round trip waited for.
type countingConn struct {
	net.Conn
	writing bool
	turns   int
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writing = true
	return c.Conn.Write(p)
}

func (c *countingConn) Read(p []byte) (int, error) {
	if c.writing {
		c.turns++
		c.writing = false
	}
	return c.Conn.Read(p)
}

// BenchmarkNegotiate measures one full negotiation (STARTTLS, SCRAM-SHA-1,
// bind) over net.Pipe: the client's heap and its round trips.
func BenchmarkNegotiate(b *testing.B) {
	cfg := clientConfig(b)
	b.ReportAllocs()
	turns := 0
	for b.Loop() {
		cc, sc := net.Pipe()
		p := scripted.NewPeer(b, sc)
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer func() { _ = recover() }()
			p.Login()
			p.ExpectClosed()
		}()
		conn := &countingConn{Conn: cc}
		s, err := New(context.Background(), conn, juliet, "r0m30myr0m30", cfg)
		if err != nil {
			b.Fatal(err)
		}
		turns = conn.turns
		_ = s.Close(context.Background())
		<-done
	}
	b.ReportMetric(float64(turns), "round-trips/op")
}

// BenchmarkReadLoop measures stanzas per second through the reader, the
// queue and the mux to a no-op handler, from a peer that writes 60 KiB at
// a time or one stanza per write, over net.Pipe (which the reader cannot
// poll: it waits in Read) and over loopback TCP with and without TLS
// (where it polls, and hands over to a fresh goroutine whenever the
// stream has been silent for a millisecond: see readLoop).
func BenchmarkReadLoop(b *testing.B) {
	for _, conn := range []string{"pipe", "tcp", "tls"} {
		for _, batch := range []bool{true, false} {
			name := conn + "/batched"
			if !batch {
				name = conn + "/one-per-write"
			}
			b.Run(name, func(b *testing.B) { benchReadLoop(b, conn, batch) })
		}
	}
}

func benchReadLoop(b *testing.B, conn string, batch bool) {
	b.ReportAllocs()
	cfg := clientConfig(b)
	cfg.Mux = NewMux()
	var handled atomic.Int64
	all := make(chan struct{})
	var want int64
	cfg.Mux.HandleMessageFunc(MessageRoute{}, func(context.Context, *Session, *stanza.Message) {
		if handled.Add(1) == want {
			close(all)
		}
	})
	var cc, sc net.Conn
	if conn == "pipe" {
		cc, sc = net.Pipe()
	} else {
		cc, sc = scripted.Loopback(b)
	}
	cfg.NoTLS = conn == "tcp"
	p := scripted.NewPeer(b, sc)
	_ = sc.SetDeadline(time.Time{})
	ready := make(chan struct{})
	go func() {
		defer func() { _ = recover() }()
		if conn == "tcp" {
			p.Header()
			p.LoginFromSASL()
		} else {
			p.Login()
		}
		close(ready)
	}()
	s, err := New(context.Background(), cc, juliet, "r0m30myr0m30", cfg)
	if err != nil {
		b.Fatal(err)
	}
	<-ready
	msg := []byte("<message from='romeo@example.net/orchard' to='juliet@example.com/generated' type='chat' id='m1'><body>Art thou not Romeo, and a Montague?</body></message>")
	want = int64(b.N)
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	start := time.Now()
	go func() {
		buf := make([]byte, 0, 64<<10)
		for i := 0; i < b.N; i++ {
			buf = append(buf, msg...)
			if !batch || len(buf) > 60<<10 || i == b.N-1 {
				if _, err := p.Conn().Write(buf); err != nil {
					return
				}
				buf = buf[:0]
			}
		}
	}()
	<-all
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "stanzas/s")
	closed := p.AwaitClose()
	_ = s.Close(context.Background())
	<-closed
}

// BenchmarkIdleSession measures heap and stack per idle session: N
// sessions (PARLEY_BENCH_SESSIONS, default 10000) over loopback TCP to a
// server in a child process, with and without TLS, each of which has
// logged in and read one message, after GC, divided by N. Run it with
// -benchtime=1x.
func BenchmarkIdleSession(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("PARLEY_BENCH_SESSIONS")); err == nil && v > 0 {
		n = v
	}
	if os.Getenv("PARLEY_BENCH_HEAPPROFILE") != "" {
		// Record every allocation, so that the profile's bytes per session
		// are exact rather than sampled.
		defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
		runtime.MemProfileRate = 1
	}
	for _, withTLS := range []bool{false, true} {
		b.Run(fmt.Sprintf("tls=%v", withTLS), func(b *testing.B) {
			addr, stop := startBenchServer(b, withTLS)
			defer stop()
			cfg := clientConfig(b)
			cfg.Addr = addr
			cfg.NoTLS = !withTLS
			cfg.KeepAlive = -1
			for b.Loop() {
				sessions := make([]*Session, 0, n)
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				for i := 0; i < n; i++ {
					s, err := Dial(context.Background(), juliet, "r0m30myr0m30", cfg)
					if err != nil {
						b.Fatalf("session %d: %v", i, err)
					}
					sessions = append(sessions, s)
				}
				// Each session has had a stanza to read before it idles.
				for i, s := range sessions {
					for s.Stats().Received == 0 {
						if s.Err() != nil {
							b.Fatalf("session %d: %v", i, s.Err())
						}
						time.Sleep(time.Millisecond)
					}
				}
				runtime.GC()
				runtime.GC()
				runtime.ReadMemStats(&after)
				if path := os.Getenv("PARLEY_BENCH_HEAPPROFILE"); path != "" {
					if f, err := os.Create(path); err == nil {
						_ = pprof.WriteHeapProfile(f)
						f.Close()
					}
				}
				used := int64(after.HeapInuse+after.StackInuse) - int64(before.HeapInuse+before.StackInuse)
				b.ReportMetric(float64(used)/float64(n), "B/session")
				b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/float64(n), "heap-B/session")
				b.ReportMetric(float64(int64(after.StackInuse)-int64(before.StackInuse))/float64(n), "stack-B/session")
				// Live objects alone, without the free space of in-use spans.
				b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(n), "live-B/session")
				var wg sync.WaitGroup
				for _, s := range sessions {
					wg.Add(1)
					go func() {
						defer wg.Done()
						ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
						defer cancel()
						_ = s.Close(ctx)
					}()
				}
				wg.Wait()
			}
		})
	}
}

// startBenchServer runs this test binary again as a server (see
// TestBenchServer) so that the server's memory is not counted.
func startBenchServer(b *testing.B, withTLS bool) (string, func()) {
	return childproc.Start(b, "TestBenchServer", "PARLEY_BENCH_SERVER=1", "PARLEY_BENCH_TLS="+strconv.FormatBool(withTLS),
		scripted.CertificateEnv(b))
}

// TestBenchServer is the child process of BenchmarkIdleSession; it does
// nothing in a normal test run.
func TestBenchServer(t *testing.T) {
	if os.Getenv("PARLEY_BENCH_SERVER") != "1" {
		t.Skip("only runs as BenchmarkIdleSession's server")
	}
	withTLS := os.Getenv("PARLEY_BENCH_TLS") == "true"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	childproc.Announce(ln.Addr().String())
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer func() { _ = recover() }()
			p := scripted.NewPeer(t, c)
			_ = c.SetDeadline(time.Time{})
			p.Header()
			if withTLS {
				p.Features(featStartTLS)
				p.StartTLS()
				p.Header()
			}
			p.LoginFromSASL()
			// Traffic before the idle time: a message the client's
			// reader parses and its dispatcher takes.
			p.Send("<message from='romeo@example.net/orchard' type='chat'><body>Art thou there?</body></message>")
			p.ExpectClosed()
		}()
	}
}

package bench

import (
	"context"
	"crypto/tls"
	"encoding/xml"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"testing"
	"time"

	goxmpp "github.com/xmppo/go-xmpp"
	msasl "mellium.im/sasl"
	"mellium.im/xmlstream"
	mxmpp "mellium.im/xmpp"
	mjid "mellium.im/xmpp/jid"

	"github.com/parleyim/parley/internal/testkit/childproc"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/xmpptest"
)

const (
	domain   = "example.test"
	password = "pw-for-benchmarks"
)

// sessions is N, the number of sessions of a run.
func sessions() int {
	if v, err := strconv.Atoi(os.Getenv("PARLEY_BENCH_SESSIONS")); err == nil && v > 0 {
		return v
	}
	return 10000
}

// tlsConfig is the same for every library, and shared by all sessions as
// an application would share it: the server's certificate is self-signed,
// and checking it or not costs each library the same.
var tlsConfig = &tls.Config{ServerName: domain, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}

// A library logs account i in and returns what closes the session.
type library struct {
	name  string
	login func(ctx context.Context, addr string, i int) (close func(), err error)
}

var libraries = []library{
	{"parley", loginParley},
	{"mellium", loginMellium},
	{"go-xmpp", loginGoXMPP},
}

func user(i int) string { return "u" + strconv.Itoa(i) }

// parleyConfig is shared by all sessions, as an application would share
// it, with the defaults otherwise (keepalive on); Addr is set once the
// server is up.
var parleyConfig = &session.Config{TLSConfig: tlsConfig}

func loginParley(ctx context.Context, addr string, i int) (func(), error) {
	if parleyConfig.Addr != addr {
		parleyConfig.Addr = addr // once per run, before its first session
	}
	s, err := session.Dial(ctx, jid.MustParse(user(i)+"@"+domain), password, parleyConfig)
	if err != nil {
		return nil, err
	}
	return func() { _ = s.Close(context.Background()) }, nil
}

func loginMellium(ctx context.Context, addr string, i int) (func(), error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	s, err := mxmpp.NewClientSession(ctx, mjid.MustParse(user(i)+"@"+domain), conn,
		mxmpp.StartTLS(tlsConfig),
		mxmpp.SASL("", password, msasl.ScramSha256Plus, msasl.ScramSha256, msasl.ScramSha1Plus, msasl.ScramSha1),
		mxmpp.BindResource(),
	)
	if err != nil {
		conn.Close()
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Serve(mxmpp.HandlerFunc(func(xmlstream.TokenReadEncoder, *xml.StartElement) error { return nil }))
	}()
	return func() {
		_ = s.Close()
		conn.Close()
		<-done
	}, nil
}

func loginGoXMPP(_ context.Context, addr string, i int) (func(), error) {
	c, err := goxmpp.Options{
		Host:      addr,
		User:      user(i) + "@" + domain,
		Password:  password,
		NoTLS:     true,
		StartTLS:  true,
		TLSConfig: tlsConfig,
	}.NewClient()
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, err := c.Recv(); err != nil {
				return
			}
		}
	}()
	return func() {
		_ = c.Close()
		<-done
	}, nil
}

func BenchmarkIdleSession(b *testing.B) {
	n := sessions()
	profile := os.Getenv("PARLEY_BENCH_HEAPPROFILE") // a file name; the library's name is added
	if profile != "" {
		// Record every allocation, so that bytes per site are exact.
		defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
		runtime.MemProfileRate = 1
	}
	for _, lib := range libraries {
		b.Run(lib.name, func(b *testing.B) {
			addr, stop := startServer(b, n)
			defer stop()
			for b.Loop() {
				closers := make([]func(), 0, n)
				base := runtime.NumGoroutine()
				runtime.GC()
				runtime.GC() // a second cycle frees what finalizers released
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				for i := range n {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					c, err := lib.login(ctx, addr, i)
					cancel()
					if err != nil {
						b.Fatalf("%s: session %d: %v", lib.name, i, err)
					}
					closers = append(closers, c)
				}
				time.Sleep(time.Second) // let what follows a login settle
				runtime.GC()
				runtime.GC()
				runtime.ReadMemStats(&after)
				if profile != "" {
					if f, err := os.Create(profile + "." + lib.name); err == nil {
						_ = pprof.WriteHeapProfile(f)
						f.Close()
					}
				}
				heap := int64(after.HeapInuse) - int64(before.HeapInuse)
				stack := int64(after.StackInuse) - int64(before.StackInuse)
				b.ReportMetric(float64(heap+stack)/float64(n), "B/session")
				b.ReportMetric(float64(heap)/float64(n), "heap-B/session")
				b.ReportMetric(float64(stack)/float64(n), "stack-B/session")
				b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(n), "live-B/session")
				b.ReportMetric(float64(runtime.NumGoroutine())/float64(n), "goroutines/session")
				var wg sync.WaitGroup
				for _, c := range closers {
					wg.Go(c)
				}
				wg.Wait()
				// A library may leave goroutines behind a while after Close
				// (go-xmpp closes its connection 10 s later): wait for
				// them, so that the next run starts from the same place.
				for deadline := time.Now().Add(time.Minute); runtime.NumGoroutine() > base && time.Now().Before(deadline); {
					time.Sleep(100 * time.Millisecond)
				}
			}
		})
	}
}

// startServer runs this test binary again as the server (TestServer), so
// that the server's memory is not counted, with n accounts.
func startServer(b *testing.B, n int) (string, func()) {
	return childproc.Start(b, "TestServer", "PARLEY_BENCH_SERVER=1", "PARLEY_BENCH_SESSIONS="+strconv.Itoa(n))
}

// TestServer is the child process of the benchmarks; it does nothing in
// a normal test run.
func TestServer(t *testing.T) {
	if os.Getenv("PARLEY_BENCH_SERVER") != "1" {
		t.Skip("only runs as the benchmarks' server")
	}
	srv, err := xmpptest.Start(&xmpptest.Config{Domain: domain, Listen: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for i := range sessions() {
		if _, err := srv.AddUser(user(i), password); err != nil {
			t.Fatal(err)
		}
	}
	childproc.Announce(srv.Addr())
	select {} // until the parent kills it
}

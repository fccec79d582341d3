//go:build unix

package session

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/testkit/childproc"
	"github.com/parleyim/parley/internal/testkit/scripted"
	"github.com/parleyim/parley/stanza"
)

// BenchmarkReceive is the CPU time the whole process spends per chat
// message received (getrusage, user plus system, over b.N messages, as
// cpu-µs/msg), from a server in a child process that writes one message
// per write over loopback TCP, in the clear or under TLS, with or without
// stream management (the server then asks for an ack after a message
// whenever it awaits none, as Prosody does), one message every gap (0:
// as fast as the server can write; 100µs: one at a time, faster than one
// per millisecond; 25ms: one at a time, each after an idle period, past
// the reader's hand-over, idle.go). The
// handler is a Mux message handler that counts.
//
// The floor, client=floor, is what any client pays: it reads the same
// messages from the same server, after a TLS handshake but no XMPP login,
// into a buffer it reuses, and counts the ends of messages.
func BenchmarkReceive(b *testing.B) {
	for _, conn := range []string{"tcp", "tls"} {
		for _, gap := range []time.Duration{0, 100 * time.Microsecond, 25 * time.Millisecond} {
			for _, client := range []string{"floor", "session", "session+sm"} {
				name := fmt.Sprintf("conn=%s/gap=%v/client=%s", conn, gap, client)
				b.Run(name, func(b *testing.B) {
					if client == "floor" {
						benchReceiveFloor(b, conn == "tls", gap)
						return
					}
					benchReceive(b, conn == "tls", client == "session+sm", gap)
				})
			}
		}
	}
}

// startReceiveServer starts BenchmarkReceive's server in a child process.
func startReceiveServer(b *testing.B, withTLS, sm bool) (addr string, stop func()) {
	return childproc.Start(b, "TestReceiveServer", "PARLEY_BENCH_RECV_SERVER=1",
		"PARLEY_BENCH_TLS="+strconv.FormatBool(withTLS), "PARLEY_BENCH_SM="+strconv.FormatBool(sm),
		scripted.CertificateEnv(b))
}

func benchReceiveFloor(b *testing.B, withTLS bool, gap time.Duration) {
	addr, stop := startReceiveServer(b, withTLS, false)
	defer stop()
	var c net.Conn
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "R"); err != nil {
		b.Fatal(err)
	}
	if withTLS {
		cfg := scripted.ClientTLS(b)
		cfg.ServerName = scripted.Domain
		c = tls.Client(c, cfg)
	}
	buf := make([]byte, 4096)
	end := []byte("</message>")
	receive := func(n int) time.Duration {
		c0 := cpuTime()
		if _, err := fmt.Fprintf(c, "%d/%d\n", n, gap.Nanoseconds()); err != nil {
			b.Fatal(err)
		}
		// An end tag split between two reads is found in the second,
		// with what the first left of it kept in front.
		got, keep := 0, 0
		for got < n {
			m, err := c.Read(buf[keep:])
			if err != nil {
				b.Fatal(err)
			}
			data := buf[:keep+m]
			got += bytes.Count(data, end)
			if i := bytes.LastIndex(data, end); i >= 0 {
				data = data[i+len(end):]
			}
			keep = copy(buf, data[max(0, len(data)-len(end)+1):])
		}
		return cpuTime() - c0
	}
	receive(100)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := receive(b.N)
	b.StopTimer()
	b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(b.N), "cpu-µs/msg")
}

func benchReceive(b *testing.B, withTLS, sm bool, gap time.Duration) {
	addr, stop := startReceiveServer(b, withTLS, sm)
	defer stop()
	cfg := clientConfig(b)
	cfg.Addr = addr
	cfg.NoTLS = !withTLS
	cfg.KeepAlive = -1
	cfg.NoStreamManagement = !sm
	var (
		mu     sync.Mutex
		count  int
		target int
		hit    chan struct{}
	)
	expect := func(n int) <-chan struct{} {
		mu.Lock()
		defer mu.Unlock()
		count, target, hit = 0, n, make(chan struct{})
		return hit
	}
	cfg.Mux = NewMux()
	cfg.Mux.HandleMessageFunc(MessageRoute{}, func(_ context.Context, _ *Session, m *stanza.Message) {
		mu.Lock()
		defer mu.Unlock()
		if count++; count == target {
			close(hit)
		}
	})
	s, err := Dial(context.Background(), juliet, "r0m30myr0m30", cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = s.Close(context.Background()) }()
	receive := func(n int) (cpu time.Duration) {
		done := expect(n)
		c0 := cpuTime()
		req := &stanza.Message{Header: stanza.Header{ID: fmt.Sprintf("%d/%d", n, gap.Nanoseconds())}}
		if err := s.Send(context.Background(), req); err != nil {
			b.Fatal(err)
		}
		select {
		case <-done:
		case <-s.Done():
			b.Fatal(s.Err())
		}
		return cpuTime() - c0
	}
	receive(100) // warm up: buffers, TLS, the scheduler
	b.ReportAllocs()
	b.ResetTimer()
	cpu := receive(b.N)
	b.StopTimer()
	b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(b.N), "cpu-µs/msg")
}

// cpuTime is the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// receiveBenchMessage is the chat message BenchmarkReceive's server
// writes: body, thread, a chat state and a receipt request, as the bench
// module's live comparison sends.
const receiveBenchMessage = "<message from='romeo@example.net/orchard' to='juliet@example.com/generated' type='chat' id='m1'>" +
	"<body>Art thou not Romeo, and a Montague? Neither, fair saint, if either thee dislike. How cam'st thou hither, tell me, and wherefore? The orchard walls are high &amp; hard to climb.</body>" +
	"<thread>t-6a006e97</thread><active xmlns='http://jabber.org/protocol/chatstates'/><request xmlns='urn:xmpp:receipts'/></message>"

// TestReceiveServer is the child process of BenchmarkReceive; it does
// nothing in a normal test run. A message from the client whose id is
// "n/gap" asks for n messages, one every gap nanoseconds.
func TestReceiveServer(t *testing.T) {
	if os.Getenv("PARLEY_BENCH_RECV_SERVER") != "1" {
		t.Skip("only runs as BenchmarkReceive's server")
	}
	withTLS := os.Getenv("PARLEY_BENCH_TLS") == "true"
	sm := os.Getenv("PARLEY_BENCH_SM") == "true"
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
			defer c.Close()
			first := make([]byte, 1)
			if _, err := io.ReadFull(c, first); err != nil {
				return
			}
			if first[0] == 'R' {
				serveReceiveFloor(t, c, withTLS)
				return
			}
			serveReceiveBench(t, &prefixConn{Conn: c, pre: first}, withTLS, sm)
		}()
	}
}

// prefixConn is a connection of which the first bytes were read already.
type prefixConn struct {
	net.Conn
	pre []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(p, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// pace waits gap nanoseconds in a system call, which blocks the thread
// rather than using the runtime's timers, whose resolution here is too
// coarse for a gap well under a millisecond.
func pace(gap int64) {
	if gap <= 0 {
		return
	}
	ts := syscall.NsecToTimespec(gap)
	for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
	}
}

// serveReceiveFloor serves the floor: after a TLS handshake if withTLS,
// a line "n/gap" asks for n messages, one every gap nanoseconds.
func serveReceiveFloor(t *testing.T, c net.Conn, withTLS bool) {
	if withTLS {
		cert, _ := scripted.Certificate(t)
		c = tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
	}
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		var n int
		var gap int64
		if _, err := fmt.Sscanf(line, "%d/%d", &n, &gap); err != nil {
			return
		}
		for range n {
			if _, err := io.WriteString(c, receiveBenchMessage); err != nil {
				return
			}
			pace(gap)
		}
	}
}

func serveReceiveBench(t *testing.T, c net.Conn, withTLS, sm bool) {
	defer func() { _ = recover() }()
	p := scripted.NewPeer(t, c)
	_ = c.SetDeadline(time.Time{})

	p.Header()
	if withTLS {
		p.Features(featStartTLS)
		p.StartTLS()
		p.Header()
	}
	p.Features(scripted.Mechanisms("SCRAM-SHA-1"))
	p.Authenticate()
	p.Header()
	if sm {
		p.Features(scripted.BindFeature + featSM)
		p.Bind("")
		p.Expect("enable")
		p.Send("<enabled xmlns='" + ns.SM + "'/>")
	} else {
		p.Features(scripted.BindFeature)
		p.Bind("")
	}
	// Stream management as Prosody does it: after a message, an <r/>
	// unless one awaits its <a/>; after an <a/>, another if messages
	// were written since the last one.
	var (
		mu       sync.Mutex
		awaiting bool
		sent     int // messages written
		asked    int // messages written when the last <r/> was
		handled  int // the client's stanzas
	)
	request := func() {
		if sm && !awaiting && sent > asked {
			awaiting, asked = true, sent
			p.Send("<r xmlns='" + ns.SM + "'/>")
		}
	}
	// Serve answers the client's close and closes the connection.
	p.Serve(func(p *scripted.Peer, el *stanza.Raw) bool {
		switch el.Name().Local {
		case "a":
			mu.Lock()
			awaiting = false
			request()
			mu.Unlock()
		case "r":
			p.Send(fmt.Sprintf("<a xmlns='%s' h='%d'/>", ns.SM, handled))
		case "message":
			handled++
			n, gap, ok := strings.Cut(el.Attr("id"), "/")
			if !ok {
				break
			}
			count, _ := strconv.Atoi(n)
			ns, _ := strconv.ParseInt(gap, 10, 64)
			go func() {
				defer func() { _ = recover() }()
				for range count {
					mu.Lock()
					p.Send(receiveBenchMessage)
					sent++
					request()
					mu.Unlock()
					pace(ns)
				}
			}()
		}
		return true
	})
}

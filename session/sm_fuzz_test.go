package session

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/wire"
)

// FuzzAckQueue runs arbitrary sequences of sends and server
// acknowledgements (with any h, wrapping included) through the queue of
// unacknowledged stanzas: an h above what was sent is refused and changes
// nothing; otherwise what is left is exactly what was sent after h, in
// order, and the byte count matches.
func FuzzAckQueue(f *testing.F) {
	f.Add([]byte{1, 1, 1, 0, 0, 0, 2, 1, 0, 0, 0, 9})
	f.Add([]byte{1, 0, 255, 255, 255, 255})
	f.Add([]byte{2, 0xfe, 0xff, 0xff, 0xff, 1, 1, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, ops []byte) {
		var m streamMgmt
		for len(ops) > 0 {
			op := ops[0]
			ops = ops[1:]
			switch op % 3 {
			case 0: // send
				m.push(make([]byte, int(op)+1))
			case 1: // ack with the next four bytes as h
				if len(ops) < 4 {
					return
				}
				h := binary.BigEndian.Uint32(ops)
				ops = ops[4:]
				before, acked, n := m.bytes, m.acked, len(m.unacked)
				err := m.ack(h)
				if h-acked > uint32(n) {
					var hc *handledCountError
					if !errors.As(err, &hc) || m.bytes != before || m.acked != acked || len(m.unacked) != n {
						t.Fatalf("h %d beyond %d sent: err %v, queue changed", h, m.sent, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("h %d: %v", h, err)
				}
			case 2: // jump the counts near the wrap, as a long stream would
				if len(m.unacked) == 0 {
					m.sent, m.acked = 0xfffffff0+uint32(op%16), 0xfffffff0+uint32(op%16)
				}
			}
			if uint32(len(m.unacked)) != m.sent-m.acked {
				t.Fatalf("%d queued, but sent %d and acked %d", len(m.unacked), m.sent, m.acked)
			}
			total := 0
			for i, u := range m.unacked {
				total += len(u.b)
				if u.seq != m.acked+uint32(i)+1 {
					t.Fatalf("stanza %d has count %d after ack %d", i, u.seq, m.acked)
				}
			}
			if total != m.bytes {
				t.Fatalf("bytes %d, counted %d", m.bytes, total)
			}
		}
	})
}

// FuzzReaderSM feeds arbitrary input from the server, then a ping, to an
// established session with stream management that has sent three
// stanzas: never a panic or a hang, and when the server then hangs up
// the session ends with a cause.
func FuzzReaderSM(f *testing.F) {
	f.Add("<a xmlns='urn:xmpp:sm:3' h='2'/>")
	f.Add("<r xmlns='urn:xmpp:sm:3'/><a xmlns='urn:xmpp:sm:3' h='3'/>")
	f.Add("<a xmlns='urn:xmpp:sm:3' h='4'/>")
	f.Add("<a xmlns='urn:xmpp:sm:3' h='-1'/>")
	f.Add("<a xmlns='urn:xmpp:sm:3'><x/></a><a xmlns='urn:xmpp:sm:3' h='1' h='2'/>")
	f.Add("<enabled xmlns='urn:xmpp:sm:3'/>")
	f.Add("<resumed xmlns='urn:xmpp:sm:3' h='1' previd='x'/>")
	f.Add("<failed xmlns='urn:xmpp:sm:3'/>")
	f.Add("<message from='a@b/c'><body>x</body></message><r xmlns='urn:xmpp:sm:3'/>")
	f.Fuzz(func(t *testing.T, input string) {
		client, server := net.Pipe()
		defer server.Close()
		cfg := &Config{KeepAlive: -1, AckEvery: 1000, AckDelay: time.Hour}
		n := &negotiator{dialer: &dialer{cfg: cfg}, tr: newTCPTransport(client, &tracer{})}
		n.rd = wire.NewReader(n.tr, wire.Limits{})
		// The server's side: its header, then it reads everything.
		readDone := make(chan struct{})
		go func() {
			defer close(readDone)
			buf := make([]byte, 4096)
			for {
				_, err := server.Read(buf)
				if err != nil {
					return
				}
			}
		}()
		go func() {
			_, _ = server.Write(wire.AppendHeader(nil, wire.Header{From: "example.com", Version: "1.0"}))
		}()
		if _, err := n.rd.ReadHeader(); err != nil {
			t.Fatal(err)
		}
		s := newSession(n, mustJID("juliet@example.com/r"), &featuresElement{})
		s.sm.smEnabled = smEnabled{on: true}
		s.start()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for i := 0; i < 3; i++ {
			if err := s.Send(ctx, smChat("x")); err != nil {
				t.Fatal(err)
			}
		}
		wrote := make(chan struct{})
		go func() {
			_, _ = io.WriteString(server, input+"<iq type='get' id='fuzz-end' from='example.com'><ping xmlns='"+ns.Ping+"'/></iq>")
			close(wrote)
		}()
		// Once the client has read everything (or ended), the server
		// hangs up: the session, which cannot dial again, must end.
		select {
		case <-wrote:
		case <-s.Done():
		case <-ctx.Done():
			t.Fatal("the client stopped reading")
		}
		server.Close()
		select {
		case <-s.Done():
		case <-ctx.Done():
			t.Fatal("the session did not end after the server hung up")
		}
		if s.Err() == nil {
			t.Fatal("ended without a cause")
		}
		server.Close()
		_ = s.Close(ctx)
		<-readDone
	})
}

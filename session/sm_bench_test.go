package session

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/testkit/scripted"
	"github.com/parleyim/parley/internal/wire"
	"github.com/parleyim/parley/stanza"
)

// benchSession returns an established session over loopback TCP, with
// stream management on when ackEvery > 0, whose server reads everything
// and answers each <r/> with the count of messages it has read.
func benchSession(b *testing.B, ackEvery int) *Session {
	client, server := scripted.Loopback(b)
	cfg := &Config{KeepAlive: -1, AckEvery: ackEvery, AckDelay: time.Hour}
	n := &negotiator{dialer: &dialer{cfg: cfg}, tr: newTCPTransport(client, &tracer{})}
	n.rd = wire.NewReader(n.tr, wire.Limits{})
	if _, err := server.Write(wire.AppendHeader(nil, wire.Header{From: "example.com", Version: "1.0"})); err != nil {
		b.Fatal(err)
	}
	if _, err := n.rd.ReadHeader(); err != nil {
		b.Fatal(err)
	}
	s := newSession(n, mustJID("juliet@example.com/r"), &featuresElement{})
	s.sm.smEnabled = smEnabled{on: ackEvery > 0}
	s.start()
	go func() {
		buf := make([]byte, 64<<10)
		var tail []byte
		count := 0
		end, req := []byte("</message>"), []byte("<r ")
		for {
			k, err := server.Read(buf)
			if err != nil {
				return
			}
			chunk := append(tail, buf[:k]...)
			count += bytes.Count(chunk, end)
			if bytes.Contains(chunk, req) {
				a := "<a xmlns='" + ns.SM + "' h='" + strconv.Itoa(count) + "'/>"
				if _, err := io.WriteString(server, a); err != nil {
					return
				}
			}
			tail = append(tail[:0], chunk[max(0, len(chunk)-len(end)+1):]...)
		}
	}()
	b.Cleanup(func() {
		server.Close()
		_ = s.Close(context.Background())
	})
	return s
}

// BenchmarkSendSM is the cost of Send for a chat message with stream
// management off and with acks requested every N stanzas (the server
// answers each request at once): what keeping each stanza until it is
// acknowledged, and the requests and acks, add.
func BenchmarkSendSM(b *testing.B) {
	msg := &stanza.Message{Header: stanza.Header{To: mustJID("romeo@example.net")}, Type: stanza.MessageChat,
		Body: "Wherefore art thou, Romeo? Deny thy father and refuse thy name."}
	for _, every := range []int{0, 1, 8, 64} {
		name := "off"
		if every > 0 {
			name = fmt.Sprintf("ack-every-%d", every)
		}
		b.Run(name, func(b *testing.B) {
			s := benchSession(b, every)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Send(ctx, msg); err != nil {
					b.Fatal(err)
				}
			}
			if every > 0 && s.Stats().Unacked > 2*every+1024 {
				b.Fatalf("%d stanzas unacknowledged", s.Stats().Unacked)
			}
		})
	}
}

// BenchmarkUnackedMemory is the heap the queue of unacknowledged stanzas
// holds per chat message (as written, plus its entry), from a server
// that never acknowledges.
func BenchmarkUnackedMemory(b *testing.B) {
	const n = 10000
	msg := &stanza.Message{Header: stanza.Header{To: mustJID("romeo@example.net")}, Type: stanza.MessageChat,
		Body: "Wherefore art thou, Romeo? Deny thy father and refuse thy name."}
	enc, err := msg.AppendXML(nil)
	if err != nil {
		b.Fatal(err)
	}
	var perStanza float64
	for b.Loop() {
		var m streamMgmt
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for range n {
			m.push(enc)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perStanza = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(&m)
	}
	b.ReportMetric(perStanza, "B/stanza")
	b.ReportMetric(float64(len(enc)), "B/encoded")
}

// BenchmarkAckQueue is stream management's own work per stanza, without
// the network: keeping a chat message until acknowledged and dropping it
// at the ack, with an ack every 8 stanzas.
func BenchmarkAckQueue(b *testing.B) {
	msg := &stanza.Message{Header: stanza.Header{To: mustJID("romeo@example.net")}, Type: stanza.MessageChat,
		Body: "Wherefore art thou, Romeo? Deny thy father and refuse thy name."}
	enc, err := msg.AppendXML(nil)
	if err != nil {
		b.Fatal(err)
	}
	var m streamMgmt
	b.ReportAllocs()
	for b.Loop() {
		m.push(enc)
		if len(m.unacked) == 8 {
			if err := m.ack(m.sent); err != nil {
				b.Fatal(err)
			}
		}
	}
}

package presence

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/disco"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// The benchmarks' account: 10,000 contacts with two resources each.
const (
	benchContacts  = 10000
	benchResources = 2
)

// benchManager returns a Manager whose roster holds benchContacts contacts
// (contact00000@example.net …) and whose tracker follows juliet, with one
// broadcast callback that counts, as an application's would.
func benchManager(b *testing.B) *Manager {
	b.Helper()
	var saved strings.Builder
	saved.WriteString(`<roster xmlns='urn:parleyim:roster-cache:0' account='juliet@example.com'><query xmlns='jabber:iq:roster' ver='b1'>`)
	for i := range benchContacts {
		fmt.Fprintf(&saved, "<item jid='contact%05d@example.net' subscription='both'/>", i)
	}
	saved.WriteString("</query></roster>")
	mux := session.NewMux()
	rs := roster.Handle(mux)
	if err := rs.Cache().Load(strings.NewReader(saved.String())); err != nil {
		b.Fatal(err)
	}
	m := Handle(mux, rs, nil)
	m.tracker.reset(account, time.Now(), nil)
	var events int
	m.HandleBroadcast(func(context.Context, *session.Session, Event) { events++ })
	return m
}

// benchFrom returns the full JID of resource r of contact i.
func benchFrom(i, r int) jid.JID {
	return jid.MustParse("contact" + fmt.Sprintf("%05d", i) + "@example.net/res" + strconv.Itoa(r))
}

// benchCaps returns one of ten caps elements, as clients of a few kinds
// announce them.
func benchCaps(i int) disco.Caps {
	return disco.Caps{Hash: "sha-1", Node: "https://client" + strconv.Itoa(i%10) + ".example", Ver: "ver" + strconv.Itoa(i%10) + "AAAAAAAAAAAAAAAAAAAAAAAAA="}
}

// benchPresence returns available presence from from with a status, the
// variant v (0 or 1: a status change) and caps.
func benchPresence(from jid.JID, i, v int) *stanza.Presence {
	p := &stanza.Presence{Header: stanza.Header{From: from}, Show: stanza.ShowAway, Status: "in a meeting " + strconv.Itoa(v), Priority: int8(i % 3)}
	if v == 1 {
		p.Show = stanza.ShowNone
	}
	c := benchCaps(i)
	var buf bytes.Buffer
	enc := xml.NewEncoder(&buf)
	if _, err := c.WriteXML(enc); err != nil {
		panic(err)
	}
	if err := enc.Flush(); err != nil {
		panic(err)
	}
	raw, err := stanza.ParseRaw(buf.Bytes())
	if err != nil {
		panic(err)
	}
	p.Extensions = []stanza.Payload{raw}
	return p
}

// BenchmarkUpdate measures Tracker updates with 10,000 contacts × 2
// resources online: each op is an available presence from one of the
// 20,000 resources, in turn, that changes its show and status (so each
// makes a Changed event). updates/s is the throughput.
//
//   - handler: Manager.HandlePresence, the presence handler the session's
//     dispatcher calls with the decoded stanza (the MUC check, the roster
//     lookup, finding the caps element, the tracker, the callback);
//   - decode+handler: the same after decoding the stanza from its bytes
//     with stanza.Decoder, as the session's reader does;
//   - baseline-tracker: the tracker's own update alone (Tracker.available
//     with the caps already found), what the handler path adds to.
func BenchmarkUpdate(b *testing.B) {
	n := benchContacts * benchResources
	froms := make([]jid.JID, n)
	for k := range froms {
		froms[k] = benchFrom(k/benchResources, k%benchResources)
	}
	// Two variants per resource, alternating: every update is a change.
	ps := make([][2]*stanza.Presence, n)
	for k := range ps {
		ps[k] = [2]*stanza.Presence{benchPresence(froms[k], k, 0), benchPresence(froms[k], k, 1)}
	}
	online := func(b *testing.B) *Manager {
		m := benchManager(b)
		for k := range ps {
			m.HandlePresence(context.Background(), nil, ps[k][1])
		}
		if m.tracker.Len() != n {
			b.Fatalf("%d resources tracked, want %d", m.tracker.Len(), n)
		}
		return m
	}
	report := func(b *testing.B) {
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
	}

	b.Run("handler", func(b *testing.B) {
		m := online(b)
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		i := 0
		for b.Loop() {
			k := i % n
			m.HandlePresence(ctx, nil, ps[k][(i/n)&1])
			i++
		}
		report(b)
	})
	b.Run("decode+handler", func(b *testing.B) {
		m := online(b)
		ctx := context.Background()
		wire := make([][2][]byte, n)
		for k := range ps {
			for v := range 2 {
				bs, err := ps[k][v].AppendXML(nil)
				if err != nil {
					b.Fatal(err)
				}
				// In the stream's namespace, as the reader sees it.
				wire[k][v] = append(append([]byte("<s xmlns='jabber:client'>"), bs...), "</s>"...)
			}
		}
		var r bytes.Reader
		b.ReportAllocs()
		b.ResetTimer()
		i := 0
		for b.Loop() {
			k := i % n
			r.Reset(wire[k][(i/n)&1])
			d := xml.NewDecoder(&r)
			var tok xml.Token
			var err error
			for range 2 {
				if tok, err = d.Token(); err != nil {
					b.Fatal(err)
				}
			}
			st, err := stanza.Decoder{}.Decode(d, tok.(xml.StartElement))
			if err != nil {
				b.Fatal(err)
			}
			m.HandlePresence(ctx, nil, st.(*stanza.Presence))
			i++
		}
		report(b)
	})
	b.Run("baseline-tracker", func(b *testing.B) {
		m := online(b)
		caps := make([]disco.Caps, n)
		for k := range caps {
			caps[k] = benchCaps(k)
		}
		b.ReportAllocs()
		b.ResetTimer()
		i := 0
		for b.Loop() {
			k := i % n
			if _, ok := m.tracker.available(froms[k], ps[k][(i/n)&1], caps[k], time.Now()); !ok {
				b.Fatal("no change")
			}
			i++
		}
		report(b)
	})
}

// BenchmarkMemory measures the memory a tracked resource costs: the live
// heap after GC grows by B/resource per resource that goes online through
// Manager.HandlePresence, with 10,000 contacts × 2 resources. The JIDs,
// statuses and stanzas are made fresh for each presence, as the decoder
// makes them, so what the tracker keeps of them is counted and the rest is
// garbage. The roster (10,000 items) is there before and not counted.
//
//   - plain: available presence with nothing in it;
//   - status+caps: a status of 14 bytes and one of ten caps elements
//     (which the tracker shares between resources).
func BenchmarkMemory(b *testing.B) {
	n := benchContacts * benchResources
	for _, rich := range []bool{false, true} {
		name := "plain"
		if rich {
			name = "status+caps"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				m := benchManager(b)
				var before, after runtime.MemStats
				runtime.GC()
				runtime.GC()
				runtime.ReadMemStats(&before)
				for k := range n {
					from := benchFrom(k/benchResources, k%benchResources)
					p := &stanza.Presence{Header: stanza.Header{From: from}}
					if rich {
						p = benchPresence(from, k, 0)
					}
					m.HandlePresence(ctx, nil, p)
				}
				runtime.GC()
				runtime.GC()
				runtime.ReadMemStats(&after)
				if m.tracker.Len() != n {
					b.Fatalf("%d resources tracked, want %d", m.tracker.Len(), n)
				}
				b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(n), "B/resource")
				runtime.KeepAlive(m)
			}
		})
	}
}

package presence

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/wire"
	"github.com/parleyim/parley/stanza"
)

// TestTrackerRetainsCopies: presence received on a stream is decoded from
// the stanza's own bytes (its strings are parts of one string per
// stanza). What the Tracker keeps from it — the address, the status, the
// caps — is copied, so that an entry costs what it holds, not the whole
// stanza: here each presence carries 16 KiB of an extension the tracker
// does not keep, and 2,000 entries must cost well under one such stanza
// each.
func TestTrackerRetainsCopies(t *testing.T) {
	const n = 2000
	pad := strings.Repeat("x", 16<<10)
	var b strings.Builder
	b.WriteString(string(wire.AppendHeader(nil, wire.Header{From: "example.test"})))
	for i := range n {
		fmt.Fprintf(&b, "<presence from='c%d@example.test/r%d'><status>here %d</status>"+
			"<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n%d' ver='v%d='/><pad xmlns='urn:example:pad'>%s</pad></presence>",
			i, i, i, i%7, i%7, pad)
	}
	tr := newTracker(0)
	var pc parsedCaps
	var in string
	decodeAll := func() {
		rd := wire.NewReader(strings.NewReader(in), wire.Limits{})
		if _, err := rd.ReadHeader(); err != nil {
			t.Fatal(err)
		}
		for range n {
			name, err := rd.NextName()
			if err != nil {
				t.Fatal(err)
			}
			st, err := stanza.Decoder{}.Decode(rd, rd.Start())
			if err != nil {
				t.Fatal(err)
			}
			_ = name
			p := st.(*stanza.Presence)
			caps, _ := pc.find(p)
			if _, ok := tr.available(p.From, p, caps, time.Now()); !ok {
				t.Fatalf("presence %s not tracked", p.From)
			}
		}
	}
	in = b.String()
	before := heapInUse()
	decodeAll()
	after := heapInUse()
	runtime.KeepAlive(tr)
	runtime.KeepAlive(&pc)
	runtime.KeepAlive(&b) // the input, alive across both readings
	per := (float64(after) - float64(before)) / n
	t.Logf("%.0f B retained per tracked resource (each stanza was %d B)", per, len(pad)+200)
	if per > 2048 {
		t.Errorf("%.0f B retained per tracked resource: the tracker keeps parts of the stanzas", per)
	}
	if got := len(tr.contacts); got != n {
		t.Fatalf("%d contacts tracked, want %d", got, n)
	}
}

// heapInUse returns the bytes of live heap objects after a collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

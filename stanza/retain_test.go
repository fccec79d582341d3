package stanza_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/wire"
	"github.com/parleyim/parley/stanza"
)

// TestKeptBodyKeepsItsStanzaOnly: a message decoded from a stream shares
// the bytes of its stanza (one string per stanza, copied out of the read
// buffer), so a body an application keeps costs at most its own stanza,
// never the reader's 4 KiB buffer nor the stanzas around it. Here each
// stanza is about 110 bytes, and the input is read through the buffer
// forty stanzas at a time.
func TestKeptBodyKeepsItsStanzaOnly(t *testing.T) {
	const n = 4000
	var b strings.Builder
	b.WriteString(string(wire.AppendHeader(nil, wire.Header{From: "example.test"})))
	for i := range n {
		fmt.Fprintf(&b, "<message from='a@example.test/r' id='m%d' type='chat'><body>hello %d</body></message>", i, i)
	}
	in := b.String()
	perStanza := float64(len(in)) / n
	before := heapInUse()
	rd := wire.NewReader(strings.NewReader(in), wire.Limits{})
	if _, err := rd.ReadHeader(); err != nil {
		t.Fatal(err)
	}
	bodies := make([]string, 0, n)
	for range n {
		name, err := rd.NextName()
		if err != nil {
			t.Fatal(err)
		}
		_ = name
		st, err := stanza.Decoder{}.Decode(rd, rd.Start())
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, st.(*stanza.Message).Body)
	}
	rd = nil
	after := heapInUse()
	runtime.KeepAlive(in)
	per := (float64(after) - float64(before) - float64(cap(bodies)*16)) / n
	t.Logf("%.0f B kept per body (stanzas of %.0f B)", per, perStanza)
	if per > 2*perStanza {
		t.Errorf("%.0f B kept per body, more than its stanza (%.0f B): something larger is kept", per, perStanza)
	}
	// And each is still what it was: none points into a buffer that
	// was read into again.
	for i, body := range bodies {
		if want := fmt.Sprintf("hello %d", i); body != want {
			t.Fatalf("body %d is %q, want %q", i, body, want)
		}
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

package bench

import (
	"github.com/parleyim/parley/im"
	"github.com/parleyim/parley/stanza"
	"testing"
)

// TestDecodersAgree checks that every decoder sees the same stanzas: the
// floor the same count and kinds, the libraries the same ids, addresses
// and bodies as Parley.
func TestDecodersAgree(t *testing.T) {
	data, n := corpus(corpusSeed, 300)
	var want []item
	for _, d := range decoders {
		got, err := projection(d, data)
		if err != nil {
			t.Fatalf("%s: %v", d.name, err)
		}
		if len(got) != n {
			t.Fatalf("%s: %d stanzas, want %d", d.name, len(got), n)
		}
		if want == nil {
			want = got
			continue
		}
		for i := range got {
			w := want[i]
			if d.name == floorName {
				w = item{Kind: w.Kind}
			}
			if got[i] != w {
				t.Fatalf("%s: stanza %d is %+v, parley's %+v", d.name, i, got[i], w)
			}
		}
	}
	kinds := map[string]int{}
	for _, it := range want {
		kinds[it.Kind]++
	}
	if kinds["message"] < n/2 || kinds["presence"] < n/10 || kinds["iq"] < n/20 {
		t.Errorf("corpus mix %v", kinds)
	}
}

// TestEncodersAgree checks that every encoder writes a chat message that
// Parley reads back with the same addressee, body and thread.
func TestEncodersAgree(t *testing.T) {
	for _, e := range encoders {
		enc := e.new()
		for range 2 { // the second time with the reused buffer
			out, err := enc()
			if err != nil {
				t.Fatalf("%s: %v", e.name, err)
			}
			data := append([]byte(streamHeader), out...)
			data = append(data, "</stream:stream>"...)
			var got []*im.Message
			if err := decodeParley(data, func(v any) { got = append(got, v.(*im.Message)) }); err != nil {
				t.Fatalf("%s: %v\n%s", e.name, err, out)
			}
			if len(got) != 1 {
				t.Fatalf("%s: %d stanzas", e.name, len(got))
			}
			m := got[0]
			if m.To.String() != encTo || m.Body != encBody || m.Thread.ID != encThread || m.Type != stanza.MessageChat {
				t.Errorf("%s: wrote %s", e.name, out)
			}
			if e.name != "go-xmpp" && (m.ID != encID || !m.ReceiptRequest || m.ChatState != im.Active) {
				t.Errorf("%s: wrote %s", e.name, out)
			}
		}
	}
}

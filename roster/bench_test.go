package roster

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

const benchItems = 5000

// benchRoster returns a roster result with n items, each with a name, a
// subscription and two groups, as a server sends it.
func benchRoster(n int) string {
	var b strings.Builder
	b.WriteString("<query xmlns='jabber:iq:roster' ver='b1'>")
	for i := range n {
		fmt.Fprintf(&b, "<item jid='contact%05d@example.net' name='Contact %d' subscription='both'><group>Group %d</group><group>All</group></item>", i, i, i%50)
	}
	b.WriteString("</query>")
	return b.String()
}

// BenchmarkParseQuery decodes a 5,000-item roster result from its Raw
// (as the session hands it over); ns/item is per item, and allocs/op over
// 5,000 is allocs per item. The baseline only tokenises the same bytes
// with encoding/xml, which ParseQuery uses: the ratio of the two is what
// ParseQuery adds.
func BenchmarkParseQuery(b *testing.B) {
	raw, err := stanza.ParseRaw([]byte(benchRoster(benchItems)))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("ParseQuery", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			q, err := ParseQuery(raw)
			if err != nil || len(q.Items) != benchItems {
				b.Fatal(err)
			}
		}
		reportPerItem(b, benchItems)
	})
	b.Run("baseline-tokens", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d := xml.NewDecoder(strings.NewReader(raw.String()))
			for {
				if _, err := d.Token(); err == io.EOF {
					break
				} else if err != nil {
					b.Fatal(err)
				}
			}
		}
		reportPerItem(b, benchItems)
	})
}

// BenchmarkFetchResult is ParseQuery plus what Fetch does with the result:
// the checks and the replacement of a cache's items.
func BenchmarkFetchResult(b *testing.B) {
	raw, err := stanza.ParseRaw([]byte(benchRoster(benchItems)))
	if err != nil {
		b.Fatal(err)
	}
	c := NewCache()
	account := jid.MustParse("juliet@example.com")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		q, err := ParseQuery(raw)
		if err != nil {
			b.Fatal(err)
		}
		_, _, mark := c.beginFetch()
		if err := c.fetched(mark, account, q); err != nil {
			b.Fatal(err)
		}
		c.endFetch()
	}
	reportPerItem(b, benchItems)
}

func reportPerItem(b *testing.B, n int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/item")
}

// BenchmarkPush applies a push (an update of an existing item, as a
// rename) to a 5,000-item cache, with and without a watcher.
func BenchmarkPush(b *testing.B) {
	for _, watched := range []bool{false, true} {
		b.Run(fmt.Sprintf("watched=%v", watched), func(b *testing.B) {
			raw, err := stanza.ParseRaw([]byte(benchRoster(benchItems)))
			if err != nil {
				b.Fatal(err)
			}
			q, err := ParseQuery(raw)
			if err != nil {
				b.Fatal(err)
			}
			c := NewCache()
			if err := c.replace(jid.MustParse("juliet@example.com"), "b1", q.Items); err != nil {
				b.Fatal(err)
			}
			if watched {
				w := c.Watch()
				defer w.Stop()
			}
			items := [2]Item{q.Items[2500], q.Items[2500].Clone()}
			items[1].Name = "Renamed"
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				if _, err := c.push(items[i&1], "b2"); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

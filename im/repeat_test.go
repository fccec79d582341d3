package im

import (
	"runtime"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

// The memory of origin-ids holds the last RecentOrigins: the oldest is
// forgotten when one more comes, the others are still known.
func TestRecentOriginsBounded(t *testing.T) {
	var r recentOrigins
	from := jid.MustParse("romeo@example.net/orchard")
	m := &stanza.Message{Header: stanza.Header{From: from}, Type: stanza.MessageChat}
	id := func(i int) OriginID { return OriginID("o" + strconv.Itoa(i)) }

	assert.False(t, r.repeated(m, id(0)))
	assert.True(t, r.repeated(m, id(0)))
	for i := 1; i < RecentOrigins; i++ {
		assert.False(t, r.repeated(m, id(i)), "id %d", i)
	}
	assert.True(t, r.repeated(m, id(0)), "the first is still among the last RecentOrigins")
	assert.False(t, r.repeated(m, id(RecentOrigins)), "one more")
	assert.Len(t, r.ring, RecentOrigins)
	assert.Len(t, r.set, RecentOrigins)
	assert.True(t, r.repeated(m, id(1)), "the second is kept")
	assert.False(t, r.repeated(m, id(0)), "the first was forgotten, so it counts as new")

	// Neither a message without a sender nor one without an origin-id is
	// remembered.
	anon := &stanza.Message{Type: stanza.MessageChat}
	assert.False(t, r.repeated(anon, "x"))
	assert.False(t, r.repeated(anon, "x"))
	assert.False(t, r.repeated(m, ""))
	assert.False(t, r.repeated(m, ""))
}

// The sender and the id are kept apart in the key: a resource ending in
// what an id begins with is not the same pair.
func TestOriginKeySeparates(t *testing.T) {
	var r recentOrigins
	a := &stanza.Message{Header: stanza.Header{From: jid.MustParse("romeo@example.net/ab")}, Type: stanza.MessageChat}
	b := &stanza.Message{Header: stanza.Header{From: jid.MustParse("romeo@example.net/a")}, Type: stanza.MessageChat}
	assert.False(t, r.repeated(a, "c"))
	assert.False(t, r.repeated(b, "bc"))
}

// BenchmarkRepeatCheck is the cost the repeat rule adds to each received
// message with an origin-id, with the memory full (every call evicts the
// oldest), beside Parse of a received chat message for scale.
func BenchmarkRepeatCheck(b *testing.B) {
	from := jid.MustParse("romeo@example.net/orchard")
	ids := make([]OriginID, 4*RecentOrigins)
	for i := range ids {
		ids[i] = OriginID(stanza.NewID())
	}
	m := mustDecode(b, "<message from='romeo@example.net/orchard' to='juliet@example.com/balcony' type='chat' id='m1'>"+
		"<body>hello</body><active xmlns='http://jabber.org/protocol/chatstates'/>"+
		"<request xmlns='urn:xmpp:receipts'/><origin-id xmlns='urn:xmpp:sid:0' id='m1'/></message>")
	if m.From != from {
		b.Fatal("not from romeo")
	}
	b.Run("repeated", func(b *testing.B) {
		var r recentOrigins
		for _, id := range ids[:RecentOrigins] {
			r.repeated(m, id)
		}
		b.ReportAllocs()
		i := RecentOrigins // each id last came 3*RecentOrigins calls ago
		for b.Loop() {
			if r.repeated(m, ids[i%len(ids)]) {
				b.Fatal("a new id taken for a repeat")
			}
			i++
		}
	})
	b.Run("memory", func(b *testing.B) {
		// What a full memory holds, after churn: heap in use per
		// recentOrigins, as B/full.
		for b.Loop() {
			rs := make([]*recentOrigins, 8)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for j := range rs {
				rs[j] = new(recentOrigins)
				for _, id := range ids {
					rs[j].repeated(m, id)
				}
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(len(rs)), "B/full")
			runtime.KeepAlive(rs)
		}
	})
	b.Run("Parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Parse(m); err != nil {
				b.Fatal(err)
			}
		}
	})
}

package im

import (
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

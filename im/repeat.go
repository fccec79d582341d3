package im

import (
	"hash/maphash"
	"sync"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

// RecentOrigins is how many received origin-ids (XEP-0359) a Manager
// remembers to recognise a message that arrives a second time.
//
// A message can arrive twice with nothing wrong at either client: a
// sender whose stream was resumed (XEP-0198) sends again what the server
// had not acknowledged, and a server that had in fact routed some of it
// (ejabberd, whose old connection goes on routing what it had read after
// it handed the session over) delivers those twice. Stream management
// cannot tell; the origin-id can, since XEP-0359 makes it unique per
// message and Send gives every message one.
const RecentOrigins = 1024

// recentOrigins is a Manager's memory of the last RecentOrigins messages
// that came with an origin-id: a hash of sender and id each, in a ring
// and a set. The hash is seeded per Manager, so a sender cannot make its
// message collide with another's on purpose; by chance, with 64 bits and
// a thousand entries, one in about 10^16 messages would be taken for a
// repeat.
type recentOrigins struct {
	mu   sync.Mutex
	seed maphash.Seed
	ring []uint64 // grows up to RecentOrigins, then wraps at next
	next int
	set  map[uint64]struct{}
}

// repeated reports whether msg, whose origin-id is id, came before from
// the same sender (the full JID the server stamped), and remembers it
// otherwise. Only chat, normal and headline messages with a sender and
// an origin-id count: errors answer our own messages, and a room's
// groupchat messages come again by design (history on joining).
func (r *recentOrigins) repeated(msg *stanza.Message, id OriginID) bool {
	if id == "" || msg.From.IsZero() {
		return false
	}
	switch msg.Type {
	case "", stanza.MessageNormal, stanza.MessageChat, stanza.MessageHeadline:
	default:
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.set == nil {
		r.seed = maphash.MakeSeed()
		r.set = make(map[uint64]struct{})
	}
	k := originKey(r.seed, msg.From, id)
	if _, ok := r.set[k]; ok {
		return true
	}
	if len(r.ring) < RecentOrigins {
		r.ring = append(r.ring, k)
	} else {
		delete(r.set, r.ring[r.next])
		r.ring[r.next] = k
		r.next = (r.next + 1) % RecentOrigins
	}
	r.set[k] = struct{}{}
	return false
}

// originKey hashes a sender and an origin-id. The separator cannot occur
// in a JID, so no two pairs write the same bytes.
func originKey(seed maphash.Seed, from jid.JID, id OriginID) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	h.WriteString(from.String())
	h.WriteByte(0)
	h.WriteString(string(id))
	return h.Sum64()
}

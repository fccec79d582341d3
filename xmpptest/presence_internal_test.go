package xmpptest

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

// Subscription requests kept for an account are bounded: past
// maxPendingIn, a request from a new JID is dropped, one already kept
// stays, and answering one makes room.
func TestPendingRequestsBounded(t *testing.T) {
	srv := NewServer(t, nil)
	bob, err := srv.AddUser("bob", "pw")
	require.NoError(t, err)
	request := func(i int) *stanza.Presence {
		from := jid.MustParse(fmt.Sprintf("user%d@elsewhere.test", i))
		return &stanza.Presence{Header: stanza.Header{From: from, To: bob}, Type: stanza.PresenceSubscribe}
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	k := srv.accounts["bob"]
	o := &outbox{s: srv}
	for i := range maxPendingIn + 10 {
		srv.inbound(o, k, request(i))
	}
	require.Len(t, k.pendingIn, maxPendingIn)
	assert.Contains(t, k.pendingIn, jid.MustParse("user0@elsewhere.test"))
	assert.NotContains(t, k.pendingIn, jid.MustParse(fmt.Sprintf("user%d@elsewhere.test", maxPendingIn)))

	srv.inbound(o, k, request(0)) // kept already: nothing changes
	assert.Len(t, k.pendingIn, maxPendingIn)

	o.sender = nil
	srv.outbound(o, k, &stanza.Presence{Header: stanza.Header{From: bob, To: jid.MustParse("user0@elsewhere.test")}, Type: stanza.PresenceUnsubscribed})
	srv.inbound(o, k, request(maxPendingIn))
	assert.Contains(t, k.pendingIn, jid.MustParse(fmt.Sprintf("user%d@elsewhere.test", maxPendingIn)), "a denial makes room")
	assert.Empty(t, o.conns, "bob has no resource to send anything to")
}

//go:build interop

package interop_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/testkit/faultproxy"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// Stream management (XEP-0198) against the real servers (Prosody's
// mod_smacks, ejabberd's mod_stream_mgmt): alice's connection goes
// through a loopback proxy the test cuts in the middle of an exchange of
// numbered messages in both directions with bob; her session must resume
// it by itself, and every message must arrive once, in order.

// inbox collects the numbered chat messages a session receives.
type inbox struct {
	mu   sync.Mutex
	nums []int
	ch   chan struct{} // a message arrived
}

func newInbox(mux *session.Mux) *inbox {
	in := &inbox{ch: make(chan struct{}, 1)}
	mux.HandleMessageFunc(session.MessageTypes(stanza.MessageChat), func(ctx context.Context, s *session.Session, m *stanza.Message) {
		n, err := strconv.Atoi(strings.TrimPrefix(m.Body, "n"))
		if err != nil {
			return
		}
		in.mu.Lock()
		in.nums = append(in.nums, n)
		in.mu.Unlock()
		select {
		case in.ch <- struct{}{}:
		default:
		}
	})
	return in
}

// wait waits until n messages have arrived (or more: then the check
// fails on duplicates).
func (in *inbox) wait(t *testing.T, n int) []int {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		in.mu.Lock()
		got := append([]int(nil), in.nums...)
		in.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-in.ch:
		case <-deadline:
			t.Fatalf("%d of %d messages arrived", len(got), n)
		}
	}
}

// checkSequence fails unless got is 0…n-1 in order, or, unless ordered,
// in any order (each once).
func checkSequence(t *testing.T, who string, got []int, n int, ordered bool) {
	t.Helper()
	if !ordered {
		moved := 0
		for i, v := range got {
			if v != i {
				moved++
			}
		}
		if moved > 0 {
			t.Logf("%s: %d of %d messages out of order (the server's order)", who, moved, len(got))
		}
		got = slices.Sorted(slices.Values(got))
	}
	want := make([]int, n)
	for i := range want {
		want[i] = i
	}
	if !assert.Equal(t, want, got, "%s's messages: each once, in order", who) {
		seen := map[int]int{}
		for _, v := range got {
			seen[v]++
		}
		var dup, lost []int
		for i := 0; i < n; i++ {
			if seen[i] > 1 {
				dup = append(dup, i)
			}
			if seen[i] == 0 {
				lost = append(lost, i)
			}
		}
		t.Logf("%s: duplicated %v, lost %v", who, dup, lost)
	}
}

// testSMResume cuts alice's connection while bob floods her with
// numbered messages; how says where. Before the cut alice sends the first
// half of her own numbers to bob and waits until the server has
// acknowledged them; right after it she sends the second half, which her
// session queues while it is down and sends once resumed.
//
// Her outbound direction is thus at a stanza boundary when the cut comes,
// on purpose: both servers mishandle a client whose connection dies in
// the middle of a stanza it was sending — Prosody 0.12.3's mod_smacks
// feeds the resumed connection into the dead one's XML parser (mod_c2s's
// data closure is not replaced), which ends the stream with
// not-well-formed; ejabberd 23.01 answered <resumed/> with an h below
// what it had already routed, so the stanzas in between were delivered
// twice. Neither is something a client can mend: resumption is only as
// exact as the server's h.
func testSMResume(cut func(c *faultproxy.Conn)) func(t *testing.T, e *env, want behaviour) {
	return func(t *testing.T, e *env, want behaviour) {
		const n = 300
		srv := e.servers[hashed]
		proxy := faultproxy.New(t, srv.Addr)

		aliceMux, bobMux := session.NewMux(), session.NewMux()
		aliceIn, bobIn := newInbox(aliceMux), newInbox(bobMux)
		alice, _, err := e.dial(t, dialSpec{user: "alice", tune: func(c *session.Config) {
			c.Addr, c.Mux, c.AckEvery = proxy.Addr(), aliceMux, 5
		}})
		require.NoError(t, err)
		bob, _, err := e.dial(t, dialSpec{user: "bob", tune: func(c *session.Config) { c.Mux = bobMux }})
		require.NoError(t, err)
		require.True(t, alice.Features().StreamManagement)

		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		first, err := proxy.Next(ctx)
		require.NoError(t, err)

		numbered := func(to jid.JID, i int) *stanza.Message {
			return &stanza.Message{Header: stanza.Header{To: to}, Type: stanza.MessageChat, Body: fmt.Sprintf("n%d", i)}
		}
		for i := 0; i < n/2-1; i++ {
			require.NoError(t, alice.Send(ctx, numbered(bob.Addr(), i)))
		}
		require.NoError(t, alice.SendAcked(ctx, numbered(bob.Addr(), n/2-1)))

		flood := make(chan error, 1)
		go func() {
			for i := 0; i < n; i++ {
				if err := bob.Send(ctx, numbered(alice.Addr(), i)); err != nil {
					flood <- err
					return
				}
			}
			flood <- nil
		}()
		aliceIn.wait(t, n/6)
		cut(first)
		// Her sending starts once the link is gone, so that the server
		// never sees half a stanza from her (see above).
		select {
		case <-first.Done():
		case <-ctx.Done():
			t.Fatal("the proxy did not cut the connection")
		}
		for i := n / 2; i < n; i++ {
			require.NoError(t, alice.Send(ctx, numbered(bob.Addr(), i)))
		}
		require.NoError(t, <-flood)

		checkSequence(t, "bob", bobIn.wait(t, n), n, true)
		checkSequence(t, "alice", aliceIn.wait(t, n), n, want.smResendInOrder)
		// Nothing more may come: a ping on each stream, then a last
		// look finds the counts unchanged.
		require.NoError(t, ping(t, alice))
		require.NoError(t, ping(t, bob))
		assert.Len(t, aliceIn.wait(t, n), n)
		assert.Len(t, bobIn.wait(t, n), n)

		require.NoError(t, alice.Err())
		st := alice.Stats()
		assert.Equal(t, 1, st.Resumed, "one cut, one resumption")
		second, err := proxy.Next(ctx)
		require.NoError(t, err, "alice dialled again")
		assert.NotSame(t, first, second)
		t.Logf("alice: %+v", st)
	}
}

package xmpptest_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
	"github.com/parleyim/parley/xmpptest"
)

// Parley's sessions against xmpptest's stream management, with the
// connections cut at seeded random points (CutAt) while two accounts
// exchange numbered messages in both directions. The short run is part
// of the tests; -smcuts.long runs 10,000 messages each way.

var smCutsLong = flag.Bool("smcuts.long", false, "exchange 10,000 messages each way in TestSessionsResumeUnderCuts")

// cutClient is one side of the exchange: its session, what it received
// and the cuts armed on its connection.
type cutClient struct {
	name string
	s    *session.Session
	full jid.JID

	mu      sync.Mutex
	got     []int
	resumed int           // start hooks run with resumed=true
	arrived chan struct{} // closed and replaced at each arrival
	// onResume runs in the start hook of each resumption, before any
	// stanza of the resumed stream reaches a handler.
	onResume func()
}

func newCutClient(t *testing.T, srv *xmpptest.Server, name string) *cutClient {
	_, err := srv.AddUser(name, "secret")
	require.NoError(t, err)
	return loginCut(t, srv, name)
}

// loginCut logs the account name in, with the resource name.
func loginCut(t *testing.T, srv *xmpptest.Server, name string) *cutClient {
	c := &cutClient{name: name, arrived: make(chan struct{})}
	addr, err := jid.New(name, srv.Domain().Domainpart(), "")
	require.NoError(t, err)
	mux := session.NewMux()
	mux.HandleMessageFunc(session.MessageTypes(stanza.MessageChat), func(ctx context.Context, s *session.Session, m *stanza.Message) {
		k, err := strconv.Atoi(strings.TrimPrefix(m.Body, "n"))
		if err != nil {
			return
		}
		c.mu.Lock()
		c.got = append(c.got, k)
		close(c.arrived)
		c.arrived = make(chan struct{})
		c.mu.Unlock()
	})
	mux.HandleStart(func(ctx context.Context, s *session.Session, resumed bool) {
		if resumed {
			c.mu.Lock()
			c.resumed++
			f := c.onResume
			c.mu.Unlock()
			if f != nil {
				f()
			}
		}
	})
	full, err := addr.WithResource(name)
	require.NoError(t, err)
	c.s, err = srv.Connect(context.Background(), full, "secret", &session.Config{Mux: mux, AckEvery: 16, KeepAlive: -1})
	require.NoError(t, err)
	c.full = c.s.Addr()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.s.Close(ctx)
	})
	return c
}

// received returns a copy of what arrived.
func (c *cutClient) received() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int(nil), c.got...)
}

// count returns how many messages arrived, and a channel closed at the
// next arrival.
func (c *cutClient) count() (int, chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.got), c.arrived
}

// waitFor waits until n messages have arrived.
func (c *cutClient) waitFor(t *testing.T, n int) []int {
	t.Helper()
	deadline := time.After(120 * time.Second)
	for {
		k, next := c.count()
		if k >= n {
			return c.received()
		}
		select {
		case <-next:
		case <-deadline:
			t.Fatalf("%s: %d of %d messages arrived (resumed %d times, err %v)", c.name, k, n, c.s.Stats().Resumed, c.s.Err())
		}
	}
}

func TestSessionsResumeUnderCuts(t *testing.T) {
	n, cuts := 1000, 10
	if *smCutsLong {
		n, cuts = 10000, 100
	}
	seed := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv("SMCUT_SEED"), 10, 64); err == nil {
		seed = v
	}
	t.Logf("seed %d (SMCUT_SEED to run it again), %d messages each way, %d cuts per connection", seed, n, cuts)
	rng := rand.New(rand.NewPCG(seed, 2))
	var rmu sync.Mutex
	intn := func(k int) int { rmu.Lock(); defer rmu.Unlock(); return rng.IntN(k) }

	srv := xmpptest.NewServer(t, nil)
	alice, bob := newCutClient(t, srv, "alice"), newCutClient(t, srv, "bob")
	start := time.Now()

	// Each client's connection gets one cut at a time, at a random point
	// among the next stanzas either way, armed again once it has resumed.
	// The spacing keeps cuts all along the exchange.
	gap := max(n/cuts/2, 2)
	armed := func(c *cutClient) int {
		var point xmpptest.CutPoint
		switch intn(5) {
		case 0:
			point = xmpptest.CutBeforeWrite
		case 1:
			point = xmpptest.CutAfterWrite
		case 2:
			point = xmpptest.CutMidWrite
		case 3:
			point = xmpptest.CutBeforeHandle
		default:
			point = xmpptest.CutAfterHandle
		}
		if err := srv.CutAt(c.full, 1+intn(gap), point); err != nil {
			// The resource may be between connections: the cut is
			// armed on it all the same (CutAt's rule), so this is a
			// real failure.
			t.Errorf("%s: CutAt: %v", c.name, err)
		}
		return 1
	}
	// The next cut is armed in the start hook of the resumption, which
	// holds the resumed stream's stanzas back from the handlers, so the
	// exchange cannot run far ahead of it (armed from another goroutine
	// woken by the hook, it could, on a busy machine, and the cuts then
	// did not come round before the exchange ended).
	armedCount := map[string]int{}
	var amu sync.Mutex
	for _, c := range []*cutClient{alice, bob} {
		amu.Lock()
		armedCount[c.name] += armed(c)
		amu.Unlock()
		c.mu.Lock()
		c.onResume = func() {
			amu.Lock()
			defer amu.Unlock()
			if armedCount[c.name] < cuts {
				armedCount[c.name] += armed(c)
			}
		}
		c.mu.Unlock()
	}
	var wg sync.WaitGroup

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// A sender keeps at most window messages ahead of what its peer
	// received, so that the exchange lasts long enough for every cut to
	// come round (a free-running sender queues thousands while one
	// resumption runs). It sends n messages, and then goes on until
	// both clients have resumed cuts-1 times, up to 20n: a cut counts
	// the stanzas of one direction, and one direction can stand still
	// behind the other's resumptions while the other runs on, so n
	// messages alone did not always bring the cuts round on a busy
	// machine.
	const window = 20
	cutsRound := func() bool {
		for _, c := range []*cutClient{alice, bob} {
			c.mu.Lock()
			r := c.resumed
			c.mu.Unlock()
			if r < cuts-1 {
				return false
			}
		}
		return true
	}
	sent := map[string]int{} // by receiver, once the senders are done
	var smu sync.Mutex
	send := func(from, to *cutClient) {
		defer wg.Done()
		i := 0
		defer func() {
			smu.Lock()
			sent[to.name] = i
			smu.Unlock()
		}()
		for ; i < n || (i < 20*n && !cutsRound()); i++ {
			for {
				k, next := to.count()
				if i-k < window {
					break
				}
				select {
				case <-next:
				case <-ctx.Done():
					t.Errorf("%s: %d messages ahead of %s for too long", from.name, i-k, to.name)
					return
				}
			}
			m := &stanza.Message{Header: stanza.Header{To: to.full}, Type: stanza.MessageChat, Body: fmt.Sprintf("n%d", i)}
			if err := from.s.Send(ctx, m); err != nil {
				t.Errorf("%s: send %d: %v", from.name, i, err)
				return
			}
		}
	}
	wg.Add(2)
	go send(alice, bob)
	go send(bob, alice)
	wg.Wait()

	for _, c := range []*cutClient{alice, bob} {
		checkOrder(t, c.name, c.waitFor(t, sent[c.name]), sent[c.name])
	}

	for _, c := range []*cutClient{alice, bob} {
		// Everything sent is acknowledged, so the server's h and the
		// client's count agree; nothing more arrives after a round
		// trip; the session never ended, so every cut was resumed, not
		// replaced by a new login.
		sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
		require.NoError(t, c.s.SendAcked(sctx, &stanza.Message{Header: stanza.Header{To: c.full}, Type: stanza.MessageNormal}))
		scancel()
		st := c.s.Stats()
		assert.Equal(t, st.Sent, st.Acked, "%s: every stanza sent is acknowledged", c.name)
		assert.Zero(t, st.Unacked, c.name)
		assert.Len(t, c.received(), sent[c.name], "%s: nothing more arrived", c.name)
		require.NoError(t, c.s.Err(), c.name)
		c.mu.Lock()
		hooks := c.resumed
		c.mu.Unlock()
		assert.Equal(t, st.Resumed, hooks, "%s: a start hook with resumed=true for each resumption", c.name)
		amu.Lock()
		fired := armedCount[c.name] - 1 // the last one armed may not have fired
		amu.Unlock()
		assert.GreaterOrEqual(t, st.Resumed, fired, "%s: each cut that fired was resumed", c.name)
		assert.GreaterOrEqual(t, st.Resumed, cuts-1, "%s: the cuts came round", c.name)
		t.Logf("%s: %d cuts armed, %d resumptions, %+v", c.name, fired+1, st.Resumed, st)
	}
	t.Logf("%d and %d messages in %v", sent[alice.name], sent[bob.name], time.Since(start).Round(time.Millisecond))
}

// checkOrder fails unless got is 0…n-1, each once, in order.
func checkOrder(t *testing.T, who string, got []int, n int) {
	t.Helper()
	if len(got) == n {
		ok := true
		for i, v := range got {
			if v != i {
				ok = false
				break
			}
		}
		if ok {
			return
		}
	}
	seen := make(map[int]int, n)
	for _, v := range got {
		seen[v]++
	}
	var dup, lost []int
	for i := range n {
		switch {
		case seen[i] > 1:
			dup = append(dup, i)
		case seen[i] == 0:
			lost = append(lost, i)
		}
	}
	t.Errorf("%s: %d messages, duplicated %v, lost %v, first out of order at %d", who, len(got), dup, lost, firstOutOfOrder(got))
}

func firstOutOfOrder(got []int) int {
	for i, v := range got {
		if v != i {
			return i
		}
	}
	return -1
}

// TestSessionsResumptionRefused: the server keeps no session after a
// break (a resume timeout of 1 ns), so alice's cut session cannot resume
// and ends with an *UnackedError. Then every message either arrived or is
// known to its sender's application — handed back in the error, or
// refused by Send — and none vanished: bob's messages to her (stored
// offline while she was gone) reach her next session.
func TestSessionsResumptionRefused(t *testing.T) {
	const n = 300
	seed := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv("SMCUT_SEED"), 10, 64); err == nil {
		seed = v
	}
	rng := rand.New(rand.NewPCG(seed, 3))
	point := []xmpptest.CutPoint{xmpptest.CutBeforeWrite, xmpptest.CutAfterWrite, xmpptest.CutMidWrite,
		xmpptest.CutBeforeHandle, xmpptest.CutAfterHandle}[rng.IntN(5)]
	at := 1 + rng.IntN(n/2)
	t.Logf("seed %d (SMCUT_SEED): alice's connection is cut at stanza %d, cut point %d", seed, at, point)

	srv := xmpptest.NewServer(t, &xmpptest.Config{ResumeTimeout: time.Nanosecond})
	alice, bob := newCutClient(t, srv, "alice"), newCutClient(t, srv, "bob")
	require.NoError(t, srv.CutAt(alice.full, at, point))

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	refused := map[int]bool{} // alice's messages that Send refused
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range n {
			m := &stanza.Message{Header: stanza.Header{To: bob.full}, Type: stanza.MessageChat, Body: fmt.Sprintf("n%d", i)}
			if err := alice.s.Send(ctx, m); err != nil {
				assert.ErrorIs(t, err, session.ErrClosed)
				refused[i] = true
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := range n {
			m := &stanza.Message{Header: stanza.Header{To: alice.full}, Type: stanza.MessageChat, Body: fmt.Sprintf("n%d", i)}
			assert.NoError(t, bob.s.Send(ctx, m))
		}
	}()
	wg.Wait()

	select {
	case <-alice.s.Done():
	case <-ctx.Done():
		t.Fatal("alice's session did not end")
	}
	require.ErrorIs(t, alice.s.Err(), session.ErrResumeRefused)
	// What was unacknowledged is handed back in an *UnackedError. When
	// the cut found nothing of hers unacknowledged (the server acked all
	// she had sent, and the cut fell on its own writes), there is none.
	handedBack := map[int]bool{}
	if ue := (*session.UnackedError)(nil); errors.As(alice.s.Err(), &ue) {
		require.NotEmpty(t, ue.Stanzas)
		for _, st := range ue.Stanzas {
			if m, ok := st.(*stanza.Message); ok {
				k, err := strconv.Atoi(strings.TrimPrefix(m.Body, "n"))
				require.NoError(t, err)
				handedBack[k] = true
			}
		}
	}

	// Alice's application logs in again and comes online: what bob sent
	// after her session was gone was stored and arrives now.
	again := loginCut(t, srv, "alice")
	// Acknowledged, the presence was handled (and the stored messages
	// queued for her) before bob's marker below is routed: two streams
	// are not ordered otherwise.
	require.NoError(t, again.s.SendAcked(ctx, &stanza.Presence{}))
	// A marker from bob, sent after everything, ends the wait.
	require.NoError(t, bob.s.SendAcked(ctx, &stanza.Message{Header: stanza.Header{To: again.full}, Type: stanza.MessageChat, Body: "n" + strconv.Itoa(n)}))
	for {
		k, next := again.count()
		if k > 0 && again.received()[k-1] == n {
			break
		}
		select {
		case <-next:
		case <-ctx.Done():
			t.Fatalf("bob's marker did not reach alice's new session (%d arrived)", k)
		}
	}
	// Bob's messages: each reached one of alice's sessions.
	toAlice := map[int]int{}
	for _, k := range append(alice.received(), again.received()...) {
		toAlice[k]++
	}
	for i := range n {
		assert.Positive(t, toAlice[i], "bob's message %d vanished", i)
	}
	// Alice's messages: each reached bob, or her application knows.
	bobGot := map[int]bool{}
	for _, k := range bob.received() {
		bobGot[k] = true
	}
	// A round trip on bob's stream after hers ended: anything of hers
	// the server handled has reached him.
	require.NoError(t, bob.s.SendAcked(ctx, &stanza.Message{Header: stanza.Header{To: bob.full}, Type: stanza.MessageNormal}))
	for _, k := range bob.received() {
		bobGot[k] = true
	}
	for i := range n {
		assert.True(t, bobGot[i] || handedBack[i] || refused[i], "alice's message %d vanished", i)
	}
	t.Logf("alice: %d of her messages reached bob, %d handed back, %d refused by Send; bob's: %d in her first session, %d in her second",
		len(bobGot), len(handedBack), len(refused), len(alice.received()), len(again.received())-1)
}

// TestInjectRawCounted: stanzas written with InjectRaw count for stream
// management as the client counts them, so its acknowledgements stay in
// step (an h above the server's count would end the stream), and they
// are written again after a resumption that did not cover them.
func TestInjectRawCounted(t *testing.T) {
	srv := xmpptest.NewServer(t, nil)
	alice := newCutClient(t, srv, "alice")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	two := fmt.Sprintf("<message to='%s' type='chat'><body>n0</body></message><message to='%[1]s' type='chat'><body>n1</body></message>", alice.full)
	require.NoError(t, srv.InjectRaw(alice.full, []byte(two)))
	// Inject asks for an ack: the client answers h=3, which the server
	// must count as right.
	require.NoError(t, srv.Inject(alice.full, &stanza.Message{Type: stanza.MessageChat, Body: "n2"}))
	alice.waitFor(t, 3)
	require.NoError(t, alice.s.SendAcked(ctx, &stanza.Message{Header: stanza.Header{To: alice.full}, Type: stanza.MessageChat, Body: "n3"}))
	checkOrder(t, "alice", alice.waitFor(t, 4), 4)
	require.NoError(t, alice.s.Err())

	// Injected while the connection is cut, they arrive once resumed.
	require.NoError(t, srv.CutAt(alice.full, 1, xmpptest.CutBeforeWrite))
	require.NoError(t, srv.Inject(alice.full, &stanza.Message{Type: stanza.MessageChat, Body: "n4"}))
	more := fmt.Sprintf("<message to='%s' type='chat'><body>n5</body></message>", alice.full)
	require.NoError(t, srv.InjectRaw(alice.full, []byte(more)))
	checkOrder(t, "alice", alice.waitFor(t, 6), 6)
	require.NoError(t, alice.s.Err())
	assert.Equal(t, 1, alice.s.Stats().Resumed)
}

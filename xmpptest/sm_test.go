package xmpptest_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/xmpptest"
)

// smFull is the full JID of resource res of case 0's account letter.
func smFull(t *testing.T, srv smServer, letter rune, res string) jid.JID {
	j, err := jid.New(caseUser("sm", 0, letter), srv.domain, res)
	require.NoError(t, err)
	return j
}

// TestCutAtWrite cuts a1's connection at the third stanza the server
// writes to it, in each of the three ways, and resumes: what a1 read
// before the cut and what the resumption resends are exact.
func TestCutAtWrite(t *testing.T) {
	for _, tt := range []struct {
		name   string
		at     xmpptest.CutPoint
		before []string // what a1 reads before the cut
		h      uint32
		resent []string
	}{
		{"before", xmpptest.CutBeforeWrite, []string{"1", "2"}, 2, []string{"3", "4", "5"}},
		{"after", xmpptest.CutAfterWrite, []string{"1", "2", "3"}, 3, []string{"4", "5"}},
		{"mid-stanza", xmpptest.CutMidWrite, []string{"1", "2"}, 2, []string{"3", "4", "5"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			x, srv := xmpptestSMServer(t, &xmpptest.Config{})
			r := newSMRun(t, srv, 0)
			a := r.login("a1")
			b := r.login("b1")
			a.send(enableResume)
			a.expect(1)
			require.NoError(t, x.CutAt(smFull(t, srv, 'a', "a1"), 3, tt.at))
			var sb strings.Builder
			for i := 1; i <= 5; i++ {
				fmt.Fprintf(&sb, "<message to='{a}/a1' id='m%d'><body>%d</body></message>", i, i)
			}
			b.send(sb.String())
			a.until("closed", 10*time.Second)
			assert.Equal(t, tt.h, a.handled())
			a2 := r.resume("a2", a.id(), a.handled())
			a2.expect(1 + len(tt.resent))
			want := []string{"a1: enabled resume max=300"}
			for _, m := range tt.before {
				want = append(want, fmt.Sprintf("a1: message from={b}/b1 %q", m))
			}
			want = append(want, "a1: closed", "a2: resumed h=0 previd")
			for _, m := range tt.resent {
				want = append(want, fmt.Sprintf("a2: message from={b}/b1 %q delay", m))
			}
			a2.quiet()
			assert.Equal(t, want, r.log)
		})
	}
}

// TestCutAtRead cuts a1's connection at the second stanza it sends,
// before or after the server handles it: the server's h in <resumed/>
// says which stanzas it handled, and b1 got exactly those.
func TestCutAtRead(t *testing.T) {
	for _, tt := range []struct {
		name string
		at   xmpptest.CutPoint
		h    string
		got  []string
	}{
		{"before handling", xmpptest.CutBeforeHandle, "1", []string{"1"}},
		{"after handling", xmpptest.CutAfterHandle, "2", []string{"1", "2"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			x, srv := xmpptestSMServer(t, &xmpptest.Config{})
			r := newSMRun(t, srv, 0)
			a := r.login("a1")
			b := r.login("b1")
			a.send(enableResume)
			a.expect(1)
			require.NoError(t, x.CutAt(smFull(t, srv, 'a', "a1"), 2, tt.at))
			a.send("<message to='{b}/b1' id='x1'><body>1</body></message><message to='{b}/b1' id='x2'><body>2</body></message><message to='{b}/b1' id='x3'><body>3</body></message>")
			a.until("closed", 10*time.Second)
			b.expect(len(tt.got))
			b.quiet()
			a2 := r.resume("a2", a.id(), 0)
			a2.expect(1)
			want := []string{"a1: enabled resume max=300", "a1: closed"}
			for _, m := range tt.got {
				want = append(want, fmt.Sprintf("b1: message from={a}/a1 %q", m))
			}
			want = append(want, "a2: resumed h="+tt.h+" previd")
			assert.Equal(t, want, r.log)
		})
	}
}

func TestCutAtErrors(t *testing.T) {
	x, srv := xmpptestSMServer(t, &xmpptest.Config{})
	full := smFull(t, srv, 'a', "a1")
	assert.ErrorIs(t, x.CutAt(full, 0, xmpptest.CutAfterWrite), xmpptest.ErrBadCut)
	assert.ErrorIs(t, x.CutAt(full, 1, xmpptest.CutPoint(99)), xmpptest.ErrBadCut)
	assert.ErrorIs(t, x.CutAt(full, 1, xmpptest.CutAfterWrite), xmpptest.ErrNotConnected)
	r := newSMRun(t, srv, 0)
	r.login("a1")
	assert.ErrorIs(t, x.CutAt(full.Bare(), 1, xmpptest.CutAfterWrite), xmpptest.ErrNotConnected)
	assert.NoError(t, x.CutAt(full, 1, xmpptest.CutAfterWrite))
}

// TestCutAtWithoutStreamManagement: a stanza cut before it is written
// is lost when the client has no stream management, and the resource
// is gone at once.
func TestCutAtWithoutStreamManagement(t *testing.T) {
	x, srv := xmpptestSMServer(t, &xmpptest.Config{})
	r := newSMRun(t, srv, 0)
	a := r.login("a1")
	b := r.login("b1")
	require.NoError(t, x.CutAt(smFull(t, srv, 'a', "a1"), 1, xmpptest.CutBeforeWrite))
	b.send("<message to='{a}/a1' id='m1' type='headline'><body>1</body></message>")
	a.until("closed", 10*time.Second)
	require.Eventually(t, func() bool { return len(x.Resources(smFull(t, srv, 'a', ""))) == 0 }, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, []string{"a1: closed"}, r.log)
}

// TestSMQueueLimit: a client that never acknowledges loses its stream
// with policy-violation when its queue is full, and cannot resume.
func TestSMQueueLimit(t *testing.T) {
	_, srv := xmpptestSMServer(t, &xmpptest.Config{})
	r := newSMRun(t, srv, 0)
	a := r.login("a1")
	b := r.login("b1")
	a.send(enableResume)
	a.expect(1)
	var sb strings.Builder
	for i := range 5001 {
		fmt.Fprintf(&sb, "<message to='{a}/a1' type='headline'><body>%d</body></message>", i)
	}
	go b.send(sb.String())
	n := 0
	for l := range a.lines {
		if strings.HasPrefix(l, "a1: message") {
			n++
			continue
		}
		r.note(l)
	}
	assert.Equal(t, 5000, n)
	a2 := r.resume("a2", a.id(), 0)
	a2.expect(1)
	assert.Equal(t, []string{"a1: enabled resume max=300", "a1: stream-error policy-violation", "a1: closed", "a2: failed item-not-found h=0"}, r.log)
	assert.Equal(t, 1, a.requests(), "one <r/> outstanding at a time")
}

// TestSMClose: Close ends a hibernating resource at once (goleak checks
// that its timer's wait is gone).
func TestSMClose(t *testing.T) {
	x, srv := xmpptestSMServer(t, &xmpptest.Config{})
	r := newSMRun(t, srv, 0)
	a := r.login("a1")
	a.send(enableResume)
	a.expect(1)
	a.cut()
	done := make(chan struct{})
	go func() { _ = x.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for the hibernation")
	}
}

// TestNoStreamManagement: no feature, and <enable/> is refused.
func TestNoStreamManagement(t *testing.T) {
	x := xmpptest.NewServer(t, &xmpptest.Config{NoStreamManagement: true, RecordTranscripts: true})
	alice, err := x.AddUser("alice", "pw-alice")
	require.NoError(t, err)
	c := dialRaw(t, x)
	c.login("alice")
	c.send(enableResume)
	se := c.streamError()
	assert.Equal(t, "unsupported-stanza-type", string(se.Condition))
	full, err := alice.WithResource("raw")
	require.NoError(t, err)
	tr := x.Transcript(full)
	require.Contains(t, tr, "<bind")
	assert.NotContains(t, tr, "<sm xmlns=")
}

// TestBadH: an h that is no uint32 ends the stream with bad-format, one
// above what was sent with undefined-condition.
func TestBadH(t *testing.T) {
	for _, tt := range []struct{ h, want string }{
		{"x", "bad-format"}, {"-1", "bad-format"}, {"4294967296", "bad-format"}, {"", "bad-format"}, {" 0", "bad-format"},
		{"1", "undefined-condition"}, {"4294967295", "undefined-condition"},
	} {
		t.Run(tt.h, func(t *testing.T) {
			x := xmpptest.NewServer(t, nil)
			_, err := x.AddUser("alice", "pw-alice")
			require.NoError(t, err)
			c := dialRaw(t, x)
			c.login("alice")
			c.send(enableResume)
			require.Equal(t, "enabled", c.next().Name().Local)
			c.send("<a xmlns='urn:xmpp:sm:3' h='" + tt.h + "'/>")
			assert.Equal(t, tt.want, string(c.streamError().Condition))
		})
	}
}

// TestCutAtRandom cuts a1's connection at seeded random stanzas, in the
// three ways a write can be cut, while b1 sends it 3000 messages; a1
// resumes after each cut with the h it has reached and acknowledges now
// and then. Every message must arrive exactly once, in order.
func TestCutAtRandom(t *testing.T) {
	const n = 3000
	seed := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv("SMCUT_SEED"), 10, 64); err == nil {
		seed = v // to run a failure again
	}
	t.Logf("seed %d (SMCUT_SEED)", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	x, srv := xmpptestSMServer(t, &xmpptest.Config{})
	r := newSMRun(t, srv, 0)
	a := r.login("a1")
	b := r.login("b1")
	a.send(enableResume)
	a.expect(1)
	full := smFull(t, srv, 'a', "a1")
	// b1 keeps one batch ahead of what a1 received, so that cuts fall
	// all along the exchange (resends included).
	more := make(chan struct{}, n/100)
	go func() {
		for i := 0; i < n; i += 100 {
			if i > 0 {
				select {
				case <-more:
				case <-time.After(60 * time.Second):
					return
				}
			}
			var sb strings.Builder
			for k := i; k < i+100; k++ {
				fmt.Fprintf(&sb, "<message to='{a}/a1' type='headline'><body>%d</body></message>", k)
			}
			if _, err := b.conn.Write([]byte(b.expand(sb.String()))); err != nil {
				return
			}
		}
	}()
	var got []int
	var base uint32 // h reached on earlier connections
	cuts := 0
	arm := func() {
		require.NoError(t, x.CutAt(full, 1+rng.IntN(200), xmpptest.CutPoint(rng.IntN(3))))
	}
	arm()
	id := a.id()
	deadline := time.After(60 * time.Second)
	for len(got) < n {
		select {
		case l := <-a.lines:
			switch {
			case strings.HasPrefix(l, a.name+": message"):
				q := l[strings.Index(l, "\"")+1:]
				q = q[:strings.Index(q, "\"")]
				k, err := strconv.Atoi(q)
				require.NoError(t, err, l)
				got = append(got, k)
				if len(got)%100 == 0 {
					more <- struct{}{}
				}
				if len(got)%50 == 0 {
					// The connection may be cut already: the
					// next resumption acknowledges instead.
					_, _ = a.conn.Write(fmt.Appendf(nil, "<a xmlns='urn:xmpp:sm:3' h='%d'/>", base+a.handled()))
				}
			case strings.HasSuffix(l, ": closed"):
				cuts++
				base += a.handled()
				arm() // while the resource hibernates: it may cut the resend
				a = r.resume(fmt.Sprintf("a%d", cuts+1), id, base)
				require.Equal(t, fmt.Sprintf("%s: resumed h=0 previd", a.name), <-a.lines)
			default:
				t.Fatalf("unexpected %q", l)
			}
		case <-deadline:
			t.Fatalf("%d messages after 60 s, %d cuts", len(got), cuts)
		}
	}
	t.Logf("%d cuts", cuts)
	assert.Greater(t, cuts, 5)
	for i, k := range got {
		if !assert.Equal(t, i, k, "message %d", i) {
			break
		}
	}
}

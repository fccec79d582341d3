// Package deadlink runs the test of a connection that dies: numbered
// messages go from a sender session to a receiver session on one server,
// each session through a loopback proxy of its own (faultproxy), while
// the test breaks one of the two links again and again, and then counts
// what the receiver got. A fault is a blackhole (the link silently stops
// carrying bytes both ways, and neither end sees an error: the sessions
// must notice by themselves, with stream management's ack timeout or the
// keepalive) or a cut (both ends see the connection close), on the
// receiver's link or on the sender's. Every fault must be resumed
// (XEP-0198), and no message lost, duplicated or reordered.
//
// Both ends use the im package, as an application would: the sender's
// Manager gives each message an origin-id, and the receiver's hands the
// application each message once, even when a server delivers one twice;
// the counts are of what the receiver's Manager handed on.
//
// The same run serves xmpptest (package xmpptest's tests) and the real
// servers (internal/testkit/interop): a Setup says how to log in to the
// server, Run does the rest and returns a Result.
package deadlink

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyim/parley/im"
	"github.com/parleyim/parley/internal/testkit/faultproxy"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// Fault is what happens to a link.
type Fault int

const (
	// BlackholeReceiver: the receiver's link stops carrying bytes both
	// ways, without closing; healed once the receiver dropped it.
	BlackholeReceiver Fault = iota
	// BlackholeSender: the same on the sender's link.
	BlackholeSender
	// CutReceiver: the receiver's link is closed at both ends.
	CutReceiver
	// CutSender: the same on the sender's link.
	CutSender
)

// Faults lists every fault kind.
var Faults = []Fault{BlackholeReceiver, BlackholeSender, CutReceiver, CutSender}

// String names the fault.
func (f Fault) String() string {
	switch f {
	case BlackholeReceiver:
		return "blackhole-receiver"
	case BlackholeSender:
		return "blackhole-sender"
	case CutReceiver:
		return "cut-receiver"
	case CutSender:
		return "cut-sender"
	}
	return "fault(" + strconv.Itoa(int(f)) + ")"
}

func (f Fault) onReceiver() bool { return f == BlackholeReceiver || f == CutReceiver }
func (f Fault) blackhole() bool  { return f == BlackholeReceiver || f == BlackholeSender }

// Setup says how to reach a server.
type Setup struct {
	// Addr is the server's TCP address; the proxies stand in front of it.
	Addr string
	// Dial logs the account user in at addr (a proxy's address) with
	// cfg, which it completes with the server's TLS configuration; the
	// test closes the session.
	Dial func(ctx context.Context, user, addr string, cfg *session.Config) (*session.Session, error)
	// Sender and Receiver are the two accounts.
	Sender, Receiver string
}

// Options shape a run.
type Options struct {
	// Messages is how many numbered messages the sender sends.
	Messages int
	// Faults is how many times the link is broken.
	Faults int
	// Interval is the pause between two messages, so that the exchange
	// lasts while the faults come.
	Interval time.Duration
	// Window is how far the sender may be ahead of what the receiver
	// got (zero: no bound), so that a server slower than the sender
	// does not fall ever further behind.
	Window int
	// Seed moves the points in the exchange where the faults come.
	Seed uint64
	// Config, when set, changes the sessions' configuration (after the
	// run's own settings: KeepAlive 1 s, KeepAliveTimeout 5 s; the ack
	// timeout keeps its default).
	Config func(*session.Config)
}

// Result is what the receiver got, and how the faults were handled.
type Result struct {
	Fault Fault
	// Lost, Duplicated and Reordered count messages at the receiver:
	// never received, received more than once, received after one with
	// a higher number.
	Lost, Duplicated, Reordered int
	// Resumed counts the resumptions of the faulted session, Other those
	// of the other one (0 when all is well).
	Resumed, Other int
	// Detection is, per fault, how long after it began the faulted
	// session dropped the connection, and Causes why.
	Detection []time.Duration
	Causes    []string
	// OtherCauses says why the other session dropped its link, if it
	// did.
	OtherCauses []string
	// Reorders shows where the order broke and what came twice (the
	// first few).
	Reorders []string
	// Repeats counts the messages the server delivered twice and the
	// receiver's im Manager dropped (not in Duplicated, which counts what
	// the application got).
	Repeats int
}

// Median returns the median detection time.
func (r Result) Median() time.Duration {
	if len(r.Detection) == 0 {
		return 0
	}
	d := slices.Sorted(slices.Values(r.Detection))
	if len(d)%2 == 1 {
		return d[len(d)/2]
	}
	return (d[len(d)/2-1] + d[len(d)/2]) / 2
}

// Max returns the longest detection time.
func (r Result) Max() time.Duration {
	if len(r.Detection) == 0 {
		return 0
	}
	return slices.Max(r.Detection)
}

// Row formats r as a line of a Markdown table: fault, lost, duplicated
// (repeats dropped by im), reordered, resumed (of faults), other resumed,
// detection median/max.
func (r Result) Row(faults int) string {
	return fmt.Sprintf("| %s | %d | %d (%d) | %d | %d/%d | %d | %v / %v |", r.Fault, r.Lost, r.Duplicated, r.Repeats, r.Reordered,
		r.Resumed, faults, r.Other, r.Median().Round(100*time.Microsecond), r.Max().Round(100*time.Microsecond))
}

// Header is the head of the table Row's lines make.
const Header = "| fault | lost | duplicated (dropped by im) | reordered | resumed | other resumed | detection median / max |\n|---|---|---|---|---|---|---|"

// Run sends o.Messages numbered messages from the sender to the receiver
// while the fault breaks the link o.Faults times, waits for every
// message, and counts. It fails t only when the run itself cannot go on
// (a login fails, a fault is never noticed, messages stop coming); the
// caller judges the Result.
func Run(t *testing.T, s Setup, fault Fault, o Options) Result {
	t.Helper()
	res := Result{Fault: fault}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	rng := rand.New(rand.NewPCG(o.Seed, uint64(fault)))

	recv := newEnd(t, s, o, s.Receiver, fault)
	send := newEnd(t, s, o, s.Sender, fault)
	in := newInbox()
	repeats := &repeatLog{}
	im.Handle(recv.mux, nil, &im.Options{IgnoreStanzaIDs: true, Logger: slog.New(repeats)}).HandleMessage(in.handle)
	sender := im.Handle(send.mux, nil, &im.Options{IgnoreStanzaIDs: true})
	recv.dial(ctx, t)
	send.dial(ctx, t)
	target, other := send, recv
	if fault.onReceiver() {
		target, other = recv, send
	}

	sent := make(chan error, 1)
	go func() {
		to := recv.s.Addr()
		for i := range o.Messages {
			if o.Window > 0 {
				if err := in.waitDistinct(ctx, i-o.Window+1); err != nil {
					sent <- fmt.Errorf("waiting to send %d: %w", i, err)
					return
				}
			}
			m := &stanza.Message{Header: stanza.Header{To: to}, Type: stanza.MessageChat, Body: "n" + strconv.Itoa(i)}
			if _, err := sender.Send(ctx, send.s, m); err != nil {
				sent <- fmt.Errorf("sending %d: %w", i, err)
				return
			}
			time.Sleep(o.Interval) // pacing, so that the faults fall within the exchange
		}
		sent <- nil
	}()

	span := o.Messages / (o.Faults + 1)
	for k := 1; k <= o.Faults; k++ {
		at := k*span + rng.IntN(span/2+1) - span/4
		if err := in.waitDistinct(ctx, at); err != nil {
			t.Fatalf("deadlink: %v: waiting for message %d before fault %d: %v (%d arrived)", fault, at, k, err, in.distinct())
		}
		conn := target.link()
		losses := target.losses.count()
		resumed := target.s.Stats().Resumed
		start := time.Now()
		if fault.blackhole() {
			conn.Blackhole()
		} else {
			conn.Cut()
		}
		loss, err := target.losses.wait(ctx, losses, 90*time.Second)
		if err != nil {
			t.Fatalf("deadlink: %v: fault %d not noticed by %s: %v", fault, k, target.user, err)
		}
		res.Detection = append(res.Detection, loss.at.Sub(start))
		res.Causes = append(res.Causes, loss.cause)
		if fault.blackhole() {
			conn.Heal()
		}
		if err := target.waitResumed(ctx, resumed+1, 90*time.Second); err != nil {
			t.Fatalf("deadlink: %v: fault %d: %s not resumed: %v", fault, k, target.user, err)
		}
	}

	if err := <-sent; err != nil {
		t.Fatalf("deadlink: %v: %v", fault, err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 2*time.Minute)
	err := in.waitDistinct(wctx, o.Messages)
	wcancel()
	if err != nil {
		t.Errorf("deadlink: %v: %d of %d messages arrived: %v", fault, in.distinct(), o.Messages, err)
	}
	// A last message after all the others, acknowledged by the server,
	// and its arrival: whatever was still on its way has come.
	mark := &stanza.Message{Header: stanza.Header{To: recv.s.Addr(), ID: stanza.NewID()}, Type: stanza.MessageChat, Body: "n" + strconv.Itoa(o.Messages)}
	mark.Extensions = []stanza.Payload{im.OriginID(mark.ID)}
	if err := send.s.SendAcked(ctx, mark); err != nil {
		t.Errorf("deadlink: %v: last message: %v", fault, err)
	} else if err := in.waitFor(ctx, o.Messages); err != nil {
		t.Errorf("deadlink: %v: last message did not arrive: %v", fault, err)
	}

	got := in.all()
	res.Lost, res.Duplicated, res.Reordered, res.Reorders = count(got, o.Messages+1)
	res.Repeats = int(repeats.n.Load())
	res.Resumed, res.Other = target.s.Stats().Resumed, other.s.Stats().Resumed
	for _, lo := range other.losses.all() {
		res.OtherCauses = append(res.OtherCauses, lo.cause)
	}
	for _, e := range []*end{recv, send} {
		if err := e.s.Err(); err != nil {
			t.Errorf("deadlink: %v: %s's session ended: %v", fault, e.user, err)
		}
	}
	return res
}

// count compares what arrived with 0…n-1.
func count(got []int, n int) (lost, dup, reordered int, where []string) {
	seen := make(map[int]int, n)
	high := -1
	for i, v := range got {
		seen[v]++
		if seen[v] > 1 {
			dup++
			if dup <= 10 {
				where = append(where, fmt.Sprintf("%d again (arrival %d)", v, i))
			}
			continue
		}
		if v < high {
			reordered++
			if len(where) < 5 {
				where = append(where, fmt.Sprintf("%d after %d (arrival %d)", v, high, i))
			}
		}
		high = max(high, v)
	}
	for i := range n {
		if seen[i] == 0 {
			lost++
		}
	}
	return lost, dup, reordered, where
}

// end is one of the two sessions and its proxy.
type end struct {
	t      *testing.T
	setup  Setup
	user   string
	proxy  *faultproxy.Proxy
	mux    *session.Mux
	losses *lossLog
	cfg    *session.Config
	s      *session.Session

	mu      sync.Mutex
	resumed int
	changed chan struct{}
}

func newEnd(t *testing.T, s Setup, o Options, user string, fault Fault) *end {
	e := &end{t: t, setup: s, user: user, proxy: faultproxy.New(t, s.Addr), mux: session.NewMux(),
		losses: &lossLog{changed: make(chan struct{})}, changed: make(chan struct{})}
	e.mux.HandleStart(func(ctx context.Context, _ *session.Session, resumed bool) {
		if resumed {
			e.mu.Lock()
			e.resumed++
			close(e.changed)
			e.changed = make(chan struct{})
			e.mu.Unlock()
		}
	})
	e.cfg = &session.Config{Mux: e.mux, Logger: slog.New(e.losses), KeepAlive: time.Second, KeepAliveTimeout: 5 * time.Second}
	if o.Config != nil {
		o.Config(e.cfg)
	}
	if dir := os.Getenv("DEADLINK_TRACE"); dir != "" {
		// The raw XML of both directions, for finding out what a server
		// did.
		f, err := os.Create(filepath.Join(dir, fault.String()+"-"+user+".trace"))
		if err == nil {
			t.Cleanup(func() { f.Close() })
			e.cfg.Trace = f
		}
	}
	return e
}

func (e *end) dial(ctx context.Context, t *testing.T) {
	t.Helper()
	s, err := e.setup.Dial(ctx, e.user, e.proxy.Addr(), e.cfg)
	if err != nil {
		t.Fatalf("deadlink: logging %s in: %v", e.user, err)
	}
	e.s = s
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Close(cctx)
	})
}

// link returns the session's current connection through the proxy.
func (e *end) link() *faultproxy.Conn {
	cs := e.proxy.Conns()
	return cs[len(cs)-1]
}

// waitResumed waits until the start hooks ran for the n-th resumption.
func (e *end) waitResumed(ctx context.Context, n int, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		e.mu.Lock()
		k, ch := e.resumed, e.changed
		e.mu.Unlock()
		if k >= n {
			return nil
		}
		select {
		case <-ch:
		case <-e.s.Done():
			return e.s.Err()
		case <-timer.C:
			return fmt.Errorf("%d resumptions after %v", k, d)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// inbox collects the numbers of the messages received, in order.
type inbox struct {
	mu      sync.Mutex
	got     []int
	seen    map[int]bool
	changed chan struct{}
}

func newInbox() *inbox { return &inbox{seen: map[int]bool{}, changed: make(chan struct{})} }

func (in *inbox) handle(_ context.Context, _ *session.Session, m *im.Message) {
	if m.Type != stanza.MessageChat {
		return
	}
	n, err := strconv.Atoi(strings.TrimPrefix(m.Body, "n"))
	if err != nil {
		return
	}
	in.mu.Lock()
	in.got = append(in.got, n)
	in.seen[n] = true
	close(in.changed)
	in.changed = make(chan struct{})
	in.mu.Unlock()
}

func (in *inbox) all() []int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.got)
}

func (in *inbox) distinct() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.seen)
}

// waitDistinct waits until n different messages have arrived.
func (in *inbox) waitDistinct(ctx context.Context, n int) error {
	return in.until(ctx, func() bool { return len(in.seen) >= n })
}

// waitFor waits until message k has arrived.
func (in *inbox) waitFor(ctx context.Context, k int) error {
	return in.until(ctx, func() bool { return in.seen[k] })
}

func (in *inbox) until(ctx context.Context, cond func() bool) error {
	for {
		in.mu.Lock()
		ok, ch := cond(), in.changed
		in.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// lossLog is a slog.Handler that notes when the session took its
// connection for lost ("connection lost; resuming the stream") and why.
type lossLog struct {
	mu      sync.Mutex
	losses  []loss
	changed chan struct{}
}

type loss struct {
	at    time.Time
	cause string
}

func (l *lossLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *lossLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *lossLog) WithGroup(string) slog.Handler            { return l }

func (l *lossLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "connection lost; resuming the stream" {
		return nil
	}
	lo := loss{at: r.Time}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" {
			lo.cause = a.Value.String()
		}
		return true
	})
	l.mu.Lock()
	l.losses = append(l.losses, lo)
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
	return nil
}

func (l *lossLog) all() []loss {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.losses)
}

func (l *lossLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.losses)
}

// wait returns the loss after the first n.
func (l *lossLog) wait(ctx context.Context, n int, d time.Duration) (loss, error) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		l.mu.Lock()
		if len(l.losses) > n {
			lo := l.losses[n]
			l.mu.Unlock()
			return lo, nil
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			return loss{}, fmt.Errorf("no loss noticed within %v", d)
		case <-ctx.Done():
			return loss{}, ctx.Err()
		}
	}
}

// Describe returns a line for the test log.
func (r Result) Describe() string {
	return fmt.Sprintf("%v: lost %d, duplicated %d (dropped by im %d), reordered %d %v, resumed %d (other %d), detection %v, causes %q, other's causes %q",
		r.Fault, r.Lost, r.Duplicated, r.Repeats, r.Reordered, r.Reorders, r.Resumed, r.Other, r.Detection, r.Causes, r.OtherCauses)
}

// repeatLog counts the messages an im Manager logs as received again.
type repeatLog struct{ n atomic.Int64 }

func (l *repeatLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *repeatLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *repeatLog) WithGroup(string) slog.Handler            { return l }

func (l *repeatLog) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "received again") {
		l.n.Add(1)
	}
	return nil
}

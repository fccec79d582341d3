package bench

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/testkit/xmppd"
)

var (
	compareFlag = flag.Bool("compare", false, "run the whole comparison (minutes) and write results/")
	roundsFlag  = flag.Int("rounds", 5, "interleaved rounds of the comparison")
	cpuMsgsFlag = flag.Int("messages", 20000, "messages each way per library and round, CPU comparison (see README: fewer leave a login's garbage collection in the figure)")
	idleFlag    = flag.Int("sessions", 200, "sessions per library and round, memory comparison")
	onlyFlag    = flag.String("only", "", "comma-separated parts to run: decode,encode,cpu,idle (default all)")
)

// samples holds every measurement of the run: key "part/library/metric".
type samples map[string][]float64

func (s samples) add(part, lib, metric string, v float64) {
	k := part + "/" + lib + "/" + metric
	s[k] = append(s[k], v)
}

func (s samples) median(part, lib, metric string) (float64, bool) {
	v := slices.Clone(s[part+"/"+lib+"/"+metric])
	if len(v) == 0 {
		return 0, false
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2], true
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2, true
}

func wantPart(p string) bool {
	return *onlyFlag == "" || slices.Contains(strings.Split(*onlyFlag, ","), p)
}

// TestCompare is the comparison: decode, encode, CPU per message through
// Prosody, idle memory; each in rounds, every library once per round
// before any library's next run. It writes results/results.md,
// results/ratios.svg and the results section of README.md.
//
//	go test -run '^TestCompare$' -compare -timeout 60m
func TestCompare(t *testing.T) {
	if !*compareFlag {
		t.Skip("the comparison takes minutes: run it with -compare")
	}
	rounds := *roundsFlag
	s := samples{}
	run := runInfo{Start: time.Now().UTC(), Rounds: rounds}
	data, n := corpus(corpusSeed, corpusStanzas)
	run.CorpusBytes, run.CorpusStanzas = len(data), n

	if wantPart("decode") {
		for r := range rounds {
			for _, d := range decoders {
				res := testing.Benchmark(func(b *testing.B) {
					b.ReportAllocs()
					b.SetBytes(int64(len(data)))
					for b.Loop() {
						if err := d.decode(data, func(any) {}); err != nil {
							b.Fatal(err)
						}
					}
				})
				if res.N == 0 {
					t.Fatalf("decode %s failed", d.name)
				}
				per := float64(res.N) * float64(n)
				s.add("decode", d.name, "ns", float64(res.T.Nanoseconds())/per)
				s.add("decode", d.name, "MB/s", float64(len(data))*float64(res.N)/res.T.Seconds()/1e6)
				s.add("decode", d.name, "allocs", float64(res.MemAllocs)/per)
				s.add("decode", d.name, "B", float64(res.MemBytes)/per)
			}
			t.Logf("decode round %d done", r+1)
		}
	}
	if wantPart("encode") {
		for r := range rounds {
			for _, e := range encoders {
				res := testing.Benchmark(func(b *testing.B) {
					b.ReportAllocs()
					enc := e.new()
					for b.Loop() {
						if _, err := enc(); err != nil {
							b.Fatal(err)
						}
					}
				})
				if res.N == 0 {
					t.Fatalf("encode %s failed", e.name)
				}
				s.add("encode", e.name, "ns", float64(res.NsPerOp()))
				s.add("encode", e.name, "allocs", float64(res.AllocsPerOp()))
				s.add("encode", e.name, "B", float64(res.AllocedBytesPerOp()))
			}
			t.Logf("encode round %d done", r+1)
		}
	}
	if wantPart("cpu") || wantPart("idle") {
		users := map[string]string{"a": password, peerUser: password}
		if wantPart("idle") {
			for i := range *idleFlag {
				users[user(i)] = password
			}
		}
		tlsSrv := xmppd.Start(t, xmppd.Prosody, xmppd.Options{Users: users, NoArchive: true})
		run.Server = prosodyVersion()
		if wantPart("cpu") {
			m := *cpuMsgsFlag
			run.Messages = m
			for r := range rounds {
				for _, lib := range append(slices.Clone(liveLibs), floorLib) {
					recv, sent := measureCPU(t, tlsSrv, lib, m)
					s.add("cpu", lib.name, "recv", recv)
					s.add("cpu", lib.name, "sent", sent)
				}
				t.Logf("cpu round %d done", r+1)
			}
		}
		if wantPart("idle") {
			plainSrv := xmppd.Start(t, xmppd.Prosody, xmppd.Options{Users: users, NoArchive: true, Plaintext: true})
			run.Sessions = *idleFlag
			for r := range rounds {
				for _, useTLS := range []bool{true, false} {
					srv, metric := tlsSrv, "tls"
					if !useTLS {
						srv, metric = plainSrv, "plain"
					}
					for _, lib := range liveLibs {
						s.add("idle", lib.name, metric, measureIdle(t, srv, lib, *idleFlag, useTLS))
					}
				}
				t.Logf("idle round %d done", r+1)
			}
		}
	}
	run.End = time.Now().UTC()
	if err := writeResults(run, s); err != nil {
		t.Fatal(err)
	}
}

// cpuTime is the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measureCPU logs account a in with lib here and account b with lib in
// a child process, and returns this process's CPU time per message
// received (b sends m, one per write) and per message sent (a sends m to
// b, one per write, until b has them all), in µs.
func measureCPU(t *testing.T, srv *xmppd.Server, lib liveLib, m int) (recv, sent float64) {
	var cnt counter
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	c, err := lib.login(ctx, srv.Addr, srv.Domain, "a", true, cnt.inc)
	cancel()
	if err != nil {
		t.Fatalf("%s: %v", lib.name, err)
	}
	defer c.close()
	p := startPeer(t, lib.name, srv.Addr, srv.Domain)
	defer p.quit()

	exchange := func(m int) (recv, sent time.Duration) {
		hit := cnt.expect(m)
		c0 := cpuTime()
		p.say(t, fmt.Sprintf("SEND %d %s", m, c.jid))
		p.await(t, "SENT")
		select {
		case <-hit:
		case <-time.After(2 * time.Minute):
			t.Fatalf("%s: %d messages not received", lib.name, m)
		}
		c1 := cpuTime()
		p.say(t, fmt.Sprintf("EXPECT %d", m))
		p.await(t, "OK")
		c2 := cpuTime()
		for range m {
			if err := c.send(p.jid); err != nil {
				t.Fatalf("%s: %v", lib.name, err)
			}
		}
		p.await(t, "GOT")
		c3 := cpuTime()
		return c1 - c0, c3 - c2
	}
	exchange(m / 10) // warm up: TLS, buffers, the server's routes
	r, s := exchange(m)
	return float64(r.Microseconds()) / float64(m), float64(s.Microseconds()) / float64(m)
}

// measureIdle logs n accounts in with lib and returns heap plus stack in
// use per session after GC.
func measureIdle(t *testing.T, srv *xmppd.Server, lib liveLib, n int, useTLS bool) float64 {
	base := runtime.NumGoroutine()
	closers := make([]func(), 0, n)
	defer func() {
		var wg sync.WaitGroup
		for _, c := range closers {
			wg.Go(c)
		}
		wg.Wait()
		// Some libraries leave goroutines behind a while after Close:
		// wait, so that the next run starts from the same place.
		for deadline := time.Now().Add(time.Minute); runtime.NumGoroutine() > base && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond)
		}
	}()
	runtime.GC()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range n {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		c, err := lib.login(ctx, srv.Addr, srv.Domain, user(i), useTLS, func() {})
		cancel()
		if err != nil {
			t.Fatalf("%s: session %d (TLS %v): %v", lib.name, i, useTLS, err)
		}
		closers = append(closers, c.close)
	}
	time.Sleep(time.Second) // let what follows a login settle
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := int64(after.HeapInuse) - int64(before.HeapInuse)
	stack := int64(after.StackInuse) - int64(before.StackInuse)
	return float64(heap+stack) / float64(n)
}

func prosodyVersion() string {
	out, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", "prosody").Output()
	if err != nil {
		return "Prosody"
	}
	return "Prosody " + strings.TrimSpace(string(out))
}

// runInfo says what ran, where and when.
type runInfo struct {
	Start, End                 time.Time
	Rounds                     int
	CorpusBytes, CorpusStanzas int
	Messages, Sessions         int
	Server                     string
}

func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores, %s/%s, %s", model, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
}

func ftoa(v float64, prec int) string { return strconv.FormatFloat(v, 'f', prec, 64) }

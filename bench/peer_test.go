package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The other client of the CPU comparison runs in a child process, this
// test binary again running TestPeer, so that the parent's CPU time is
// its own client's alone. The parent talks to it in lines on its standard
// input and output:
//
//	child: PEER JID <full JID>     once logged in
//	SEND <n> <to>  → PEER SENT     after n messages, one per write
//	EXPECT <n>     → PEER OK, then PEER GOT once n more have arrived
//	QUIT           → the child logs out and exits

const peerUser = "b"

// TestPeer is the child process; it does nothing in a normal test run.
func TestPeer(t *testing.T) {
	name := os.Getenv("PARLEY_BENCH_PEER")
	if name == "" {
		t.Skip("only runs as the CPU comparison's peer")
	}
	lib := floorLib
	for _, l := range liveLibs {
		if l.name == name {
			lib = l
		}
	}
	var cnt counter
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	c, err := lib.login(ctx, os.Getenv("PARLEY_BENCH_PEER_ADDR"), os.Getenv("PARLEY_BENCH_PEER_DOMAIN"), peerUser, true, cnt.inc)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	fmt.Println("PEER JID", c.jid)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		f := strings.Fields(in.Text())
		switch {
		case len(f) == 3 && f[0] == "SEND":
			n, _ := strconv.Atoi(f[1])
			for range n {
				if err := c.send(f[2]); err != nil {
					t.Fatal(err)
				}
			}
			fmt.Println("PEER SENT")
		case len(f) == 2 && f[0] == "EXPECT":
			n, _ := strconv.Atoi(f[1])
			hit := cnt.expect(n)
			fmt.Println("PEER OK")
			go func() {
				select {
				case <-hit:
					fmt.Println("PEER GOT")
				case <-time.After(2 * time.Minute):
					fmt.Println("PEER TIMEOUT")
				}
			}()
		case len(f) == 1 && f[0] == "QUIT":
			return
		}
	}
}

type peer struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string
	jid   string
}

// startPeer runs the child for lib against the server at addr.
func startPeer(tb testing.TB, lib, addr, domain string) *peer {
	cmd := exec.Command(os.Args[0], "-test.run=^TestPeer$", "-test.count=1")
	cmd.Env = append(os.Environ(), "PARLEY_BENCH_PEER="+lib, "PARLEY_BENCH_PEER_ADDR="+addr, "PARLEY_BENCH_PEER_DOMAIN="+domain)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	p := &peer{cmd: cmd, in: in, lines: make(chan string, 16)}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "PEER "); ok {
				p.lines <- rest
			}
		}
	}()
	line := p.await(tb, "JID")
	p.jid = strings.TrimPrefix(line, "JID ")
	return p
}

// await returns the child's next line, which must start with want.
func (p *peer) await(tb testing.TB, want string) string {
	select {
	case line, ok := <-p.lines:
		if !ok {
			tb.Fatalf("peer: exited while %s was awaited", want)
		}
		if !strings.HasPrefix(line, want) {
			tb.Fatalf("peer: %q, want %s", line, want)
		}
		return line
	case <-time.After(2 * time.Minute):
		tb.Fatalf("peer: no %s", want)
	}
	return ""
}

func (p *peer) say(tb testing.TB, line string) {
	if _, err := fmt.Fprintln(p.in, line); err != nil {
		tb.Fatal(err)
	}
}

func (p *peer) quit() {
	_, _ = fmt.Fprintln(p.in, "QUIT")
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

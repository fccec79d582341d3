// Package childproc runs a benchmark's server in a child process, so
// that a memory benchmark counts only the client's memory. The child is
// the test binary itself, run again for one test function, which starts
// its server and prints "ADDR host:port" on a line of its own.
package childproc

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Start runs the test binary again with -test.run=^test$ and the given
// environment variables added, and returns the address the child printed
// and a function that stops it.
func Start(tb testing.TB, test string, env ...string) (addr string, stop func()) {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ADDR ") {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		tb.Fatalf("childproc: %s printed %q, not an address (%v)", test, line, err)
	}
	return strings.TrimSpace(strings.TrimPrefix(line, "ADDR ")), func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
}

// Announce prints addr the way Start reads it; the child calls it once its
// server listens.
func Announce(addr string) {
	os.Stdout.WriteString("ADDR " + addr + "\n")
}

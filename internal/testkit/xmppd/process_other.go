//go:build !linux

package xmppd

import (
	"errors"
	"time"
)

// Running a server needs Linux: it is started as the leader of a process
// group, and found again (its processes, its listening sockets) in /proc.
// Elsewhere the package builds, and Start fails with errNotLinux (tests
// skip, or fail under PARLEY_REQUIRE_SERVERS=1).
var errNotLinux = errors.New("xmppd: running servers needs Linux")

type process struct {
	done chan struct{}
	err  error
}

func launch(string, []string, string, string) (*process, error) { return nil, errNotLinux }

func (p *process) pid() int                 { return 0 }
func (p *process) exited() bool             { return true }
func (p *process) stop(time.Duration) error { return nil }
func listeningAddrs(int) []string           { return nil }

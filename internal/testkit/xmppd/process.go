//go:build linux

package xmppd

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is a server running in the foreground as a child of the test, as
// the leader of its own process group.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the child has exited and been reaped
	err  error         // the child's exit status; read only after done
}

// launch starts name with args in a new process group. Its standard output
// and error go to consolePath.
func launch(name string, args []string, dir, consolePath string) (*process, error) {
	console, err := os.OpenFile(consolePath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("xmppd: open console log: %w", err)
	}
	defer console.Close()
	var cmd *exec.Cmd
	for attempt := 0; ; attempt++ {
		cmd = exec.Command(name, args...)
		cmd.Dir = dir
		cmd.Env = childEnv(dir)
		cmd.Stdout = console
		cmd.Stderr = console
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		err = cmd.Start()
		// A script written just before (ejabberd's patched ejabberdctl)
		// may still be open for writing in a child another goroutine
		// forked meanwhile, until that child execs (golang/go#22315):
		// wait a moment and try again.
		if errors.Is(err, syscall.ETXTBSY) && attempt < 50 {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		break
	}
	if err != nil {
		return nil, fmt.Errorf("xmppd: start %s: %w", name, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// pid returns the child's process id, which is also its process group id.
func (p *process) pid() int { return p.cmd.Process.Pid }

// exited reports whether the child has exited.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop ends the server: SIGTERM first, SIGKILL to whatever is left after
// grace. It returns once none of the server's processes is alive.
//
// SIGTERM goes to the leader's children when it has any (ejabberd: the
// Erlang VM under the ejabberdctl shell), else to the leader (Prosody).
// Then the leader, not init, reaps the VM, and the shell exits after it.
func (p *process) stop(grace time.Duration) error {
	leader := p.pid()
	procs := scanProcs()
	seen := family(procs, leader)
	targets := childrenOf(procs, leader)
	if len(targets) == 0 {
		targets = []int{leader}
	}
	for _, pid := range targets {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
	if p.waitGone(seen, grace) {
		return nil
	}
	_ = syscall.Kill(-leader, syscall.SIGKILL)
	for _, pid := range append(seen, family(scanProcs(), leader)...) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	if p.waitGone(seen, 10*time.Second) {
		return nil
	}
	return fmt.Errorf("xmppd: processes %v still alive after SIGKILL", p.alive(seen))
}

// waitGone waits until the leader has been reaped and no process of the
// server (those in seen, and any left in its group) is alive, or until
// timeout. It reports whether all are gone.
func (p *process) waitGone(seen []int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if p.exited() && len(p.alive(seen)) == 0 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// alive lists the server's live processes: those of seen still alive and
// every live process of the leader's family.
func (p *process) alive(seen []int) []int {
	procs := scanProcs()
	live := make(map[int]bool)
	for _, pid := range family(procs, p.pid()) {
		live[pid] = true
	}
	for _, pid := range seen {
		if info, ok := procs[pid]; ok && info.live() {
			live[pid] = true
		}
	}
	pids := make([]int, 0, len(live))
	for pid := range live {
		pids = append(pids, pid)
	}
	return pids
}

// procInfo is what /proc/PID/stat says about a process.
type procInfo struct {
	state      string
	ppid, pgrp int
}

// live reports whether the process runs (zombies are dead).
func (i procInfo) live() bool { return i.state != "Z" && i.state != "X" }

// scanProcs reads /proc/*/stat.
func scanProcs() map[int]procInfo {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	procs := make(map[int]procInfo)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if info, ok := procStat(pid); ok {
			procs[pid] = info
		}
	}
	return procs
}

// family lists the live processes in leader's process group and the live
// descendants of leader, which include any that started a session of their
// own (Erlang's erl_child_setup does).
func family(procs map[int]procInfo, leader int) []int {
	in := make(map[int]bool)
	for pid, info := range procs {
		if info.pgrp == leader {
			in[pid] = true
		}
	}
	for grew := true; grew; {
		grew = false
		for pid, info := range procs {
			if !in[pid] && (info.ppid == leader || in[info.ppid]) {
				in[pid] = true
				grew = true
			}
		}
	}
	var pids []int
	for pid := range in {
		if procs[pid].live() {
			pids = append(pids, pid)
		}
	}
	return pids
}

// childrenOf lists the live processes whose parent is pid.
func childrenOf(procs map[int]procInfo, parent int) []int {
	var pids []int
	for pid, info := range procs {
		if info.ppid == parent && info.live() {
			pids = append(pids, pid)
		}
	}
	return pids
}

// procStat reads a process's state letter, parent and process group from
// /proc/PID/stat.
func procStat(pid int) (procInfo, bool) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return procInfo{}, false
	}
	// "pid (comm) state ppid pgrp ..."; comm may hold spaces and parens.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procInfo{}, false
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 3 {
		return procInfo{}, false
	}
	ppid, err1 := strconv.Atoi(fields[1])
	pgrp, err2 := strconv.Atoi(fields[2])
	if err1 != nil || err2 != nil {
		return procInfo{}, false
	}
	return procInfo{state: fields[0], ppid: ppid, pgrp: pgrp}, true
}

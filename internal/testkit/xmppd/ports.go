package xmppd

import (
	"fmt"
	"net"
	"sync"
)

// handedOut remembers every port this process gave to a server, so that two
// instances started by one test binary never get the same port, even when a
// server has not bound it yet.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: make(map[int]bool)}

// freePorts returns n distinct TCP ports on 127.0.0.1 that were free a
// moment ago. Another process may still take one before the server binds it;
// Start notices and retries with fresh ports.
func freePorts(n int) ([]int, error) {
	handedOut.Lock()
	defer handedOut.Unlock()
	var (
		ports     []int
		listeners []net.Listener
	)
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for tries := 0; len(ports) < n; tries++ {
		if tries > 100*n {
			return nil, fmt.Errorf("xmppd: no free port on 127.0.0.1 after %d tries", tries)
		}
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("xmppd: find a free port: %w", err)
		}
		listeners = append(listeners, l)
		port := l.Addr().(*net.TCPAddr).Port
		if handedOut.ports[port] {
			continue
		}
		handedOut.ports[port] = true
		ports = append(ports, port)
	}
	return ports, nil
}

//go:build linux

package xmppd

import (
	"bufio"
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// listeningAddrs returns the TCP addresses ("127.0.0.1:5222") on which the
// live processes of leader's family (see family) listen. It reads /proc, so
// it sees only what the kernel says the server owns: a port held by another
// process is never mistaken for the server's.
func listeningAddrs(leader int) []string {
	inodes := make(map[string]bool)
	for _, pid := range family(scanProcs(), leader) {
		fds := filepath.Join("/proc", strconv.Itoa(pid), "fd")
		entries, err := os.ReadDir(fds)
		if err != nil {
			continue
		}
		for _, e := range entries {
			target, err := os.Readlink(filepath.Join(fds, e.Name()))
			if err != nil {
				continue
			}
			if inode, ok := strings.CutPrefix(target, "socket:["); ok {
				inodes[strings.TrimSuffix(inode, "]")] = true
			}
		}
	}
	if len(inodes) == 0 {
		return nil
	}
	var addrs []string
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		addrs = append(addrs, listenersIn(table, inodes)...)
	}
	return addrs
}

// listenersIn returns the local addresses of the listening sockets in a
// /proc/net/tcp{,6} table whose inode is in inodes.
func listenersIn(table string, inodes map[string]bool) []string {
	f, err := os.Open(table)
	if err != nil {
		return nil
	}
	defer f.Close()
	var addrs []string
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		// sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
		fields := strings.Fields(sc.Text())
		const listen = "0A"
		if len(fields) < 10 || fields[3] != listen || !inodes[fields[9]] {
			continue
		}
		if addr, ok := parseProcAddr(fields[1]); ok {
			addrs = append(addrs, addr)
		}
	}
	return addrs
}

// parseProcAddr decodes a /proc/net/tcp address such as "0100007F:14A6"
// (on a little-endian host) into "127.0.0.1:5286".
func parseProcAddr(s string) (string, bool) {
	hexIP, hexPort, ok := strings.Cut(s, ":")
	if !ok {
		return "", false
	}
	if len(hexIP) != 8 && len(hexIP) != 32 {
		return "", false
	}
	port, err := strconv.ParseUint(hexPort, 16, 16)
	if err != nil {
		return "", false
	}
	// The kernel prints each 32-bit word of the address as a host-order
	// integer; writing the integers back in host order restores the bytes.
	ip := make(net.IP, len(hexIP)/2)
	for i := 0; i < len(ip); i += 4 {
		word, err := strconv.ParseUint(hexIP[2*i:2*i+8], 16, 32)
		if err != nil {
			return "", false
		}
		binary.NativeEndian.PutUint32(ip[i:], uint32(word))
	}
	if v4 := ip.To4(); v4 != nil {
		ip = v4
	}
	return net.JoinHostPort(ip.String(), strconv.FormatUint(port, 10)), true
}

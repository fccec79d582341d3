//go:build interop

package xmppd

// Family lists the live processes of the server whose process group leader
// is pid: its group and its descendants.
func Family(pid int) []int { return family(scanProcs(), pid) }

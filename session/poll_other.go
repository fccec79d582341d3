//go:build !unix

package session

import "net"

// poller is not implemented here, and transports are not pollable: the
// reader waits for input in Read (idle.go). Were its methods called, they would
// still be right: nothing is known to be waiting, and waiting is left to
// Read.
type poller struct{}

func newPoller(net.Conn) *poller { return nil }
func (*poller) wait() error      { return nil }
func (*poller) readable() bool   { return false }

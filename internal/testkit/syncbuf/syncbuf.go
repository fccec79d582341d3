// Package syncbuf is a bytes.Buffer that tests can read while a session's
// goroutines write to it, as the trace writer of session.Config.Trace.
package syncbuf

import (
	"bytes"
	"sync"
)

// Buffer collects what is written to it. It is safe for concurrent use;
// the zero value is an empty buffer.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the buffer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

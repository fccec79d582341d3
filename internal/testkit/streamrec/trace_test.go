//go:build interop

package streamrec_test

import (
	"bytes"
	"fmt"
	"sync"
)

// received is a session.Config.Trace writer that keeps the bytes the
// session received, exactly as read, and drops what it sent.
//
// The session's tracer writes a received chunk in three writes under its
// lock: the prefix "RECV ", the bytes as read (joined up to the end of a
// tag), and a newline; a note (what SASL redaction hides, retold without
// its secrets) comes in one write, "RECV " + element + "\n". Reading the
// writes one by one, rather than splitting the text at newlines, keeps the
// newlines inside received text.
type received struct {
	mu    sync.Mutex
	state int  // expecting: 0 a prefix or a note, 1 a chunk, 2 its newline
	recv  bool // the chunk expected is a received one
	buf   bytes.Buffer
	err   error
}

const (
	recvPrefix = "RECV "
	sendPrefix = "SEND "
)

// Write takes one write of the tracer.
func (r *received) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.state == 1:
		if r.recv {
			r.buf.Write(p)
		}
		r.state = 2
	case r.state == 2:
		if string(p) != "\n" {
			r.fail(p)
		}
		r.state = 0
	case string(p) == recvPrefix || string(p) == sendPrefix:
		r.recv = string(p) == recvPrefix
		r.state = 1
	case bytes.HasPrefix(p, []byte(recvPrefix)) && bytes.HasSuffix(p, []byte("\n")):
		// A note: a SASL element the session rendered without its payload.
		r.buf.Write(p[len(recvPrefix) : len(p)-1])
	case bytes.HasPrefix(p, []byte(sendPrefix)):
	default:
		r.fail(p)
	}
	return len(p), nil
}

func (r *received) fail(p []byte) {
	if r.err == nil {
		r.err = fmt.Errorf("streamrec: trace write %q out of the expected order", p)
	}
}

// streams returns what was received, cut into streams: each starts at a
// stream header (with the XML declaration before it, if any) and runs to
// the next one.
func (r *received) streams() ([][]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return nil, r.err
	}
	return splitStreams(r.buf.Bytes()), nil
}

// splitStreams cuts b before each "<stream:stream" (a literal one is
// always markup: text and attributes escape '<') and before the XML
// declaration right in front of it.
func splitStreams(b []byte) [][]byte {
	var starts []int
	from := 0
	for {
		i := bytes.Index(b[from:], []byte("<stream:stream"))
		if i < 0 {
			break
		}
		at := from + i
		if decl := bytes.LastIndex(b[from:at], []byte("<?xml")); decl >= 0 {
			// Only a declaration right in front: one tag, ending in "?>".
			seg := b[from+decl : at]
			if bytes.Count(seg, []byte("<")) == 1 && bytes.HasSuffix(bytes.TrimSpace(seg), []byte("?>")) {
				at = from + decl
			}
		}
		starts = append(starts, at)
		from = from + i + 1
	}
	var out [][]byte
	for k, s := range starts {
		end := len(b)
		if k+1 < len(starts) {
			end = starts[k+1]
		}
		out = append(out, append([]byte(nil), b[s:end]...))
	}
	return out
}

package session

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/testkit/scripted"
	"github.com/parleyim/parley/internal/wire"
	"github.com/parleyim/parley/stanza"
)

// streamEnd reads what the client sends until its stream ends and reports
// the elements it sent and whether its </stream:stream> came (RFC 6120
// §4.9.1.1: a stream error is followed by the close tag).
func streamEnd(p *peer) (sent []string, closeTag bool) {
	for {
		start, err := p.Reader().NextElement()
		if err != nil {
			return sent, err == wire.ErrStreamClosed
		}
		raw, err := stanza.ReadRaw(p.Reader(), start)
		if err != nil {
			return sent, false
		}
		sent = append(sent, elemString(raw))
	}
}

// A stream error whose text quotes the bytes the server sent (encoding/xml
// puts a bad name or entity in its message) still reaches the server,
// followed by the close tag, on an established stream and during
// negotiation alike.
func TestStreamErrorQuotingInvalidBytesIsSent(t *testing.T) {
	inputs := []struct {
		name, xml string
	}{
		{"bad element name", "<message><\xff\xfe/></message>"},
		{"bad entity name", "<message><body>&\xff;</body></message>"},
	}
	for _, in := range inputs {
		t.Run("established/"+in.name, func(t *testing.T) {
			s, p := establish(t, clientConfig(t))
			p.Send(in.xml)
			err := waitEnd(t, s)
			assert.ErrorIs(t, err, stanza.StreamNotWellFormed)
			sent, closed := streamEnd(p)
			require.Len(t, sent, 1, "the stream error is sent")
			assert.Contains(t, sent[0], "not-well-formed")
			assert.True(t, closed, "the close tag follows")
		})
		t.Run("negotiation/"+in.name, func(t *testing.T) {
			var sent []string
			var closed bool
			_, err := dialPeer(t, clientConfig(t), func(p *peer) {
				p.Header()
				p.Send("<stream:features>" + in.xml + "</stream:features>")
				sent, closed = streamEnd(p)
			})
			assert.ErrorIs(t, err, stanza.StreamNotWellFormed)
			require.Len(t, sent, 1, "the stream error is sent")
			assert.Contains(t, sent[0], "not-well-formed")
			assert.True(t, closed, "the close tag follows")
		})
	}
}

// A stream error that cannot be encoded is sent with its condition alone
// (or as undefined-condition), and the close tag always follows.
func TestAppendStreamEnd(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		se   *stanza.StreamError
		want string
	}{
		{"as it is", &stanza.StreamError{Condition: stanza.StreamPolicyViolation, Text: "too big"}, "policy-violation"},
		{"text XML cannot carry", &stanza.StreamError{Condition: stanza.StreamNotWellFormed, Text: "bad \x00 byte \xff"}, "not-well-formed"},
		{"unknown condition", &stanza.StreamError{Condition: "no-such-condition"}, "undefined-condition"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := string(appendStreamEnd([]byte("before"), tt.se, wire.Close))
			require.True(t, strings.HasPrefix(out, "before<stream:error>"), out)
			assert.Contains(t, out, tt.want)
			assert.True(t, strings.HasSuffix(out, "</stream:error>"+wire.Close), out)
			r := wire.NewReader(strings.NewReader(streamHeader+strings.TrimPrefix(out, "before")), wire.Limits{})
			_, err := r.ReadHeader()
			require.NoError(t, err)
			start, err := r.NextElement()
			require.NoError(t, err)
			se, err := stanza.DecodeStreamError(r, start)
			require.NoError(t, err, "what is sent is well-formed")
			assert.Equal(t, tt.want, string(se.Condition))
			_, err = r.NextElement()
			assert.ErrorIs(t, err, wire.ErrStreamClosed)
		})
	}
}

// A server that goes on writing megabytes after an element over the size
// limit, and reads only once its writes are done, still reads the stream
// error and the close tag: the client stops writing and reads on for a
// while before it closes, so that its kernel does not reset the
// connection under the server's writes (a server that sees its write fail
// hangs up without reading what came).
func TestOversizedElementErrorReachesPeer(t *testing.T) {
	for _, withTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", withTLS), func(t *testing.T) {
			cfg := clientConfig(t)
			s, p := establishOver(t, cfg, withTLS)
			// 2 MiB in one element, then 6 MiB of stanzas.
			_, err := io.WriteString(p.Conn(), "<message><body>"+strings.Repeat("x", 2<<20)+"</body></message>")
			require.NoError(t, err, "the client reset the connection under the server's writes")
			msg := strings.Repeat(chat(strings.Repeat("y", 900)), 64)
			for range 6 << 20 / len(msg) {
				_, err := io.WriteString(p.Conn(), msg)
				require.NoError(t, err, "the client reset the connection under the server's writes")
			}
			err = waitEnd(t, s)
			assert.ErrorIs(t, err, stanza.StreamPolicyViolation)
			sent, closed := streamEnd(p)
			require.Len(t, sent, 1, "the stream error reaches the server")
			assert.Contains(t, sent[0], "policy-violation")
			assert.True(t, closed, "the close tag follows")
		})
	}
}

// Linger ends however the peer behaves: when it hangs up, when it has
// sent maxBytes, when maxWait has passed, or when Close is called; and the
// peer reads what was written and then the end of input.
func TestLingerIsBounded(t *testing.T) {
	tests := []struct {
		name    string
		maxWait time.Duration
		peer    func(c net.Conn)
		closeIt bool
	}{
		{"the peer hangs up", time.Minute, func(c net.Conn) { c.Close() }, false},
		{"the peer floods", time.Minute, func(c net.Conn) {
			chunk := make([]byte, 64<<10)
			for {
				if _, err := c.Write(chunk); err != nil {
					return
				}
			}
		}, false},
		{"the peer says nothing", 50 * time.Millisecond, func(net.Conn) {}, false},
		{"Close cuts it short", time.Minute, func(net.Conn) {}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, server := scripted.Loopback(t)
			tr := newTCPTransport(client, nil)
			_, err := tr.Write([]byte("bye"))
			require.NoError(t, err)
			got := make(chan string, 1)
			go func() {
				b, _ := io.ReadAll(server) // to the end of input: our FIN
				got <- string(b)
				tt.peer(server)
			}()
			done := make(chan struct{})
			go func() {
				tr.Linger(1<<20, tt.maxWait)
				close(done)
			}()
			select {
			case b := <-got:
				assert.Equal(t, "bye", b, "the peer reads what was written, then the end of input")
			case <-time.After(10 * time.Second):
				t.Fatal("the peer read no end of input")
			}
			if tt.closeIt {
				tr.Close()
			}
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Linger did not return")
			}
			_, err = client.Read(make([]byte, 1))
			assert.ErrorIs(t, err, net.ErrClosed, "the connection is closed")
		})
	}
}

package session

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/wire"
	"github.com/parleyim/parley/stanza"
)

// streamEnd reads what the client sends until its stream ends and reports
// the elements it sent and whether its </stream:stream> came (RFC 6120
// §4.9.1.1: a stream error is followed by the close tag).
func (p *peer) streamEnd() (sent []string, closeTag bool) {
	for {
		start, err := p.rd.NextElement()
		if err != nil {
			return sent, err == wire.ErrStreamClosed
		}
		raw, err := stanza.ReadRaw(p.rd, start)
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
			p.send(in.xml)
			err := waitEnd(t, s)
			assert.ErrorIs(t, err, stanza.StreamNotWellFormed)
			sent, closed := p.streamEnd()
			require.Len(t, sent, 1, "the stream error is sent")
			assert.Contains(t, sent[0], "not-well-formed")
			assert.True(t, closed, "the close tag follows")
		})
		t.Run("negotiation/"+in.name, func(t *testing.T) {
			var sent []string
			var closed bool
			_, err := dialPeer(t, clientConfig(t), func(p *peer) {
				p.header()
				p.send("<stream:features>" + in.xml + "</stream:features>")
				sent, closed = p.streamEnd()
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

package session

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/testkit/syncbuf"
	"github.com/parleyim/parley/stanza"
)

func limitsFeature(maxBytes, idleSeconds int) string {
	return fmt.Sprintf("<limits xmlns='urn:xmpp:stream-limits:0'><max-bytes>%d</max-bytes><idle-seconds>%d</idle-seconds></limits>", maxBytes, idleSeconds)
}

// loginWithLimits logs in and announces limits with the final features.
func loginWithLimits(maxBytes, idleSeconds int) func(*peer) {
	return func(p *peer) {
		p.ToBind("SCRAM-SHA-1")
		p.Features(featBind, limitsFeature(maxBytes, idleSeconds))
		p.Bind("")
	}
}

func TestParseStreamLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want StreamLimits
	}{
		{"both", limitsFeature(10000, 600), StreamLimits{MaxBytes: 10000, IdleSeconds: 600}},
		{"none announced", featBind, StreamLimits{}},
		{"one of them", "<limits xmlns='urn:xmpp:stream-limits:0'><max-bytes> 4096 </max-bytes></limits>", StreamLimits{MaxBytes: 4096}},
		{"unreadable values are no limits", "<limits xmlns='urn:xmpp:stream-limits:0'><max-bytes>-1</max-bytes><idle-seconds>soon</idle-seconds></limits>", StreamLimits{}},
		{"zero is no limit", limitsFeature(0, 0), StreamLimits{}},
		{"the first readable one", "<limits xmlns='urn:xmpp:stream-limits:0'><max-bytes>x</max-bytes><max-bytes>500</max-bytes></limits>", StreamLimits{MaxBytes: 500}},
		{"huge values are capped", "<limits xmlns='urn:xmpp:stream-limits:0'><max-bytes>99999999999999999999999</max-bytes></limits>", StreamLimits{MaxBytes: 1<<31 - 1}},
		{"other namespace", "<limits xmlns='urn:other'><max-bytes>10</max-bytes></limits>", StreamLimits{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := readFeatures(t, tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, f.Limits)
		})
	}
}

// A stanza over the server's max-bytes is refused before it is written;
// the stream goes on.
func TestSendHonoursMaxBytes(t *testing.T) {
	cfg := clientConfig(t)
	s, p := establishWith(t, cfg, loginWithLimits(1000, 0))
	require.Equal(t, 1000, s.Features().Limits.MaxBytes)

	big := &stanza.Message{Header: stanza.Header{To: juliet}, Body: strings.Repeat("x", 1000)}
	err := s.Send(context.Background(), big)
	require.ErrorIs(t, err, ErrStanzaTooLarge)
	assert.Contains(t, err.Error(), "the server announced 1000")
	assert.NoError(t, s.Err(), "the stream goes on")

	small := &stanza.Message{Header: stanza.Header{To: juliet}, Body: "small"}
	require.NoError(t, s.Send(context.Background(), small))
	assert.Contains(t, elemString(p.Expect("message")), "small", "the large one was not written")
	pingRoundTrip(t, s, p)
}

// An iq result too large for the server is replaced by an error, so the
// request is still answered.
func TestTooLargeResultIsAnsweredWithError(t *testing.T) {
	cfg := clientConfig(t)
	cfg.Mux = NewMux()
	cfg.Mux.HandleIQFunc(stanza.IQGet, xmlName("urn:example:big", "query"), func(context.Context, *Session, *stanza.IQ) (stanza.Payload, error) {
		return stanza.ParseRaw([]byte("<query xmlns='urn:example:big'>" + strings.Repeat("y", 2000) + "</query>"))
	})
	_, p := establishWith(t, cfg, loginWithLimits(1000, 0))
	p.Send("<iq type='get' id='q1' from='romeo@example.net/orchard'><query xmlns='urn:example:big'/></iq>")
	reply := p.Expect("iq")
	assert.Equal(t, "error", reply.Attr("type"))
	assert.Equal(t, "q1", reply.Attr("id"))
	assert.Contains(t, elemString(reply), "internal-server-error")
}

// With idle-seconds announced, a client that has nothing to say sends a
// space after half that time, even while the server talks (so the
// check for a silent server never runs).
func TestIdleSecondsKeepsClientTalking(t *testing.T) {
	cfg := clientConfig(t)
	cfg.KeepAlive = time.Minute
	trace := &syncbuf.Buffer{}
	cfg.Trace = trace
	_, p := establishWith(t, cfg, loginWithLimits(0, 1))
	established := len(trace.String())
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(trace.String()[established:], "SEND  \n") {
		if time.Now().After(deadline) {
			t.Fatalf("no whitespace keepalive sent:\n%s", trace.String()[established:])
		}
		p.Send(chat("still here"))
		time.Sleep(50 * time.Millisecond)
	}
	assert.NotContains(t, trace.String()[established:], "urn:xmpp:ping", "the server is not silent: no ping")
}

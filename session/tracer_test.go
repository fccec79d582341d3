package session

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/testkit/scripted"
	"github.com/parleyim/parley/sasl"
)

// While SASL runs the tracer drops the raw bytes in both directions; what
// it writes then comes from note, and tracing resumes afterwards.
func TestTracerRedactDropsRawBytes(t *testing.T) {
	var out bytes.Buffer
	tr := &tracer{w: &out}
	tr.chunk("RECV ", []byte("<stream:features>"))
	tr.setRedact(true)
	assert.True(t, tr.redacting())
	tr.chunk("SEND ", []byte("<auth mechanism='PLAIN'>AGp1bGlldAByMG0zMG15cjBtMzA=</auth>"))
	tr.chunk("RECV ", []byte("<succ"))
	tr.note("RECV ", "<success/>")
	tr.chunk("RECV ", []byte("ess/>"))
	tr.setRedact(false)
	assert.False(t, tr.redacting())
	tr.chunk("SEND ", []byte("<stream:stream>"))
	assert.Equal(t, "RECV <stream:features>\nRECV <success/>\nSEND <stream:stream>\n", out.String())

	var none *tracer
	none.chunk("SEND ", []byte("x"))
	none.note("SEND ", "x")
	none.setRedact(true)
	assert.False(t, none.redacting(), "a nil tracer traces nothing")
}

// What a server may do wrong in the middle of SASL is traced, with the
// payloads still redacted: the element it sent, and what the client
// answered (an abort, a stream error, the stream's end).
func TestTraceSASLFaults(t *testing.T) {
	const ns = "urn:ietf:params:xml:ns:xmpp-sasl"
	auth := "SEND <auth xmlns='" + ns + "' mechanism='SCRAM-SHA-1'>[payload redacted]</auth>"
	tests := []struct {
		name   string
		server string   // what the server sends after <auth/>
		want   []string // the trace from <auth/> on
	}{
		{"challenge that is not base64",
			"<challenge xmlns='" + ns + "'>not base64!</challenge>",
			[]string{auth,
				"RECV <challenge xmlns='" + ns + "'>[payload redacted]</challenge>",
				"SEND <stream:error><bad-format xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>SASL data is not base64</text></stream:error></stream:stream>",
			}},
		{"challenge the mechanism refuses: abort",
			"<challenge xmlns='" + ns + "'>" + scripted.Base64([]byte("r=not-our-nonce,s=c2FsdA==,i=4096")) + "</challenge>",
			[]string{auth,
				"RECV <challenge xmlns='" + ns + "'>[payload redacted]</challenge>",
				"SEND <abort xmlns='" + ns + "'/>",
			}},
		{"failure with a text",
			"<failure xmlns='" + ns + "'><not-authorized/><text xml:lang='en'>Wrong &amp; 'bad'</text></failure>",
			[]string{auth,
				"RECV <failure xmlns='" + ns + "'><not-authorized/><text xml:lang='en'>Wrong &amp; &apos;bad&apos;</text></failure>",
			}},
		{"stream error",
			"<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
			[]string{auth,
				"RECV <stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
				"SEND </stream:stream>",
			}},
		{"a stanza instead of SASL",
			"<iq xmlns='jabber:client' type='get' id='x'><query xmlns='secret:payload'/></iq>",
			[]string{auth,
				"RECV <iq xmlns='jabber:client'>[payload redacted]</iq>",
				"SEND <stream:error><unsupported-stanza-type xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>unexpected element during SASL</text></stream:error></stream:stream>",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var trace bytes.Buffer
			cfg := clientConfig(t)
			cfg.Trace = &trace
			cfg.Mechanisms = []sasl.Mechanism{sasl.ScramSHA1}
			_, err := dialPeer(t, cfg, func(p *peer) {
				p.Header()
				p.Features(featStartTLS)
				p.StartTLS()
				p.Header()
				p.Features(mechanisms("SCRAM-SHA-1"))
				p.Expect("auth")
				p.Send(tt.server)
				p.ExpectClosed()
			})
			require.Error(t, err)
			out := trace.String()
			i := strings.Index(out, "SEND <auth ")
			require.GreaterOrEqual(t, i, 0, out)
			assert.Equal(t, tt.want, strings.Split(strings.TrimSuffix(out[i:], "\n"), "\n"))
			assert.NotContains(t, out, "n,,n=juliet")
			assert.NotContains(t, out, "secret:payload")
		})
	}
}

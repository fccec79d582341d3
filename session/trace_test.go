package session_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/sasl"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/xmpptest"
)

// recorder is a SASL mechanism that keeps every payload its exchange
// sends or receives, so a test can look for them where they must not be.
type recorder struct {
	sasl.Mechanism
	payloads *[][]byte
}

func (r recorder) Start(n *sasl.Negotiation) (sasl.Exchange, []byte, error) {
	ex, initial, err := r.Mechanism.Start(n)
	if err != nil {
		return nil, nil, err
	}
	*r.payloads = append(*r.payloads, initial)
	return recordingExchange{ex, r.payloads}, initial, nil
}

type recordingExchange struct {
	sasl.Exchange
	payloads *[][]byte
}

func (e recordingExchange) Next(challenge []byte) ([]byte, error) {
	resp, err := e.Exchange.Next(challenge)
	*e.payloads = append(*e.payloads, challenge, resp)
	return resp, err
}

func (e recordingExchange) Verify(additional []byte) error {
	*e.payloads = append(*e.payloads, additional)
	return e.Exchange.Verify(additional)
}

const nsSASL = "urn:ietf:params:xml:ns:xmpp-sasl"

// The trace of a login shows each SASL element, with its name, namespace
// and mechanism, but none of its payload: not the password, not the SCRAM
// messages (client-first with the nonce, the client proof, the server
// signature), in neither base64 nor plain text.
func TestTraceSASL(t *testing.T) {
	scram := []string{
		"RECV <challenge xmlns='" + nsSASL + "'>[payload redacted]</challenge>",
		"SEND <response xmlns='" + nsSASL + "'>[payload redacted]</response>",
		"RECV <success xmlns='" + nsSASL + "'>[payload redacted]</success>",
	}
	tests := []struct {
		name     string
		mech     sasl.Mechanism
		password string
		want     []string // the lines from <auth/> on, up to the stream's restart or end
		wantErr  bool
		secrets  []string // in the payloads, in plain text
	}{
		{"SCRAM-SHA-256", sasl.ScramSHA256, "alice-secret",
			append([]string{"SEND <auth xmlns='" + nsSASL + "' mechanism='SCRAM-SHA-256'>[payload redacted]</auth>"}, scram...),
			false, []string{"n,,n=alice,r=", ",p=", "v="}},
		{"SCRAM-SHA-512-PLUS", sasl.ScramSHA512Plus, "alice-secret",
			append([]string{"SEND <auth xmlns='" + nsSASL + "' mechanism='SCRAM-SHA-512-PLUS'>[payload redacted]</auth>"}, scram...),
			false, []string{"p=tls-exporter,,n=alice,r=", ",p=", "v="}},
		{"PLAIN", sasl.Plain, "alice-secret",
			[]string{
				"SEND <auth xmlns='" + nsSASL + "' mechanism='PLAIN'>[payload redacted]</auth>",
				"RECV <success xmlns='" + nsSASL + "'>=</success>", // xmpptest's empty additional data
			},
			false, []string{"\x00alice\x00alice-secret"}},
		{"wrong password: the failure is shown whole", sasl.ScramSHA256, "not-the-password",
			append([]string{"SEND <auth xmlns='" + nsSASL + "' mechanism='SCRAM-SHA-256'>[payload redacted]</auth>"},
				scram[0], scram[1],
				"RECV <failure xmlns='"+nsSASL+"'><not-authorized/></failure>",
			),
			true, []string{"n,,n=alice,r=", ",p="}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := xmpptest.NewServer(t, nil)
			alice, err := srv.AddUser("alice", "alice-secret")
			require.NoError(t, err)
			var trace bytes.Buffer
			var payloads [][]byte
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := srv.Connect(ctx, alice, tt.password, &session.Config{
				Trace:      &trace,
				Mechanisms: []sasl.Mechanism{recorder{tt.mech, &payloads}},
			})
			if tt.wantErr {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
				require.NoError(t, s.Close(ctx))
			}
			out := trace.String()

			lines := strings.Split(out, "\n")
			auth := -1
			for i, l := range lines {
				if strings.HasPrefix(l, "SEND <auth ") {
					auth = i
					break
				}
			}
			require.GreaterOrEqual(t, auth, 0, "no <auth/> in the trace:\n%s", out)
			require.Greater(t, len(lines), auth+len(tt.want), out)
			assert.Equal(t, tt.want, lines[auth:auth+len(tt.want)], out)
			if tt.wantErr {
				assert.Equal(t, []string{""}, lines[auth+len(tt.want):], "the failure ends the trace")
			} else {
				assert.True(t, strings.HasPrefix(lines[auth+len(tt.want)], "SEND <?xml"), "then the stream restarts: %q", lines[auth+len(tt.want)])
				assert.Contains(t, out, "RECV <stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>", "tracing resumes after SASL")
			}
			assert.Contains(t, out, "SEND <starttls")
			assert.NotContains(t, out, "bytes of SASL")

			assert.NotContains(t, out, tt.password)
			require.NotEmpty(t, payloads)
			for _, p := range payloads {
				if len(p) == 0 {
					continue
				}
				assert.NotContains(t, out, base64.StdEncoding.EncodeToString(p), "payload %q", p)
				assert.NotContains(t, out, string(p))
			}
			all := string(bytes.Join(payloads, []byte{'|'}))
			for _, secret := range tt.secrets {
				require.Contains(t, all, secret, "the recorder saw the exchange")
				assert.NotContains(t, out, secret)
			}
		})
	}
}

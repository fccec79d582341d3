package ping_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/ping"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// sender is a session.Sender without a stream: SendIQ answers with reply.
type sender struct {
	sent  []*stanza.IQ
	reply func(req *stanza.IQ) (*stanza.IQ, error)
}

func (s *sender) Send(context.Context, stanza.Stanza) error { return nil }
func (s *sender) SendIQ(_ context.Context, iq *stanza.IQ) (*stanza.IQ, error) {
	s.sent = append(s.sent, iq)
	return s.reply(iq)
}
func (s *sender) Addr() jid.JID               { return jid.MustParse("juliet@example.com/balcony") }
func (s *sender) Features() *session.Features { return &session.Features{} }

// Send needs nothing but a session.Sender: what the reconnecting client
// will be, or a stub.
func TestSendOverAnySender(t *testing.T) {
	t.Parallel()
	to := jid.MustParse("example.com")
	tests := []struct {
		name  string
		reply func(req *stanza.IQ) (*stanza.IQ, error)
		err   error
	}{
		{"result", func(req *stanza.IQ) (*stanza.IQ, error) { return req.Result(nil), nil }, nil},
		{"iq error", func(req *stanza.IQ) (*stanza.IQ, error) {
			e := stanza.NewError(stanza.FeatureNotImplemented, "")
			return req.ErrorReply(e), e
		}, stanza.FeatureNotImplemented},
		{"no reply", func(*stanza.IQ) (*stanza.IQ, error) { return nil, session.ErrClosed }, session.ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &sender{reply: tt.reply}
			rtt, err := ping.Send(context.Background(), s, to)
			require.Len(t, s.sent, 1)
			assert.Equal(t, stanza.IQGet, s.sent[0].Type)
			assert.Equal(t, to, s.sent[0].To)
			assert.Equal(t, ping.Payload{}, s.sent[0].Payload)
			if tt.err == nil {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, tt.err)
			}
			if tt.err == session.ErrClosed {
				assert.Zero(t, rtt, "no reply, no round trip")
			}
		})
	}
}

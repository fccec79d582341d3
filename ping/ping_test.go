package ping_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/testkit/scripted"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/ping"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// dial logs a session with mux (nil for an empty one) in to a scripted
// peer, as juliet@example.com/balcony; the test then reads what the
// client sends with the peer's Received. The session is closed when the
// test ends.
func dial(t *testing.T, mux *session.Mux) (*session.Session, *scripted.Peer) {
	t.Helper()
	conn, p := scripted.Start(t, func(p *scripted.Peer) {
		p.Login()
		p.Serve(nil)
	})
	cfg := &session.Config{TLSConfig: scripted.ClientTLS(t), Resource: "balcony", KeepAlive: -1, Mux: mux}
	s, err := session.New(context.Background(), conn, scripted.Account, scripted.Password, cfg)
	require.NoError(t, err)
	closeAtEnd(t, s)
	return s, p
}

func TestSend(t *testing.T) {
	t.Parallel()
	const delay = 30 * time.Millisecond
	tests := []struct {
		name string
		to   string
		// reply is sent after delay; "" sends nothing.
		reply string
		err   error
		// answered says whether a reply arrived (rtt > 0).
		answered bool
	}{
		{name: "pong from server", to: "example.com", reply: `<iq type='result' id='$id' from='example.com'/>`, answered: true},
		{name: "pong for own account", reply: `<iq type='result' id='$id'/>`, answered: true},
		{
			name:     "service-unavailable",
			to:       "romeo@example.net/orchard",
			reply:    `<iq type='error' id='$id' from='romeo@example.net/orchard'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`,
			err:      stanza.ServiceUnavailable,
			answered: true,
		},
		{
			name:     "feature-not-implemented",
			to:       "romeo@example.net/orchard",
			reply:    `<iq type='error' id='$id' from='romeo@example.net/orchard'><error type='cancel'><feature-not-implemented xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`,
			err:      stanza.FeatureNotImplemented,
			answered: true,
		},
		{name: "no answer", to: "example.com", err: context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got string
			s, c := dial(t, nil)
			var to jid.JID
			if tt.to != "" {
				to = jid.MustParse(tt.to)
			}
			ctx := ctxT(t)
			if tt.reply == "" {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, 200*time.Millisecond)
				defer cancel()
			}
			done := make(chan struct{})
			var rtt time.Duration
			var err error
			go func() {
				defer close(done)
				rtt, err = ping.Send(ctx, s, to)
			}()
			el := c.Received()
			got = el.String()
			iq, perr := scripted.IQ(el)
			require.NoError(t, perr)
			if tt.reply != "" {
				time.Sleep(delay)
				c.Send(strings.ReplaceAll(tt.reply, "$id", iq.ID))
			}
			<-done
			assert.Contains(t, got, "<ping xmlns='urn:xmpp:ping'")
			assert.Equal(t, stanza.IQGet, iq.Type)
			if tt.err != nil {
				assert.ErrorIs(t, err, tt.err)
			} else {
				assert.NoError(t, err)
			}
			if tt.answered {
				assert.GreaterOrEqual(t, rtt, delay)
				assert.Less(t, rtt, 5*time.Second)
			} else {
				assert.Zero(t, rtt)
			}
		})
	}
}

func TestHandle(t *testing.T) {
	t.Parallel()
	mux := session.NewMux()
	ping.Handle(mux)
	assert.Contains(t, mux.Features(), ping.NS)
	_, c := dial(t, mux)
	c.Send("<iq type='get' id='p1' from='example.com' to='juliet@example.com/balcony'><ping xmlns='urn:xmpp:ping'/></iq>")
	reply, err := scripted.IQ(c.Received())
	require.NoError(t, err)
	assert.Equal(t, stanza.IQResult, reply.Type)
	assert.Equal(t, "p1", reply.ID)
	assert.Equal(t, "example.com", reply.To.String())
	assert.Nil(t, reply.Payload)
}

func TestUnhandledPingIsServiceUnavailable(t *testing.T) {
	t.Parallel()
	_, c := dial(t, session.NewMux())
	c.Send("<iq type='get' id='p1' from='example.com' to='juliet@example.com/balcony'><ping xmlns='urn:xmpp:ping'/></iq>")
	reply, err := scripted.IQ(c.Received())
	require.NoError(t, err)
	require.Equal(t, stanza.IQError, reply.Type)
	assert.ErrorIs(t, reply.Error, stanza.ServiceUnavailable)
}

func TestSendIQ(t *testing.T) {
	t.Parallel()
	s, c := dial(t, nil)
	req := &stanza.IQ{Header: stanza.Header{ID: "mine", To: jid.MustParse("example.com")}}
	done := make(chan error, 1)
	go func() {
		_, err := ping.SendIQ(ctxT(t), s, req)
		done <- err
	}()
	iq, err := scripted.IQ(c.Received())
	require.NoError(t, err)
	assert.Equal(t, "mine", iq.ID)
	c.Send("<iq type='result' id='mine' from='example.com'/>")
	assert.NoError(t, <-done)
	assert.Nil(t, req.Payload, "caller's iq modified")
}

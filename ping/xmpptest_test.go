package ping_test

import (
	"context"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/ping"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
	"github.com/parleyim/parley/xmpptest"
)

// connect logs user ("name/resource", password "pw") in to srv with mux
// (nil for an empty one) and closes the session when the test ends.
func connect(t *testing.T, srv *xmpptest.Server, user string, mux *session.Mux) *session.Session {
	t.Helper()
	local, res, _ := strings.Cut(user, "/")
	addr := jid.MustParse(local + "@" + srv.Domain().String() + "/" + res)
	s, err := srv.Connect(ctxT(t), addr, "pw", &session.Config{Mux: mux, KeepAlive: -1})
	require.NoError(t, err)
	closeAtEnd(t, s)
	return s
}

// Send against xmpptest, Parley's in-memory server: pings answered by the
// server for its domain and its accounts, by a client with Handle, and
// refused by a client without it or by the server for a missing resource.
func TestXMPPTestSend(t *testing.T) {
	t.Parallel()
	srv := xmpptest.NewServer(t, nil)
	for _, u := range []string{"alice", "bob", "carol"} {
		_, err := srv.AddUser(u, "pw")
		require.NoError(t, err)
	}
	alice := connect(t, srv, "alice/home", nil)
	bobMux := session.NewMux()
	ping.Handle(bobMux)
	bob := connect(t, srv, "bob/desk", bobMux)
	carol := connect(t, srv, "carol/phone", nil) // no ping handler

	tests := []struct {
		name    string
		to      jid.JID
		wantErr error // with rtt > 0: an answer came
	}{
		{"own server", jid.JID{}, nil},
		{"domain", srv.Domain(), nil},
		{"own bare JID", alice.Addr().Bare(), nil},
		{"another account", bob.Addr().Bare(), nil},
		{"client with Handle", bob.Addr(), nil},
		{"client without Handle", carol.Addr(), stanza.ServiceUnavailable},
		{"full JID not online", jid.MustParse("bob@example.test/gone"), stanza.ServiceUnavailable},
		{"no such account", jid.MustParse("nobody@example.test"), stanza.ServiceUnavailable},
		{"another domain", jid.MustParse("elsewhere.test"), stanza.RemoteServerNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rtt, err := ping.Send(ctxT(t), alice, tc.to)
			if tc.wantErr != nil {
				assert.ErrorIs(t, err, tc.wantErr)
				var se *stanza.Error
				assert.ErrorAs(t, err, &se, "the iq error comes back")
			} else {
				assert.NoError(t, err)
			}
			assert.Positive(t, rtt, "an answer arrived: the round trip is measured")
		})
	}
}

// When no answer arrives, Send reports the context's error and no round
// trip.
func TestXMPPTestSendNoAnswer(t *testing.T) {
	t.Parallel()
	srv := xmpptest.NewServer(t, nil)
	for _, u := range []string{"alice", "bob"} {
		_, err := srv.AddUser(u, "pw")
		require.NoError(t, err)
	}
	alice := connect(t, srv, "alice/home", nil)
	block := make(chan struct{})
	bobMux := session.NewMux()
	bobMux.HandleIQFunc(stanza.IQGet, xml.Name{Space: ping.NS, Local: "ping"}, func(context.Context, *session.Session, *stanza.IQ) (stanza.Payload, error) {
		<-block
		return nil, nil
	})
	bob := connect(t, srv, "bob/desk", bobMux)
	defer close(block)

	ctx, cancel := context.WithTimeout(ctxT(t), 100*time.Millisecond)
	defer cancel()
	rtt, err := ping.Send(ctx, alice, bob.Addr())
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Zero(t, rtt)
}

package presence_test

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/disco"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/presence"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// Directed presence on a new stream: what the application sent and did
// not end is sent again, after initial presence, on each new stream on
// the same Mux; what it ended is not.

// breakStream cuts the scripted peer's connection under the client (no
// close tag, no close hooks) and waits for the session to end.
func breakStream(t *testing.T, s *session.Session, p *peer) {
	t.Helper()
	if tc, ok := p.Conn().(*tls.Conn); ok {
		require.NoError(t, tc.NetConn().Close())
	} else {
		require.NoError(t, p.Conn().Close())
	}
	select {
	case <-s.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the session did not end")
	}
}

// TestDirectedOnNewStream: juliet sends directed presence to romeo's
// orchard resource and to a service, with the client's caps; her stream
// ends one of several ways, and a new stream on the same Mux sends what
// is left of it again, byte for byte, after initial presence.
func TestDirectedOnNewStream(t *testing.T) {
	t.Parallel()
	service := jid.MustParse("service.example.net")
	tests := []struct {
		name string
		// before runs on the first stream after the two directed
		// presences; end ends that stream.
		before  func(ctx context.Context, t *testing.T, m *presence.Manager, s *session.Session)
		end     func(t *testing.T, m *presence.Manager, s *session.Session, p *peer)
		initial bool      // the new stream sends initial presence
		again   []jid.JID // whose directed presence it sends again
	}{
		{name: "a broken stream keeps them", end: broken, initial: true, again: []jid.JID{orchard, service}},
		{
			name: "EndDirected ends one",
			before: func(ctx context.Context, t *testing.T, m *presence.Manager, s *session.Session) {
				require.NoError(t, m.EndDirected(ctx, s, orchard))
			},
			end: broken, initial: true, again: []jid.JID{service},
		},
		{
			name: "SetUnavailable ends them",
			before: func(ctx context.Context, t *testing.T, m *presence.Manager, s *session.Session) {
				require.NoError(t, m.SetUnavailable(ctx, s, ""))
			},
			end: broken,
		},
		{
			name: "SetUnavailable between the streams ends them",
			end: func(t *testing.T, m *presence.Manager, s *session.Session, p *peer) {
				breakStream(t, s, p)
				require.NoError(t, m.SetUnavailable(context.Background(), nil, ""))
			},
		},
		{
			name: "sent while unavailable, sent again while unavailable",
			before: func(ctx context.Context, t *testing.T, m *presence.Manager, s *session.Session) {
				require.NoError(t, m.SetUnavailable(ctx, s, ""))
				require.NoError(t, m.SendDirected(ctx, s, orchard, presence.Available{Show: stanza.ShowChat, Status: "psst"}))
			},
			end: broken, again: []jid.JID{orchard},
		},
		{
			name: "Close ends them",
			end: func(t *testing.T, _ *presence.Manager, s *session.Session, _ *peer) {
				require.NoError(t, s.Close(ctxT(t)))
			},
			initial: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux := session.NewMux()
			resp := disco.Handle(mux)
			r := newRecorderOn(mux, &presence.Options{Responder: resp}, nil)
			ctx := ctxT(t)
			s, p := dialScripted(t, r, nil, nil)
			marker(t, s, p)
			require.NoError(t, r.m.SendDirected(ctx, s, orchard, presence.Available{Show: stanza.ShowChat, Status: "psst"}))
			require.NoError(t, r.m.SendDirected(ctx, s, service, presence.Available{Priority: 3}))
			first := marker(t, s, p) // the two directed presences, as sent
			require.Len(t, first, 2)
			sent := map[jid.JID]string{orchard: first[0], service: first[1]}
			if tt.before != nil {
				tt.before(ctx, t, r.m, s)
				for _, el := range marker(t, s, p) { // a directed presence sent again
					if strings.Contains(el, "to='romeo@example.net/orchard'") && !strings.Contains(el, "type=") {
						sent[orchard] = el
					}
				}
			}
			tt.end(t, r.m, s, p)
			assert.Equal(t, tt.again, nilIfEmpty(r.m.Directed()), "remembered for the next stream")

			s2, p2 := dialScripted(t, r, nil, nil)
			var want []string
			if tt.initial {
				c, err := resp.Caps()
				require.NoError(t, err)
				want = append(want, `<presence xmlns='jabber:client'><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='`+
					c.Node+`' ver='`+c.Ver+`'/></presence>`)
			}
			for _, j := range tt.again {
				want = append(want, sent[j])
			}
			assert.Equal(t, want, marker(t, s2, p2), "the new stream's presence")
			assert.Equal(t, tt.again, nilIfEmpty(r.m.Directed()), "still remembered")
		})
	}
}

func broken(t *testing.T, _ *presence.Manager, s *session.Session, p *peer) { breakStream(t, s, p) }

func nilIfEmpty(js []jid.JID) []jid.JID {
	if len(js) == 0 {
		return nil
	}
	return js
}

// TestXMPPTestDirectedOnNewStream: carol, who has alice in her roster
// without a subscription, follows alice through her directed presence.
// alice's stream breaks (no stream management, so it ends): the server
// tells carol alice is offline; alice's next stream on the same Mux
// brings carol her presence back, as it was; alice's Close ends it.
func TestXMPPTestDirectedOnNewStream(t *testing.T) {
	t.Parallel()
	srv := newXServer(t, nil)
	require.NoError(t, srv.SetRosterItem(carol, roster.Item{JID: alice}))
	ctx := ctxT(t)
	c := xlogin(t, srv, "carol/home", xopts{})
	a := xlogin(t, srv, "alice/home", xopts{noSM: true})
	a.waitDescribed(t, alice, []string{"online alice@example.test/home /0/"})
	require.NoError(t, a.m.SendDirected(ctx, a.s, carol, presence.Available{Show: stanza.ShowChat, Status: "hi"}))
	online := "online alice@example.test/home chat/0/hi"
	offline := "offline alice@example.test/home chat/0/hi"
	c.waitDescribed(t, alice, []string{online})

	require.NoError(t, srv.Drop(account("alice/home")))
	select {
	case <-a.s.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("alice's session did not end")
	}
	c.waitDescribed(t, alice, []string{online, offline}) // the server spoke for alice
	waitGone(t, srv, account("alice/home"))

	s2, err := srv.Connect(ctx, account("alice/home"), "pw", &session.Config{Mux: a.mux, KeepAlive: -1, NoStreamManagement: true})
	require.NoError(t, err)
	closeAtEnd(t, s2)
	c.waitDescribed(t, alice, []string{online, offline, online})
	assert.True(t, c.online(alice))
	assert.Equal(t, []jid.JID{carol}, a.m.Directed())

	require.NoError(t, s2.Close(ctx))
	c.waitDescribed(t, alice, []string{online, offline, online, offline})
	assert.Empty(t, a.m.Directed(), "Close ended it")
}

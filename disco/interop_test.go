//go:build interop

package disco_test

import (
	"context"
	"encoding/xml"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/disco"
	"github.com/parleyim/parley/internal/testkit/xmppd"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/ping"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// login connects user (one of srv.Users) to srv with mux (nil for an
// empty one), trusting the server's certificate, with keepalive off; the
// session is closed when the test ends.
func login(t *testing.T, srv *xmppd.Server, user string, mux *session.Mux) *session.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := &session.Config{Addr: srv.Addr, TLSConfig: srv.TLSConfig(), Mux: mux, KeepAlive: -1}
	s, err := session.Dial(ctx, jid.MustParse(user+"@"+srv.Domain), srv.Users[user], cfg)
	require.NoError(t, err, "%s logs in to %s", user, srv.Kind)
	closeAtEnd(t, s)
	return s
}

func TestInteropDisco(t *testing.T) {
	for _, kind := range xmppd.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			srv := xmppd.Start(t, kind, xmppd.Options{})
			domain := jid.MustParse(srv.Domain)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()

			// Alice is a Parley client that answers disco and pings.
			aliceMux := session.NewMux()
			responder := disco.Handle(aliceMux, disco.Identity{Category: "client", Type: "bot", Name: "Parley interop"})
			ping.Handle(aliceMux)
			alice := login(t, srv, "alice", aliceMux)

			// Bob collects the caps of presence he receives.
			capsCh := make(chan *stanza.Presence, 4)
			bobMux := session.NewMux()
			bobMux.HandlePresenceFunc(session.PresenceRoute{Payload: jidCapsName}, func(_ context.Context, _ *session.Session, p *stanza.Presence) {
				select {
				case capsCh <- p:
				default:
				}
			})
			bob := login(t, srv, "bob", bobMux)
			require.NoError(t, bob.Send(ctx, &stanza.Presence{}))

			// The server's own disco#info.
			info, err := disco.GetInfo(ctx, alice, domain, "")
			require.NoError(t, err)
			t.Logf("%s server identities: %+v", kind, info.Identities)
			t.Logf("%s server features (%d): %v", kind, len(info.Features), info.Features)
			for _, f := range info.Forms {
				ft, _ := f.FormType()
				t.Logf("%s server form %s: %+v", kind, ft, f.Fields)
			}
			assert.True(t, info.HasIdentity("server", "im"), "server/im identity")
			assert.True(t, info.HasFeature(disco.NSInfo))
			if _, err := disco.Ver(info, "sha-1"); err != nil {
				t.Errorf("server's disco#info cannot be hashed: %v", err)
			}

			// A server that announces caps in its stream features must hash
			// to them: a check of Ver against other implementations.
			if raw, ok := alice.Features().Lookup(xmlName(disco.NSCaps, "c")); ok {
				c, err := disco.ParseCaps(raw)
				require.NoError(t, err)
				srvInfo, err := disco.GetInfo(ctx, alice, domain, c.NodeVer())
				require.NoError(t, err)
				assert.NoError(t, disco.Verify(srvInfo, c), "server caps %+v", c)
				t.Logf("%s stream-feature caps %+v verified", kind, c)
			} else {
				t.Logf("%s announces no caps in its stream features", kind)
			}

			// Its items.
			items, err := disco.GetItems(ctx, alice, domain, "")
			require.NoError(t, err)
			t.Logf("%s server items: %+v", kind, items)

			// The account's disco#info, answered by the server on its
			// behalf (XEP-0030 §3.1, the bare JID).
			acct, err := disco.GetInfo(ctx, alice, jid.JID{}, "")
			if err != nil {
				t.Logf("%s account disco#info: %v", kind, err)
			} else {
				t.Logf("%s account identities: %+v features: %v", kind, acct.Identities, acct.Features)
			}
			accountByJID, err := disco.GetInfo(ctx, bob, alice.Addr().Bare(), "")
			if err != nil {
				t.Logf("%s bob asks alice's bare JID: %v", kind, err)
			} else {
				t.Logf("%s bob asks alice's bare JID: identities %+v features %v", kind, accountByJID.Identities, accountByJID.Features)
			}

			// Alice sends available presence with caps, directed to bob
			// (no subscription needed).
			p := &stanza.Presence{Header: stanza.Header{To: bob.Addr()}}
			require.NoError(t, responder.Attach(p))
			require.NoError(t, alice.Send(ctx, p))

			var got *stanza.Presence
			select {
			case got = <-capsCh:
			case <-ctx.Done():
				t.Fatal("bob did not receive alice's presence with caps")
			}
			c, ok := disco.FindCaps(got)
			require.True(t, ok)
			want, err := responder.Caps()
			require.NoError(t, err)
			assert.Equal(t, want, c, "caps survive the server")

			// Bob verifies alice's caps through the cache: the server routes
			// his node#ver query to alice, whose responder answers.
			cache := disco.NewCache(0)
			capsInfo, err := cache.Lookup(ctx, bob, got.From, c)
			require.NoError(t, err)
			assert.Equal(t, aliceMux.Features(), capsInfo.Features)
			assert.True(t, capsInfo.HasFeature(ping.NS))
			assert.Equal(t, 1, cache.Len())

			// And a plain query to alice's full JID gives the same.
			direct, err := disco.GetInfo(ctx, bob, alice.Addr(), "")
			require.NoError(t, err)
			assert.Equal(t, aliceMux.Features(), direct.Features)
			t.Logf("%s alice via server: identities %+v features %v ver %s", kind, direct.Identities, direct.Features, c.Ver)

			// A node alice does not have.
			_, err = disco.GetInfo(ctx, bob, alice.Addr(), "no-such-node")
			assert.ErrorIs(t, err, stanza.ItemNotFound)
		})
	}
}

var jidCapsName = xmlName(disco.NSCaps, "c")

func xmlName(space, local string) xml.Name { return xml.Name{Space: space, Local: local} }

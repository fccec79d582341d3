package disco_test

import (
	"context"
	"encoding/xml"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/disco"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/ping"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
	"github.com/parleyim/parley/xmpptest"
)

// Behaviour of the disco package against xmpptest, Parley's in-memory
// server: real routing of queries, answers and presence between sessions.

// newXMPPServer starts an xmpptest server with the accounts alice, bob
// and carol (password "pw").
func newXMPPServer(t *testing.T) *xmpptest.Server {
	t.Helper()
	srv := xmpptest.NewServer(t, nil)
	for _, u := range []string{"alice", "bob", "carol"} {
		_, err := srv.AddUser(u, "pw")
		require.NoError(t, err)
	}
	return srv
}

// connect logs user ("name/resource") in to srv with mux (nil for an
// empty one) and closes the session when the test ends.
func connect(t *testing.T, srv *xmpptest.Server, user string, mux *session.Mux) *session.Session {
	t.Helper()
	local, res, _ := strings.Cut(user, "/")
	addr := jid.MustParse(local + "@" + srv.Domain().String() + "/" + res)
	s, err := srv.Connect(ctxT(t), addr, "pw", &session.Config{Mux: mux, KeepAlive: -1})
	require.NoError(t, err)
	closeAtEnd(t, s)
	return s
}

// discoClient is a mux the way a Parley client sets it up: disco#info and
// ping answered.
func discoClient() (*session.Mux, *disco.Responder) {
	mux := session.NewMux()
	r := disco.Handle(mux, disco.Identity{Category: "client", Type: "pc", Name: "Parley test"})
	ping.Handle(mux)
	return mux, r
}

func TestXMPPTestGetInfo(t *testing.T) {
	t.Parallel()
	srv := newXMPPServer(t)
	alice := connect(t, srv, "alice/home", nil)
	bobMux, bobDisco := discoClient()
	bob := connect(t, srv, "bob/desk", bobMux)
	bobCaps, err := bobDisco.Caps()
	require.NoError(t, err)

	server := []disco.Identity{{Category: "server", Type: "im", Name: "Parley xmpptest"}}
	account := []disco.Identity{{Category: "account", Type: "registered"}}
	bobID := []disco.Identity{{Category: "client", Type: "pc", Name: "Parley test"}}
	tests := []struct {
		name       string
		to         jid.JID
		node       string
		identities []disco.Identity
		features   []string // exactly these, unless subset
		subset     bool
		wantErr    error
	}{
		{"domain", srv.Domain(), "", server, []string{disco.NSInfo, disco.NSItems, ping.NS}, true, nil},
		{"own account", jid.JID{}, "", account, []string{disco.NSInfo}, true, nil},
		{"own bare JID", alice.Addr().Bare(), "", account, []string{disco.NSInfo}, true, nil},
		{"another account", bob.Addr().Bare(), "", account, []string{disco.NSInfo}, true, nil},
		{"account with no session", jid.MustParse("carol@example.test"), "", account, []string{disco.NSInfo}, true, nil},
		{"client", bob.Addr(), "", bobID, []string{disco.NSCaps, disco.NSInfo, ping.NS}, false, nil},
		{"client caps node", bob.Addr(), bobCaps.NodeVer(), bobID, []string{disco.NSCaps, disco.NSInfo, ping.NS}, false, nil},
		{"client unknown node", bob.Addr(), "urn:example:nope", nil, nil, false, stanza.ItemNotFound},
		{"client stale caps node", bob.Addr(), disco.DefaultNode + "#c3RhbGU=", nil, nil, false, stanza.ItemNotFound},
		{"domain unknown node", srv.Domain(), "urn:example:nope", nil, nil, false, stanza.ItemNotFound},
		{"account unknown node", bob.Addr().Bare(), "urn:example:nope", nil, nil, false, stanza.ItemNotFound},
		{"full JID not online", jid.MustParse("bob@example.test/gone"), "", nil, nil, false, stanza.ServiceUnavailable},
		{"no such account", jid.MustParse("nobody@example.test"), "", nil, nil, false, stanza.ServiceUnavailable},
		{"another domain", jid.MustParse("elsewhere.test"), "", nil, nil, false, stanza.RemoteServerNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			info, err := disco.GetInfo(ctxT(t), alice, tc.to, tc.node)
			if tc.wantErr != nil {
				assert.ErrorIs(t, err, tc.wantErr)
				assert.Nil(t, info)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.node, info.Node)
			assert.Equal(t, tc.identities, info.Identities)
			if tc.subset {
				assert.Subset(t, info.Features, tc.features)
			} else {
				assert.Equal(t, tc.features, info.Features)
				assert.Equal(t, bobMux.Features(), info.Features, "a Parley client announces exactly its mux")
			}
			_, err = disco.Ver(info, "sha-1")
			assert.NoError(t, err, "the answer has no duplicates (XEP-0115 §5.4)")
		})
	}
}

func TestXMPPTestGetItems(t *testing.T) {
	t.Parallel()
	srv := newXMPPServer(t)
	alice := connect(t, srv, "alice/home", nil)
	bobMux, _ := discoClient()
	bob := connect(t, srv, "bob/desk", bobMux)
	tests := []struct {
		name    string
		to      jid.JID
		node    string
		wantErr error
	}{
		{"domain", srv.Domain(), "", nil},
		{"own account", jid.JID{}, "", nil},
		{"another account", bob.Addr().Bare(), "", nil},
		{"domain node", srv.Domain(), "urn:example:nope", stanza.ItemNotFound},
		{"client without an items handler", bob.Addr(), "", stanza.ServiceUnavailable},
		{"full JID not online", jid.MustParse("bob@example.test/gone"), "", stanza.ServiceUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, err := disco.GetItems(ctxT(t), alice, tc.to, tc.node)
			if tc.wantErr != nil {
				assert.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Empty(t, items)
		})
	}
}

// capsInbox receives the presence with caps that a session gets.
func capsInbox(mux *session.Mux) <-chan *stanza.Presence {
	ch := make(chan *stanza.Presence, 8)
	mux.HandlePresenceFunc(session.PresenceRoute{Payload: xml.Name{Space: disco.NSCaps, Local: "c"}},
		func(_ context.Context, _ *session.Session, p *stanza.Presence) { ch <- p })
	return ch
}

// sendCaps has s send presence with caps to the full JID to and returns
// it as to received it from in.
func sendCaps(t *testing.T, s *session.Session, to jid.JID, caps disco.Caps, in <-chan *stanza.Presence) *stanza.Presence {
	t.Helper()
	p := &stanza.Presence{Header: stanza.Header{To: to}, Extensions: []stanza.Payload{caps}}
	require.NoError(t, s.Send(ctxT(t), p))
	select {
	case got := <-in:
		require.Equal(t, s.Addr(), got.From)
		return got
	case <-ctxT(t).Done():
		t.Fatal("the presence with caps did not arrive")
		return nil
	}
}

// countInfoQueries counts the disco#info gets that from sends through srv.
// Read it after a round trip of from to the server (ping.Send to the
// domain): the server has routed everything from sent before.
func countInfoQueries(srv *xmpptest.Server, from jid.JID) *atomic.Int32 {
	var n atomic.Int32
	srv.Watch(func(r xmpptest.Routed) {
		iq, ok := r.Stanza.(*stanza.IQ)
		if !ok || iq.Type != stanza.IQGet || iq.From != from {
			return
		}
		if raw, ok := iq.Raw(); ok && raw.Name() == (xml.Name{Space: disco.NSInfo, Local: "query"}) {
			n.Add(1)
		}
	})
	return &n
}

// barrier waits until the server has routed everything s sent before.
func barrier(t *testing.T, s *session.Session, srv *xmpptest.Server) {
	t.Helper()
	_, err := ping.Send(ctxT(t), s, srv.Domain())
	require.NoError(t, err)
}

// XEP-0115 end to end: bob announces caps in directed presence, alice
// finds them, verifies them through bob's Responder and then knows them
// without asking again, also for carol, who runs the same software.
func TestXMPPTestCaps(t *testing.T) {
	t.Parallel()
	srv := newXMPPServer(t)
	aliceMux := session.NewMux()
	in := capsInbox(aliceMux)
	alice := connect(t, srv, "alice/home", aliceMux)
	queries := countInfoQueries(srv, alice.Addr())
	bobMux, bobDisco := discoClient()
	bob := connect(t, srv, "bob/desk", bobMux)
	carolMux, carolDisco := discoClient()
	carol := connect(t, srv, "carol/phone", carolMux)

	// Attach puts the caps in the presence; they survive the server.
	p := &stanza.Presence{Header: stanza.Header{To: alice.Addr()}}
	require.NoError(t, bobDisco.Attach(p))
	require.NoError(t, bob.Send(ctxT(t), p))
	var got *stanza.Presence
	select {
	case got = <-in:
	case <-ctxT(t).Done():
		t.Fatal("alice did not receive bob's presence")
	}
	assert.Equal(t, bob.Addr(), got.From)
	caps, ok := disco.FindCaps(got)
	require.True(t, ok)
	want, err := bobDisco.Caps()
	require.NoError(t, err)
	assert.Equal(t, want, caps)
	assert.Equal(t, disco.DefaultNode, caps.Node)

	cache := disco.NewCache(0)
	info, err := cache.Lookup(ctxT(t), alice, got.From, caps)
	require.NoError(t, err)
	assert.Equal(t, bobMux.Features(), info.Features)
	assert.True(t, info.HasIdentity("client", "pc"))
	assert.Empty(t, info.Node)
	assert.Equal(t, 1, cache.Len())
	barrier(t, alice, srv)
	assert.Equal(t, int32(1), queries.Load(), "the first lookup asks bob")

	again, err := cache.Lookup(ctxT(t), alice, got.From, caps)
	require.NoError(t, err)
	assert.Equal(t, info, again)

	// Carol's client is the same software: same ver, no new query.
	carolCaps, err := carolDisco.Caps()
	require.NoError(t, err)
	require.Equal(t, caps, carolCaps)
	fromCarol := sendCaps(t, carol, alice.Addr(), carolCaps, in)
	c, ok := disco.FindCaps(fromCarol)
	require.True(t, ok)
	_, err = cache.Lookup(ctxT(t), alice, fromCarol.From, c)
	require.NoError(t, err)
	barrier(t, alice, srv)
	assert.Equal(t, int32(1), queries.Load(), "known caps are not asked again")
	assert.Equal(t, 1, cache.Len())

	// Bob adds a feature: his ver changes and the new one is asked.
	bobMux.AddFeature("urn:example:new")
	newCaps, err := bobDisco.Caps()
	require.NoError(t, err)
	require.NotEqual(t, caps.Ver, newCaps.Ver)
	fromBob := sendCaps(t, bob, alice.Addr(), newCaps, in)
	c, ok = disco.FindCaps(fromBob)
	require.True(t, ok)
	info, err = cache.Lookup(ctxT(t), alice, fromBob.From, c)
	require.NoError(t, err)
	assert.True(t, info.HasFeature("urn:example:new"))
	barrier(t, alice, srv)
	assert.Equal(t, int32(2), queries.Load())
	assert.Equal(t, 2, cache.Len())
}

// A client whose disco#info does not hash to the ver it announces is not
// believed, and its answer is not cached: the next lookup of that ver asks
// again, and an honest client with that ver is then believed.
func TestXMPPTestCapsLiar(t *testing.T) {
	t.Parallel()
	srv := newXMPPServer(t)
	aliceMux := session.NewMux()
	in := capsInbox(aliceMux)
	alice := connect(t, srv, "alice/home", aliceMux)
	queries := countInfoQueries(srv, alice.Addr())
	bobMux, bobDisco := discoClient()
	bob := connect(t, srv, "bob/desk", bobMux)
	honest, err := bobDisco.Caps()
	require.NoError(t, err)

	// Carol claims bob's ver but answers with other features, also at
	// the node#ver she announced.
	carolMux := session.NewMux()
	carolMux.HandleIQFunc(stanza.IQGet, xml.Name{Space: disco.NSInfo, Local: "query"},
		func(context.Context, *session.Session, *stanza.IQ) (stanza.Payload, error) {
			return &disco.Info{
				Node:       honest.NodeVer(),
				Identities: []disco.Identity{{Category: "client", Type: "pc", Name: "Parley test"}},
				Features:   []string{disco.NSInfo, "urn:example:evil"},
			}, nil
		})
	carol := connect(t, srv, "carol/phone", carolMux)

	cache := disco.NewCache(0)
	for i := range 2 {
		p := sendCaps(t, carol, alice.Addr(), honest, in)
		c, ok := disco.FindCaps(p)
		require.True(t, ok)
		info, err := cache.Lookup(ctxT(t), alice, p.From, c)
		assert.ErrorIs(t, err, disco.ErrVerMismatch)
		assert.Nil(t, info)
		assert.Zero(t, cache.Len())
		_, cached := cache.Get(c.Hash, c.Ver)
		assert.False(t, cached)
		barrier(t, alice, srv)
		assert.Equal(t, int32(i+1), queries.Load(), "a lie is not cached: every lookup asks")
	}

	p := sendCaps(t, bob, alice.Addr(), honest, in)
	c, ok := disco.FindCaps(p)
	require.True(t, ok)
	info, err := cache.Lookup(ctxT(t), alice, p.From, c)
	require.NoError(t, err)
	assert.False(t, info.HasFeature("urn:example:evil"))
	assert.Equal(t, bobMux.Features(), info.Features)
	assert.Equal(t, 1, cache.Len())
}

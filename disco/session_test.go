package disco_test

import (
	"context"
	"encoding/xml"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyim/parley/form"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/disco"
	"github.com/parleyim/parley/internal/testkit/scripted"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/ping"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// dial logs a session with mux (nil for an empty one) in to a scripted
// peer, as juliet@example.com/balcony; the peer then hands what the
// client sends to h, and leaves what h does not take (all of it when h is
// nil) to its Received. The session is closed when the test ends.
func dial(t *testing.T, mux *session.Mux, h scripted.Handler) (*session.Session, *scripted.Peer) {
	t.Helper()
	conn, p := scripted.Start(t, func(p *scripted.Peer) {
		p.Login()
		p.Serve(h)
	})
	cfg := &session.Config{TLSConfig: scripted.ClientTLS(t), Resource: "balcony", KeepAlive: -1, Mux: mux}
	s, err := session.New(context.Background(), conn, scripted.Account, scripted.Password, cfg)
	require.NoError(t, err)
	closeAtEnd(t, s)
	return s, p
}

// replier answers each iq get the client sends with reply(iq), where
// "$id" in the returned XML is replaced by the iq's id; it counts the
// queries in n.
func replier(t *testing.T, n *atomic.Int32, reply func(iq *stanza.IQ, payload *stanza.Raw) string) scripted.Handler {
	return func(p *scripted.Peer, el *stanza.Raw) bool {
		iq, err := scripted.IQ(el)
		if err != nil || iq.Type != stanza.IQGet {
			return false
		}
		raw, _ := iq.Raw()
		if n != nil {
			n.Add(1)
		}
		p.Send(strings.ReplaceAll(reply(iq, raw), "$id", iq.ID))
		return true
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

const serverInfo = `<iq type='result' id='$id' from='example.com' to='juliet@example.com/balcony'>
<query xmlns='http://jabber.org/protocol/disco#info'>
<identity category='server' type='im' name='Example'/>
<feature var='http://jabber.org/protocol/disco#info'/>
<feature var='urn:xmpp:ping'/>
<x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE' type='hidden'><value>http://jabber.org/network/serverinfo</value></field><field var='abuse-addresses'><value>mailto:abuse@example.com</value></field></x>
</query></iq>`

func TestGetInfo(t *testing.T) {
	t.Parallel()
	domain := jid.MustParse("example.com")
	tests := []struct {
		name  string
		node  string
		reply string
		check func(t *testing.T, info *disco.Info, err error)
	}{
		{
			name:  "server",
			reply: serverInfo,
			check: func(t *testing.T, info *disco.Info, err error) {
				require.NoError(t, err)
				assert.True(t, info.HasIdentity("server", "im"))
				assert.Equal(t, []string{disco.NSInfo, "urn:xmpp:ping"}, info.Features)
				f, ok := info.Form("http://jabber.org/network/serverinfo")
				require.True(t, ok)
				abuse, _ := f.Field("abuse-addresses")
				assert.Equal(t, []string{"mailto:abuse@example.com"}, abuse.Values)
			},
		},
		{
			name:  "node echoed",
			node:  "some#node",
			reply: `<iq type='result' id='$id' from='example.com'><query xmlns='http://jabber.org/protocol/disco#info' node='some#node'><identity category='a' type='b'/></query></iq>`,
			check: func(t *testing.T, info *disco.Info, err error) {
				require.NoError(t, err)
				assert.Equal(t, "some#node", info.Node)
			},
		},
		{
			name:  "item-not-found",
			node:  "nope",
			reply: `<iq type='error' id='$id' from='example.com'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`,
			check: func(t *testing.T, info *disco.Info, err error) {
				assert.ErrorIs(t, err, stanza.ItemNotFound)
				assert.Nil(t, info)
			},
		},
		{
			name:  "empty result",
			reply: `<iq type='result' id='$id' from='example.com'/>`,
			check: func(t *testing.T, info *disco.Info, err error) {
				assert.ErrorIs(t, err, disco.ErrMalformed)
			},
		},
		{
			name:  "wrong payload",
			reply: `<iq type='result' id='$id' from='example.com'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`,
			check: func(t *testing.T, info *disco.Info, err error) {
				assert.ErrorIs(t, err, disco.ErrMalformed)
			},
		},
		{
			name:  "identity without category",
			reply: `<iq type='result' id='$id' from='example.com'><query xmlns='http://jabber.org/protocol/disco#info'><identity type='im'/></query></iq>`,
			check: func(t *testing.T, info *disco.Info, err error) {
				assert.ErrorIs(t, err, disco.ErrMalformed)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var sent atomic.Value
			s, _ := dial(t, nil, replier(t, nil, func(iq *stanza.IQ, raw *stanza.Raw) string {
				sent.Store(raw.String())
				return tt.reply
			}))
			info, err := disco.GetInfo(ctxT(t), s, domain, tt.node)
			tt.check(t, info, err)
			q := sent.Load().(string)
			assert.Contains(t, q, "http://jabber.org/protocol/disco#info")
			if tt.node != "" {
				assert.Contains(t, q, "node='"+tt.node+"'")
			} else {
				assert.NotContains(t, q, "node=")
			}
		})
	}
}

func TestGetInfoSpoofedReplyIgnored(t *testing.T) {
	t.Parallel()
	// A result with the right id from another address must not be taken
	// for the answer: the real one that follows is.
	s, _ := dial(t, nil, replier(t, nil, func(iq *stanza.IQ, _ *stanza.Raw) string {
		return `<iq type='result' id='$id' from='mallory@evil.example'><query xmlns='http://jabber.org/protocol/disco#info'><identity category='evil' type='x'/></query></iq>` + serverInfo
	}))
	info, err := disco.GetInfo(ctxT(t), s, jid.MustParse("example.com"), "")
	require.NoError(t, err)
	assert.True(t, info.HasIdentity("server", "im"))
	assert.False(t, info.HasIdentity("evil", "x"))
}

func TestGetInfoIQ(t *testing.T) {
	t.Parallel()
	var lang atomic.Value
	s, _ := dial(t, nil, replier(t, nil, func(iq *stanza.IQ, _ *stanza.Raw) string {
		lang.Store(iq.Lang)
		return serverInfo
	}))
	req := &stanza.IQ{Header: stanza.Header{To: jid.MustParse("example.com"), Lang: "de"}, Type: stanza.IQSet}
	_, err := disco.GetInfoIQ(ctxT(t), s, req, "")
	require.NoError(t, err)
	assert.Equal(t, "de", lang.Load())
	assert.Equal(t, stanza.IQSet, req.Type, "caller's iq modified")
	assert.Nil(t, req.Payload, "caller's iq modified")
}

func TestGetItems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		reply string
		want  []disco.Item
		err   error
	}{
		{
			name: "two items",
			reply: `<iq type='result' id='$id' from='example.com'><query xmlns='http://jabber.org/protocol/disco#items'>
				<item jid='conference.example.com' name='Rooms'/><item jid='example.com' node='announce'/></query></iq>`,
			want: []disco.Item{
				{JID: jid.MustParse("conference.example.com"), Name: "Rooms"},
				{JID: jid.MustParse("example.com"), Node: "announce"},
			},
		},
		{
			name:  "none",
			reply: `<iq type='result' id='$id' from='example.com'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`,
		},
		{
			name:  "service-unavailable",
			reply: `<iq type='error' id='$id' from='example.com'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`,
			err:   stanza.ServiceUnavailable,
		},
		{
			name:  "bad jid",
			reply: `<iq type='result' id='$id' from='example.com'><query xmlns='http://jabber.org/protocol/disco#items'><item jid='@example.com'/></query></iq>`,
			err:   disco.ErrMalformed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := dial(t, nil, replier(t, nil, func(*stanza.IQ, *stanza.Raw) string { return tt.reply }))
			items, err := disco.GetItems(ctxT(t), s, jid.MustParse("example.com"), "")
			if tt.err != nil {
				assert.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, items)
		})
	}
}

// query sends a disco#info get to the client and returns its reply.
func query(t *testing.T, c *scripted.Peer, node string) *stanza.IQ {
	t.Helper()
	attr := ""
	if node != "" {
		attr = " node='" + node + "'"
	}
	c.Send("<iq type='get' id='q1' from='romeo@example.net/orchard' to='juliet@example.com/balcony'><query xmlns='http://jabber.org/protocol/disco#info'" + attr + "/></iq>")
	reply, err := scripted.IQ(c.Received())
	require.NoError(t, err)
	require.Equal(t, "q1", reply.ID)
	assert.Equal(t, "romeo@example.net/orchard", reply.To.String())
	return reply
}

func TestResponder(t *testing.T) {
	t.Parallel()
	mux := session.NewMux()
	bot := disco.Identity{Category: "client", Type: "bot", Name: "Testbot", Lang: "en"}
	r := disco.Handle(mux, bot)
	_, c := dial(t, mux, nil)

	reply := query(t, c, "")
	require.Equal(t, stanza.IQResult, reply.Type)
	raw, ok := reply.Raw()
	require.True(t, ok)
	info, err := disco.ParseInfo(raw)
	require.NoError(t, err)
	assert.Equal(t, []disco.Identity{bot}, info.Identities)
	assert.Equal(t, mux.Features(), info.Features)
	assert.Contains(t, info.Features, disco.NSInfo)
	assert.NotContains(t, info.Features, ping.NS)

	// Registering a handler changes the answer at once.
	ping.Handle(mux)
	info, err = disco.ParseInfo(mustPayload(t, query(t, c, "")))
	require.NoError(t, err)
	assert.Contains(t, info.Features, ping.NS)
	assert.Equal(t, mux.Features(), info.Features)

	// The caps node with the current ver is answered, with the node
	// echoed; the answer hashes to that ver.
	caps, err := r.Caps()
	require.NoError(t, err)
	info, err = disco.ParseInfo(mustPayload(t, query(t, c, caps.NodeVer())))
	require.NoError(t, err)
	assert.Equal(t, caps.NodeVer(), info.Node)
	assert.NoError(t, disco.Verify(info, caps))

	// Any other node, and an outdated ver, is item-not-found.
	for _, node := range []string{"other", disco.DefaultNode + "#QgayPKawpkPSDYmwT/WM94uAlu0="} {
		reply = query(t, c, node)
		require.Equal(t, stanza.IQError, reply.Type, node)
		assert.ErrorIs(t, reply.Error, stanza.ItemNotFound)
	}

	// Identities and forms can change.
	r.SetIdentities()
	r.SetForms(form.New(form.TypeResult, "urn:xmpp:dataforms:softwareinfo", form.Field{Var: "software", Values: []string{"Parley"}}))
	info, err = disco.ParseInfo(mustPayload(t, query(t, c, "")))
	require.NoError(t, err)
	assert.Equal(t, []disco.Identity{disco.DefaultIdentity}, info.Identities)
	f, ok := info.Form("urn:xmpp:dataforms:softwareinfo")
	require.True(t, ok)
	sw, _ := f.Field("software")
	assert.Equal(t, []string{"Parley"}, sw.Values)
}

func mustPayload(t *testing.T, iq *stanza.IQ) *stanza.Raw {
	t.Helper()
	require.Equal(t, stanza.IQResult, iq.Type, "reply: %+v", iq.Error)
	raw, ok := iq.Raw()
	require.True(t, ok)
	return raw
}

func TestResponderAttach(t *testing.T) {
	t.Parallel()
	mux := session.NewMux()
	r := disco.Handle(mux)
	r.SetNode("https://example.com/bot")
	p := &stanza.Presence{Extensions: []stanza.Payload{disco.Caps{Hash: "sha-1", Node: "old", Ver: "old"}}}
	require.NoError(t, r.Attach(p))
	require.Len(t, p.Extensions, 1)
	c, ok := p.Extensions[0].(disco.Caps)
	require.True(t, ok)
	assert.Equal(t, "https://example.com/bot", c.Node)
	assert.Equal(t, "sha-1", c.Hash)
	want, err := disco.Ver(r.Info(), "sha-1")
	require.NoError(t, err)
	assert.Equal(t, want, c.Ver)

	// The element survives encoding and decoding, and FindCaps finds it.
	b, err := p.AppendXML(nil)
	require.NoError(t, err)
	d := xml.NewDecoder(strings.NewReader(string(b)))
	d.DefaultSpace = stanza.NS
	tok, err := d.Token()
	require.NoError(t, err)
	got, err := stanza.DecodePresence(d, tok.(xml.StartElement))
	require.NoError(t, err)
	found, ok := disco.FindCaps(got)
	require.True(t, ok)
	assert.Equal(t, c, found)

	// Duplicate identities cannot be hashed.
	r.SetIdentities(disco.DefaultIdentity, disco.DefaultIdentity)
	assert.ErrorIs(t, r.Attach(p), disco.ErrIllFormed)
}

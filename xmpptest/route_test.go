package xmpptest_test

import (
	"context"
	"encoding/xml"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
	"github.com/parleyim/parley/xmpptest"
)

func chat(to jid.JID, body string) *stanza.Message {
	return &stanza.Message{Header: stanza.Header{To: to}, Type: stanza.MessageChat, Body: body}
}

// RFC 6121 §8.5.2.1.1: a message to a bare JID goes to the available
// resources of highest non-negative priority, all of them on a tie. With
// none, chat and normal are kept offline (offline_test.go), or bounced
// when offline storage is off.
func TestBareJIDMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		priorities []int8 // of bob's resources; -128 not available
		typ        stanza.MessageType
		noStorage  bool
		want       []bool // which resources receive it
		bounced    bool
	}{
		{"single", []int8{0}, stanza.MessageChat, false, []bool{true}, false},
		{"highest wins", []int8{1, 5, 3}, stanza.MessageChat, false, []bool{false, true, false}, false},
		{"tie goes to all", []int8{5, 5, 3}, stanza.MessageNormal, false, []bool{true, true, false}, false},
		{"negative priority never: kept offline", []int8{-1, -5}, stanza.MessageChat, false, []bool{false, false}, false},
		{"unavailable never: kept offline", []int8{-128}, stanza.MessageChat, false, []bool{false}, false},
		{"negative priority never: bounced without storage", []int8{-1, -5}, stanza.MessageChat, true, []bool{false, false}, true},
		{"unavailable never: bounced without storage", []int8{-128}, stanza.MessageNormal, true, []bool{false}, true},
		{"headline to all non-negative", []int8{0, 7, -1}, stanza.MessageHeadline, false, []bool{true, true, false}, false},
		{"headline with none is dropped", []int8{-128}, stanza.MessageHeadline, false, []bool{false}, false},
		{"groupchat is refused", []int8{0}, stanza.MessageGroupChat, false, []bool{false}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, &xmpptest.Config{NoOfflineStorage: tc.noStorage})
			a, ain := login(t, srv, "alice", nil)
			var inboxes []*inbox
			for i, p := range tc.priorities {
				b, bin := login(t, srv, "bob/r"+string(rune('0'+i)), nil)
				if p != -128 {
					available(t, b, p)
					syncServer(t, b) // the presence is handled before the ping
				}
				inboxes = append(inboxes, bin)
			}
			m := chat(jid.MustParse("bob@example.test"), "hello")
			m.Type = tc.typ
			require.NoError(t, a.Send(ctx(t), m))
			syncServer(t, a)
			for i, in := range inboxes {
				if tc.want[i] {
					got := in.message(t)
					assert.Equal(t, "hello", got.Body)
					assert.Equal(t, a.Addr(), got.From)
				} else {
					in.noMessage(t)
				}
			}
			if tc.bounced {
				e := ain.message(t)
				assert.Equal(t, stanza.MessageError, e.Type)
				assert.ErrorIs(t, e.Error, stanza.ServiceUnavailable)
				assert.Equal(t, "bob@example.test", e.From.String())
			} else {
				ain.noMessage(t)
			}
		})
	}
}

// syncServer waits until the server has handled everything s sent.
func syncServer(t *testing.T, s *session.Session) {
	t.Helper()
	_, err := s.SendIQ(ctx(t), pingIQ(s.Addr().Domain()))
	require.NoError(t, err)
}

// RFC 6121 §8.5.3: full JIDs.
func TestFullJIDMessages(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	a, ain := login(t, srv, "alice", nil)
	b1, b1in := login(t, srv, "bob/one", nil)
	_, b2in := login(t, srv, "bob/two", nil)
	available(t, b1, 1)
	syncServer(t, b1)

	t.Run("bound resource, even unavailable", func(t *testing.T) {
		require.NoError(t, a.Send(ctx(t), chat(jid.MustParse("bob@example.test/two"), "to two")))
		assert.Equal(t, "to two", b2in.message(t).Body)
		b1in.noMessage(t)
	})
	t.Run("unknown resource: chat goes as to the bare JID", func(t *testing.T) {
		require.NoError(t, a.Send(ctx(t), chat(jid.MustParse("bob@example.test/gone"), "to gone")))
		got := b1in.message(t)
		assert.Equal(t, "to gone", got.Body)
		assert.Equal(t, "bob@example.test/gone", got.To.String())
		b2in.noMessage(t)
	})
	t.Run("unknown resource: headline is dropped", func(t *testing.T) {
		m := chat(jid.MustParse("bob@example.test/gone"), "news")
		m.Type = stanza.MessageHeadline
		require.NoError(t, a.Send(ctx(t), m))
		syncServer(t, a)
		b1in.noMessage(t)
		ain.noMessage(t)
	})
	t.Run("from is stamped", func(t *testing.T) {
		m := chat(jid.MustParse("bob@example.test/one"), "stamped")
		m.From = a.Addr().Bare()
		require.NoError(t, a.Send(ctx(t), m))
		assert.Equal(t, a.Addr(), b1in.message(t).From)
	})
}

// TestUnroutable: without offline storage, a message for an offline
// account is bounced like one for an account that does not exist (with
// storage it is kept: offline_test.go).
func TestUnroutable(t *testing.T) {
	t.Parallel()
	srv := newServer(t, &xmpptest.Config{NoOfflineStorage: true})
	a, ain := login(t, srv, "alice", nil)
	tests := []struct {
		name string
		to   string
		want stanza.Condition
	}{
		{"unknown account", "mallory@example.test", stanza.ServiceUnavailable},
		{"unknown account, full JID", "mallory@example.test/x", stanza.ServiceUnavailable},
		{"other domain", "romeo@montague.example", stanza.RemoteServerNotFound},
		{"the server itself", "example.test", stanza.ServiceUnavailable},
		{"offline account", "carol@example.test", stanza.ServiceUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			to := jid.MustParse(tc.to)
			m := chat(to, "anyone?")
			m.ID = "m-" + tc.name
			require.NoError(t, a.Send(ctx(t), m))
			e := ain.message(t)
			assert.Equal(t, stanza.MessageError, e.Type)
			assert.Equal(t, m.ID, e.ID)
			assert.Equal(t, to, e.From)
			assert.ErrorIs(t, e.Error, tc.want)

			_, err := a.SendIQ(ctx(t), pingIQ(to))
			if tc.name == "the server itself" || tc.name == "offline account" {
				assert.NoError(t, err, "the server answers a ping for its domain and its accounts")
			} else {
				assert.ErrorIs(t, err, tc.want)
			}
		})
	}
}

// IQs: to a full JID they are delivered and answered by the client; to a
// bare JID or to the domain the server answers.
func TestIQRouting(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	a, _ := login(t, srv, "alice", nil)
	mux := session.NewMux()
	type query struct {
		XMLName xml.Name `xml:"urn:example:q query"`
		Text    string   `xml:",chardata"`
	}
	mux.HandleIQFunc(stanza.IQGet, xml.Name{Space: "urn:example:q", Local: "query"},
		func(_ context.Context, _ *session.Session, iq *stanza.IQ) (stanza.Payload, error) {
			return stanza.Marshal(query{Text: "from bob, asked by " + iq.From.String()})
		})
	b, err := srv.Connect(ctx(t), account(srv, "bob/desk"), "pw-bob", &session.Config{Mux: mux, KeepAlive: -1})
	require.NoError(t, err)
	defer b.Close(context.Background())
	q, err := stanza.Marshal(query{})
	require.NoError(t, err)

	tests := []struct {
		name    string
		to      string
		payload stanza.Payload
		want    error
		text    string
	}{
		{"full JID, client answers", "bob@example.test/desk", q, nil, "from bob, asked by alice@example.test/"},
		{"unknown full JID", "bob@example.test/gone", q, stanza.ServiceUnavailable, ""},
		{"bare JID, unknown namespace", "bob@example.test", q, stanza.ServiceUnavailable, ""},
		{"bare JID ping", "bob@example.test", pingIQ(jid.JID{}).Payload, nil, ""},
		{"own bare JID ping", "alice@example.test", pingIQ(jid.JID{}).Payload, nil, ""},
		{"domain, unknown namespace", "example.test", q, stanza.ServiceUnavailable, ""},
		{"no to, unknown namespace", "", q, stanza.ServiceUnavailable, ""},
		{"no to, ping", "", pingIQ(jid.JID{}).Payload, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var to jid.JID
			if tc.to != "" {
				to = jid.MustParse(tc.to)
			}
			reply, err := a.SendIQ(ctx(t), &stanza.IQ{Header: stanza.Header{To: to}, Type: stanza.IQGet, Payload: tc.payload})
			if tc.want != nil {
				assert.ErrorIs(t, err, tc.want)
				return
			}
			require.NoError(t, err)
			if tc.text != "" {
				raw, ok := reply.Raw()
				require.True(t, ok)
				var got query
				require.NoError(t, raw.Decode(&got))
				assert.Contains(t, got.Text, tc.text)
				assert.Equal(t, b.Addr(), reply.From)
			}
		})
	}
}

// XEP-0030 for the domain.
func TestDisco(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	a, _ := login(t, srv, "alice", nil)
	info, _ := stanza.ParseRaw([]byte("<query xmlns='http://jabber.org/protocol/disco#info'/>"))
	reply, err := a.SendIQ(ctx(t), &stanza.IQ{Header: stanza.Header{To: srv.Domain()}, Type: stanza.IQGet, Payload: info})
	require.NoError(t, err)
	raw, _ := reply.Raw()
	var v struct {
		Identity []struct {
			Category string `xml:"category,attr"`
			Type     string `xml:"type,attr"`
		} `xml:"identity"`
		Feature []struct {
			Var string `xml:"var,attr"`
		} `xml:"feature"`
	}
	require.NoError(t, raw.Decode(&v))
	require.Len(t, v.Identity, 1)
	assert.Equal(t, "server", v.Identity[0].Category)
	assert.Equal(t, "im", v.Identity[0].Type)
	var features []string
	for _, f := range v.Feature {
		features = append(features, f.Var)
	}
	assert.Subset(t, features, []string{"http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/disco#items", "urn:xmpp:ping"})

	items, _ := stanza.ParseRaw([]byte("<query xmlns='http://jabber.org/protocol/disco#items'/>"))
	reply, err = a.SendIQ(ctx(t), &stanza.IQ{Header: stanza.Header{To: srv.Domain()}, Type: stanza.IQGet, Payload: items})
	require.NoError(t, err)
	raw, _ = reply.Raw()
	assert.Equal(t, "<query xmlns='http://jabber.org/protocol/disco#items'/>", raw.String())

	node, _ := stanza.ParseRaw([]byte("<query xmlns='http://jabber.org/protocol/disco#info' node='nope'/>"))
	_, err = a.SendIQ(ctx(t), &stanza.IQ{Header: stanza.Header{To: srv.Domain()}, Type: stanza.IQGet, Payload: node})
	assert.ErrorIs(t, err, stanza.ItemNotFound)
}

// Directed presence goes to the resource, or to every available resource
// of a bare JID.
func TestDirectedPresence(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	a, _ := login(t, srv, "alice", nil)
	b, bin := login(t, srv, "bob/one", nil)
	available(t, b, 0)
	syncServer(t, b)
	echo := <-bin.pres // a resource's presence comes back to it (RFC 6121 §4.2.2)
	assert.Equal(t, b.Addr(), echo.From)
	require.NoError(t, a.Send(ctx(t), &stanza.Presence{Header: stanza.Header{To: jid.MustParse("bob@example.test")}, Status: "hi bob"}))
	select {
	case p := <-bin.pres:
		assert.Equal(t, "hi bob", p.Status)
		assert.Equal(t, a.Addr(), p.From)
	case <-ctx(t).Done():
		t.Fatal("no presence")
	}
}

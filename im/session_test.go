package im_test

import (
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/im"
	"github.com/parleyim/parley/internal/testkit/scripted"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// The Manager against a scripted server, which says what a test needs:
// juliet's roster, whether her server stamps stanza-ids, and messages no
// real contact would send. What the client answers is read in order: after
// each message the peer sends an iq, which the client answers only once
// the Manager has handled the message before it (one dispatcher, arrival
// order), so whatever the client sent before that answer is all the
// message made it send.

// julietRoster is what the scripted server answers the roster get with.
const julietRoster = `<query xmlns='jabber:iq:roster'>` +
	`<item jid='romeo@example.net' subscription='both'/>` +
	`<item jid='benvolio@example.net' subscription='from'/>` +
	`<item jid='nurse@example.com' subscription='to'/>` +
	`<item jid='mercutio@example.net' subscription='none'/></query>`

// peer is a scripted server and what the client sent it.
type peer struct {
	*scripted.Peer
	sent  chan *stanza.Raw
	seq   int
	disco *atomic.Int32 // disco#info queries answered
}

// dialScripted logs juliet in (resource balcony) to a scripted peer with
// in's Mux. The peer answers the roster get with julietRoster and the
// disco#info get of juliet's bare JID with the features sidFeatures (none:
// an empty query; "error": item-not-found), then keeps what the client
// sends for next and sync.
func dialScripted(t *testing.T, in *inbox, sidFeatures string) (*session.Session, *peer) {
	t.Helper()
	sent := make(chan *stanza.Raw, 256)
	discos := new(atomic.Int32)
	conn, p := scripted.Start(t, func(p *scripted.Peer) {
		p.ToBind("SCRAM-SHA-1", "PLAIN")
		p.Features(scripted.BindFeature)
		p.Bind("")
		p.Serve(func(p *scripted.Peer, el *stanza.Raw) bool {
			iq, err := scripted.IQ(el)
			if err == nil && iq.Type == stanza.IQGet {
				raw, _ := iq.Raw()
				switch raw.Name().Space {
				case "jabber:iq:roster":
					p.Send("<iq type='result' id='" + iq.ID + "' to='juliet@example.com/balcony'>" + julietRoster + "</iq>")
					return true
				case "http://jabber.org/protocol/disco#info":
					discos.Add(1)
					if iq.To.String() != "juliet@example.com" {
						p.Fatalf("disco#info asked of %s, not of the account's bare JID", iq.To)
					}
					if sidFeatures == "error" {
						p.Send("<iq type='error' id='" + iq.ID + "' from='juliet@example.com'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>")
						return true
					}
					p.Send("<iq type='result' id='" + iq.ID + "' from='juliet@example.com'><query xmlns='http://jabber.org/protocol/disco#info'>" + sidFeatures + "</query></iq>")
					return true
				}
			}
			sent <- el
			return true
		})
	})
	cfg := &session.Config{TLSConfig: scripted.ClientTLS(t), Resource: "balcony", KeepAlive: -1, Mux: in.mux}
	s, err := session.New(ctxT(t), conn, scripted.Account, scripted.Password, cfg)
	require.NoError(t, err)
	closeAtEnd(t, s)
	return s, &peer{Peer: p, sent: sent, disco: discos}
}

// next returns the next element the client sent.
func (p *peer) next(t *testing.T) *stanza.Raw {
	t.Helper()
	select {
	case el := <-p.sent:
		return el
	case <-time.After(10 * time.Second):
		t.Fatal("the client sent nothing")
		return nil
	}
}

// deliver sends the message xml to the client and returns what the client
// sent while handling it (see the file comment).
func (p *peer) deliver(t *testing.T, xml string) []*stanza.Raw {
	t.Helper()
	p.Send(xml)
	p.seq++
	id := "sync" + strconv.Itoa(p.seq)
	p.Send("<iq type='get' id='" + id + "' from='example.com'><sync xmlns='urn:example:sync'/></iq>")
	var out []*stanza.Raw
	for {
		el := p.next(t)
		if el.Name().Local == "iq" && el.Attr("id") == id {
			return out
		}
		out = append(out, el)
	}
}

func TestReceiptRules(t *testing.T) {
	t.Parallel()
	const sidNone = ""
	tests := []struct {
		name   string
		policy im.ReceiptPolicy
		msg    string // from, type, id and payload; the request is added
		ack    string // the receipt's to and type; "" for none
	}{
		{"chat from a contact with subscription both", im.ReceiptsToSubscribers,
			`from='romeo@example.net/orchard' type='chat' id='m1'`, "romeo@example.net/orchard chat"},
		{"normal from a contact with subscription from", im.ReceiptsToSubscribers,
			`from='benvolio@example.net/street' id='m1'`, "benvolio@example.net/street "},
		{"from another resource of the account", im.ReceiptsToSubscribers,
			`from='juliet@example.com/chamber' type='chat' id='m1'`, "juliet@example.com/chamber chat"},
		{"subscription to: the contact may not see juliet's presence", im.ReceiptsToSubscribers,
			`from='nurse@example.com/kitchen' type='chat' id='m1'`, ""},
		{"subscription none", im.ReceiptsToSubscribers,
			`from='mercutio@example.net/square' type='chat' id='m1'`, ""},
		{"a stranger", im.ReceiptsToSubscribers,
			`from='tybalt@example.org/street' type='chat' id='m1'`, ""},
		{"a stranger, receipts to anyone", im.ReceiptsToAnyone,
			`from='tybalt@example.org/street' type='chat' id='m1'`, "tybalt@example.org/street chat"},
		{"no automatic receipts", im.NoReceipts,
			`from='romeo@example.net/orchard' type='chat' id='m1'`, ""},
		{"error", im.ReceiptsToAnyone,
			`from='romeo@example.net/orchard' type='error' id='m1'`, ""},
		{"groupchat", im.ReceiptsToAnyone,
			`from='room@muc.example.net/romeo' type='groupchat' id='m1'`, ""},
		{"headline", im.ReceiptsToAnyone,
			`from='romeo@example.net/orchard' type='headline' id='m1'`, ""},
		{"no id", im.ReceiptsToAnyone,
			`from='romeo@example.net/orchard' type='chat'`, ""},
		{"no from", im.ReceiptsToAnyone,
			`type='chat' id='m1'`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := newInbox(&im.Options{Receipts: tt.policy})
			_, p := dialScripted(t, in, sidNone)
			out := p.deliver(t, "<message "+tt.msg+"><body>hi</body><request xmlns='urn:xmpp:receipts'/></message>")
			if tt.ack == "" {
				assert.Empty(t, out, "no receipt")
			} else {
				require.Len(t, out, 1, "one receipt")
				ack := out[0]
				assert.Equal(t, tt.ack, ack.Attr("to")+" "+ack.Attr("type"))
				assert.NotEmpty(t, ack.Attr("id"), "the receipt has an id of its own")
				assert.Contains(t, ack.String(), `<received xmlns='urn:xmpp:receipts' id='m1'/>`)
				assert.NotContains(t, ack.String(), "request", "a receipt asks for no receipt")
			}
			// The application saw the message in every case, before the answer.
			m := in.waitID(t, attrOf(tt.msg, "id"))
			assert.True(t, m.ReceiptRequest)
		})
	}
}

// attrOf returns the value of attr in an attribute list like "a='b' c='d'".
func attrOf(attrs, attr string) string {
	_, v, ok := strings.Cut(attrs, attr+"='")
	if !ok {
		return ""
	}
	v, _, _ = strings.Cut(v, "'")
	return v
}

func TestStanzaIDTrust(t *testing.T) {
	t.Parallel()
	const sid = "<feature var='urn:xmpp:sid:0'/>"
	const msg = "<message from='romeo@example.net/orchard' type='chat' id='m1'><body>hi</body>" +
		"<stanza-id xmlns='urn:xmpp:sid:0' id='forged' by='romeo@example.net'/>" +
		"<stanza-id xmlns='urn:xmpp:sid:0' id='arch-7' by='juliet@example.com'/></message>"
	tests := []struct {
		name     string
		features string
		want     string
	}{
		{"the server announces urn:xmpp:sid:0", sid, "arch-7"},
		{"it does not", "<feature var='urn:xmpp:receipts'/>", ""},
		{"the query fails", "error", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := newInbox(nil)
			_, p := dialScripted(t, in, tt.features)
			assert.Equal(t, tt.want != "", in.m.StanzaIDs())
			assert.Equal(t, int32(1), p.disco.Load(), "one disco#info query per stream")
			p.deliver(t, msg)
			m := in.waitID(t, "m1")
			assert.Equal(t, tt.want, m.StanzaID)
			assert.Len(t, m.StanzaIDs, 2, "every stanza-id is still there to read")
		})
	}
}

func TestIgnoreStanzaIDsAsksNothing(t *testing.T) {
	t.Parallel()
	in := newInbox(&im.Options{IgnoreStanzaIDs: true})
	_, p := dialScripted(t, in, "<feature var='urn:xmpp:sid:0'/>")
	p.deliver(t, "<message from='juliet@example.com' id='m1'><body>x</body>"+
		"<stanza-id xmlns='urn:xmpp:sid:0' id='arch-7' by='juliet@example.com'/></message>")
	assert.Zero(t, p.disco.Load(), "no disco#info query")
	assert.False(t, in.m.StanzaIDs())
	assert.Equal(t, "", in.waitID(t, "m1").StanzaID)
}

// The Mux lists chat states always and receipts only when the Manager
// answers them (XEP-0184 §4: an entity that supports receipts says so).
func TestFeatures(t *testing.T) {
	t.Parallel()
	for _, policy := range []im.ReceiptPolicy{im.NoReceipts, im.ReceiptsToSubscribers, im.ReceiptsToAnyone} {
		mux := session.NewMux()
		im.Handle(mux, roster.Handle(mux), &im.Options{Receipts: policy})
		assert.Contains(t, mux.Features(), im.NSChatStates)
		if policy == im.NoReceipts {
			assert.NotContains(t, mux.Features(), im.NSReceipts)
		} else {
			assert.Contains(t, mux.Features(), im.NSReceipts, "policy %d", policy)
		}
	}
}

func TestOddMessagesAreDelivered(t *testing.T) {
	t.Parallel()
	in := newInbox(&im.Options{Receipts: im.ReceiptsToAnyone})
	_, p := dialScripted(t, in, "")

	// Only an unknown extension, no body: delivered as such.
	p.deliver(t, "<message from='romeo@example.net/orchard' id='u1'><x xmlns='urn:example:unknown'>1</x></message>")
	m := in.waitID(t, "u1")
	assert.NoError(t, m.Fault)
	require.Len(t, m.Other, 1)
	assert.Equal(t, "urn:example:unknown", m.Other[0].(*stanza.Raw).Name().Space)

	// A malformed stamp: a fault reported with the message, whose body and
	// receipt request are still read and answered.
	out := p.deliver(t, "<message from='romeo@example.net/orchard' type='chat' id='d1'><body>late</body>"+
		"<delay xmlns='urn:xmpp:delay' stamp='yesterday'/><request xmlns='urn:xmpp:receipts'/></message>")
	m = in.waitID(t, "d1")
	assert.ErrorIs(t, m.Fault, im.ErrMalformed)
	assert.Equal(t, "late", m.Body)
	assert.True(t, m.ReceiptRequest)
	assert.Empty(t, m.Delays)
	require.Len(t, out, 1, "the request is answered all the same")

	// An error answering one of juliet's messages: the *stanza.Error with
	// the original id.
	p.deliver(t, "<message from='nobody@example.com' type='error' id='sent-1'><error type='cancel'>"+
		"<service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>")
	m = in.waitID(t, "sent-1")
	require.NotNil(t, m.Error)
	assert.True(t, errors.Is(m.Error, stanza.ServiceUnavailable))
}

// A carbon-looking <received/> from a contact is that contact's message: the
// forwarded message's sender gets no conversation and no receipt, and its
// request, chat state and body are not the outer message's (CVE-2017-5589
// class).
func TestForwardedStaysWrapped(t *testing.T) {
	t.Parallel()
	in := newInbox(&im.Options{Receipts: im.ReceiptsToAnyone})
	_, p := dialScripted(t, in, "")
	out := p.deliver(t, "<message from='mercutio@example.net/square' type='chat' id='c1'>"+
		"<received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>"+
		"<message xmlns='jabber:client' from='romeo@example.net/orchard' to='juliet@example.com/balcony' type='chat' id='inner'>"+
		"<body>meet me at the tomb</body><composing xmlns='http://jabber.org/protocol/chatstates'/><request xmlns='urn:xmpp:receipts'/>"+
		"</message></forwarded></received></message>")
	assert.Empty(t, out, "no receipt for the inner message, and none for the outer, which asks for none")
	m := in.waitID(t, "c1")
	assert.Equal(t, jid.MustParse("mercutio@example.net/square"), m.From)
	assert.Empty(t, m.Body)
	assert.False(t, m.ReceiptRequest)
	assert.Equal(t, im.NoChatState, m.ChatState)
	require.Len(t, m.Other, 1)
	assert.Equal(t, []jid.JID{jid.MustParse("mercutio@example.net")}, in.m.Conversations(),
		"a conversation with the wrapper's sender only")
	assert.Equal(t, jid.MustParse("mercutio@example.net/square"), in.m.Conversation(jid.MustParse("mercutio@example.net")).To())
}

// A message that arrives a second time from the same sender with the same
// origin-id (a sender's resumed stream sending again what a server had
// already routed) reaches the application once, and its receipt request is
// answered once. Everything that is not such a repeat is delivered.
func TestRepeatedMessageDropped(t *testing.T) {
	t.Parallel()
	in := newInbox(&im.Options{Receipts: im.ReceiptsToAnyone})
	_, p := dialScripted(t, in, "")
	msg := func(from, typ, id, origin, body string) string {
		x := "<message from='" + from + "' type='" + typ + "' id='" + id + "'><body>" + body + "</body><request xmlns='urn:xmpp:receipts'/>"
		if origin != "" {
			x += "<origin-id xmlns='urn:xmpp:sid:0' id='" + origin + "'/>"
		}
		return x + "</message>"
	}
	const romeo, garden = "romeo@example.net/orchard", "romeo@example.net/garden"
	steps := []struct {
		xml      string
		received bool
	}{
		{msg(romeo, "chat", "m1", "o1", "first"), true},
		{msg(romeo, "chat", "m1", "o1", "first"), false},
		{msg(romeo, "chat", "m1-again", "o1", "first, with another id"), false},
		{msg(garden, "chat", "m2", "o1", "another resource"), true},
		{msg(romeo, "normal", "m3", "o3", "normal"), true},
		{msg(romeo, "normal", "m3", "o3", "normal"), false},
		{msg(romeo, "chat", "m4", "", "no origin-id"), true},
		{msg(romeo, "chat", "m4", "", "no origin-id"), true},
		{msg("room@muc.example.net/romeo", "groupchat", "g1", "o5", "groupchat"), true},
		{msg("room@muc.example.net/romeo", "groupchat", "g1", "o5", "groupchat"), true},
	}
	want := 0
	for i, st := range steps {
		out := p.deliver(t, st.xml)
		in.mu.Lock()
		got := len(in.msgs)
		in.mu.Unlock()
		if st.received {
			want++
		}
		require.Equal(t, want, got, "step %d: messages handed to the application after %s", i, st.xml)
		receipts := 0
		for _, el := range out {
			if el.Name().Local == "message" {
				receipts++
			}
		}
		if st.received && !strings.Contains(st.xml, "groupchat") {
			assert.Equal(t, 1, receipts, "step %d: the receipt request is answered", i)
		} else {
			assert.Zero(t, receipts, "step %d: no receipt", i)
		}
	}
}

// The Manager remembers origin-ids across sessions: a message handled on
// one stream and delivered again on the next (the server's offline copy of
// a message whose acknowledgement the broken stream never carried) reaches
// the application once.
func TestRepeatAcrossSessions(t *testing.T) {
	t.Parallel()
	in := newInbox(nil)
	s1, p1 := dialScripted(t, in, "")
	p1.deliver(t, "<message from='romeo@example.net/orchard' type='chat' id='m1'><body>once</body>"+
		"<origin-id xmlns='urn:xmpp:sid:0' id='o1'/></message>")
	in.waitID(t, "m1")
	require.NoError(t, s1.Close(ctxT(t)))

	_, p2 := dialScripted(t, in, "")
	p2.deliver(t, "<message from='romeo@example.net/orchard' type='chat' id='m1'><body>once</body>"+
		"<origin-id xmlns='urn:xmpp:sid:0' id='o1'/>"+
		"<delay xmlns='urn:xmpp:delay' from='example.net' stamp='2026-12-03T10:00:00Z'>Offline Storage</delay></message>")
	p2.deliver(t, "<message from='romeo@example.net/orchard' type='chat' id='m2'><body>next</body>"+
		"<origin-id xmlns='urn:xmpp:sid:0' id='o2'/></message>")
	in.waitID(t, "m2")
	in.mu.Lock()
	defer in.mu.Unlock()
	require.Len(t, in.msgs, 2, "m1, then m2; not m1's offline copy")
	assert.Equal(t, "m1", in.msgs[0].ID)
	assert.Empty(t, in.msgs[0].Delays)
}

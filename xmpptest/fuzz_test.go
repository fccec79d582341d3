package xmpptest_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
	"github.com/parleyim/parley/xmpptest"
)

// FuzzServerInput logs alice in by hand and sends arbitrary bytes on her
// established stream. The server must not panic, must let go of the
// connection when alice hangs up, and must never pass bob (a Parley
// session, available) anything his session cannot read.
func FuzzServerInput(f *testing.F) {
	for _, seed := range []string{
		"<message to='bob@example.test'><body>hi</body></message>",
		"<message to='bob@example.test/fuzz' type='chat' xml:lang='fr'><body>salut</body><thread parent='p'>t</thread><x xmlns='urn:x'><y a='1'/></x></message>",
		"<presence to='bob@example.test'><show>away</show><status>brb</status><priority>3</priority></presence>",
		"<presence><priority>-1</priority></presence><message to='bob@example.test' type='headline'><body>news</body></message>",
		"<iq type='get' id='1' to='bob@example.test/fuzz'><query xmlns='urn:example'/></iq>",
		"<iq type='get' id='2' to='example.test'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
		"<iq type='result' id='3' to='bob@example.test/fuzz'/>",
		"<iq type='set' id='4'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>again</resource></bind></iq>",
		"<message from='bob@example.test'><body>spoof</body></message>",
		"<message to='a@b@c'/>",
		"<message><body>unclosed",
		"<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
		"</stream:stream>",
		"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHB3LWFsaWNl</auth>",
		"<message to='bob@example.test'><body>&#0;</body></message>",
		"<message to='bob@example.test'><body>&lt;&amp;&#x1F600;</body></message>",
		"<iq type='get' id='r1'><query xmlns='jabber:iq:roster' ver=''/></iq><iq type='set' id='r2'><query xmlns='jabber:iq:roster'><item jid='bob@example.test' name='Bob'><group>G</group></item></query></iq>",
		"<iq type='set' id='r3'><query xmlns='jabber:iq:roster'><item jid='bob@example.test' subscription='remove'/></query></iq>",
		"<iq type='set' id='r4'><query xmlns='jabber:iq:roster'><item jid='Bob@Example.Test' ask='subscribe'><group/><group>A</group><group>A</group></item></query></iq>",
		"<iq type='get' id='r5' to='bob@example.test'><query xmlns='jabber:iq:roster' ver='1-00000000'><item jid='x@y'/></query></iq>",
		"<presence to='bob@example.test' type='subscribe'><status>hi</status></presence><presence to='bob@example.test' type='subscribed'/><presence to='bob@example.test' type='unsubscribe'/><presence to='bob@example.test' type='unsubscribed'/>",
		"<presence type='subscribe'/><presence to='bob@example.test/fuzz' type='probe'/><presence to='example.test' type='subscribed'/><presence to='alice@example.test' type='subscribe'/><presence to='far@away.test' type='subscribe'/>",
		"<presence/><presence to='carol@example.test/x'/><presence to='bob@example.test/fuzz'/><presence type='error' to='bob@example.test'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence><presence type='unavailable'/>",
		"<message to='carol@example.test' type='chat'><body>stored</body></message><message to='carol@example.test/gone'><x xmlns='urn:x'/></message><message to='carol@example.test' type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>",
		"<message to='alice@example.test'><body>to self, stored</body></message><presence><priority>-1</priority></presence><message><body>again</body></message><presence><priority>2</priority></presence>",
		"<iq type='set' id='p1'><query xmlns='jabber:iq:privacy'><list name='l'><item type='jid' value='bob@example.test' action='deny' order='1'><message/><presence-out/></item><item action='allow' order='2'/></list></query></iq><iq type='set' id='p2'><query xmlns='jabber:iq:privacy'><active name='l'/></query></iq><message to='bob@example.test/fuzz'><body>x</body></message><presence/><iq type='get' id='p3' to='bob@example.test/fuzz'><ping xmlns='urn:xmpp:ping'/></iq>",
		"<iq type='set' id='p4'><query xmlns='jabber:iq:privacy'><list name='d'><item type='subscription' value='none' action='deny' order='0'/><item type='group' value='G' action='allow' order='9'><iq/><presence-in/></item></list></query></iq><iq type='set' id='p5'><query xmlns='jabber:iq:privacy'><default name='d'/></query></iq><iq type='get' id='p6'><query xmlns='jabber:iq:privacy'/></iq><iq type='get' id='p7'><query xmlns='jabber:iq:privacy'><list name='d'/></query></iq>",
		"<iq type='set' id='p8'><query xmlns='jabber:iq:privacy'><list name='d'/></query></iq><iq type='set' id='p9'><query xmlns='jabber:iq:privacy'><active/><default/></query></iq><iq type='set' id='pa'><query xmlns='jabber:iq:privacy'><list name='x'><item action='deny' order='1'/><item action='allow' order='1'/></list></query></iq><iq type='get' id='pb' to='bob@example.test'><query xmlns='jabber:iq:privacy'/></iq>",
		"<iq type='get' id='b1'><blocklist xmlns='urn:xmpp:blocking'/></iq><iq type='set' id='b2'><block xmlns='urn:xmpp:blocking'><item jid='bob@example.test'/><item jid='example.test/fuzz'/></block></iq><message to='bob@example.test/fuzz'><body>blocked</body></message><presence to='bob@example.test' type='subscribe'/>",
		"<iq type='set' id='b3'><unblock xmlns='urn:xmpp:blocking'><item jid='bob@example.test'/></unblock></iq><iq type='set' id='b4'><unblock xmlns='urn:xmpp:blocking'/></iq><iq type='set' id='b5'><block xmlns='urn:xmpp:blocking'/></iq><iq type='set' id='b6'><block xmlns='urn:xmpp:blocking'><item jid='a@b@c'/></block></iq>",
	} {
		f.Add([]byte(seed))
	}
	// A resumable stream management session (XEP-0198) outlives its
	// connection: it ends at once here, so that alice's resource goes.
	srv, err := xmpptest.Start(&xmpptest.Config{ResumeTimeout: time.Nanosecond})
	require.NoError(f, err)
	f.Cleanup(func() { _ = srv.Close() })
	for _, u := range []string{"alice", "bob"} {
		_, err := srv.AddUser(u, "pw-"+u)
		require.NoError(f, err)
	}
	ctx := context.Background()
	bob, err := srv.Connect(ctx, jid.MustParse("bob@example.test/fuzz"), "pw-bob", nil)
	require.NoError(f, err)
	f.Cleanup(func() { _ = bob.Close(ctx) })
	require.NoError(f, bob.Send(ctx, &stanza.Presence{}))

	f.Fuzz(func(t *testing.T, data []byte) {
		c := dialRaw(t, srv)
		pipe := c.conn
		c.login("alice")
		drained := make(chan struct{})
		go func() {
			defer close(drained)
			_, _ = io.Copy(io.Discard, c.conn)
		}()
		_, _ = c.conn.Write(data)
		pipe.Close()
		<-drained
		require.Eventually(t, func() bool { return len(srv.Resources(alice)) == 0 }, 10*time.Second, time.Millisecond,
			"the server kept alice's connection")
		select {
		case <-bob.Done():
			t.Fatalf("bob's session ended: %v", bob.Err())
		default:
		}
	})
}

// FuzzServerHandshake sends arbitrary bytes from the first byte of a
// connection, before any authentication, as anyone on the TCP port could.
// The server must not panic, and Close must end everything it started.
func FuzzServerHandshake(f *testing.F) {
	hdr := "<?xml version='1.0'?><stream:stream to='example.test' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
	for _, seed := range []string{
		hdr,
		hdr + "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
		hdr + "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHB3LWFsaWNl</auth>",
		hdr + "<message to='bob@example.test'><body>early</body></message>",
		hdr + "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>",
		hdr + "</stream:stream>",
		"<stream:stream xmlns:stream='http://etherx.jabber.org/streams' to='EXAMPLE.TEST' version='1.5'>",
		"<?xml version='1.0' encoding='UTF-16'?><stream:stream>",
		"\x16\x03\x01\x00\x05hello",
		"<!DOCTYPE x [<!ENTITY a 'b'>]><stream:stream>",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		srv, err := xmpptest.Start(nil)
		require.NoError(t, err)
		_, _ = srv.AddUser("alice", "pw-alice")
		conn, err := srv.Pipe()
		require.NoError(t, err)
		drained := make(chan struct{})
		go func() {
			defer close(drained)
			_, _ = io.Copy(io.Discard, conn)
		}()
		_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = conn.Write(data)
		conn.Close()
		<-drained
		require.NoError(t, srv.Close())
	})
}

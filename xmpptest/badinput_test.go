package xmpptest_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
	"github.com/parleyim/parley/xmpptest"
)

// Faults that end the stream: each case brings the stream to a stage and
// sends something wrong there.
func TestStreamErrors(t *testing.T) {
	t.Parallel()
	big := "<message to='bob@example.test'><body>" + strings.Repeat("x", 2000) + "</body></message>"
	tests := []struct {
		name  string
		stage string // "header", "plain", "tls", "bound"
		input string
		want  stanza.StreamCondition
	}{
		{"header to another host", "header", "<?xml version='1.0'?><stream:stream to='elsewhere.example' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>", stanza.StreamHostUnknown},
		{"header without to", "header", "<stream:stream version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>", stanza.StreamHostUnknown},
		{"header in the wrong namespace", "header", "<stream:stream to='example.test' version='1.0' xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams'>", stanza.StreamInvalidNamespace},
		{"header of version 0.9", "header", "<stream:stream to='example.test' version='0.9' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>", stanza.StreamUnsupportedVersion},
		{"header not XML", "header", "GET / HTTP/1.1\r\n\r\n<html>", stanza.StreamNotWellFormed},
		{"stanza before TLS", "plain", "<message to='bob@example.test'><body>hi</body></message>", stanza.StreamNotAuthorized},
		{"stanza before authentication", "tls", "<iq type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq>", stanza.StreamNotAuthorized},
		{"unknown element before authentication", "tls", "<hello xmlns='urn:example'/>", stanza.StreamUnsupportedStanzaType},
		{"malformed XML", "bound", "<message><body>hi</message>", stanza.StreamNotWellFormed},
		{"spoofed from", "bound", "<message from='bob@example.test/x' to='carol@example.test'><body>hi</body></message>", stanza.StreamInvalidFrom},
		{"spoofed bare from", "bound", "<message from='bob@example.test' to='carol@example.test'><body>hi</body></message>", stanza.StreamInvalidFrom},
		{"oversized stanza", "bound", big, stanza.StreamPolicyViolation},
		{"comment", "bound", "<!-- hello -->", stanza.StreamRestrictedXML},
		{"processing instruction", "bound", "<message><?pi x?></message>", stanza.StreamRestrictedXML},
		{"unknown top-level element", "bound", "<foo xmlns='urn:example:foo'/>", stanza.StreamUnsupportedStanzaType},
		{"text between stanzas", "bound", "hello <presence/>", stanza.StreamNotWellFormed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, &xmpptest.Config{MaxStanzaBytes: 1024})
			c := dialRaw(t, srv)
			switch tc.stage {
			case "plain":
				c.open("example.test")
			case "tls":
				c.open("example.test")
				c.startTLS()
				c.open("example.test")
			case "bound":
				c.login("alice")
			}
			c.send(tc.input)
			if tc.stage == "header" {
				_, err := c.rd.ReadHeader()
				require.NoError(t, err)
			}
			se := c.streamError()
			assert.Equal(t, tc.want, se.Condition, se.Text)
		})
	}
}

// Stanza-level faults are answered with a stanza error and the stream goes
// on.
func TestStanzaErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		input string
		want  stanza.Condition
	}{
		{"iq of unknown type", "<iq type='fetch' id='e1'><ping xmlns='urn:xmpp:ping'/></iq>", stanza.BadRequest},
		{"iq with two payloads", "<iq type='get' id='e1'><ping xmlns='urn:xmpp:ping'/><ping xmlns='urn:xmpp:ping'/></iq>", stanza.BadRequest},
		{"malformed to", "<message to='a@b@c' id='e1'><body>x</body></message>", stanza.JIDMalformed},
		{"bad priority", "<presence id='e1'><priority>1000</priority></presence>", stanza.BadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, nil)
			c := dialRaw(t, srv)
			c.login("alice")
			c.send(tc.input)
			st := c.stanza()
			require.Equal(t, "e1", st.StanzaHeader().ID)
			assert.Equal(t, "alice@example.test/raw", st.StanzaHeader().To.String())
			assert.ErrorIs(t, stanzaError(st), tc.want)
			// The stream goes on.
			c.send("<iq type='get' id='p1' to='example.test'><ping xmlns='urn:xmpp:ping'/></iq>")
			pong := c.stanza().(*stanza.IQ)
			assert.Equal(t, stanza.IQResult, pong.Type)
		})
	}
}

func stanzaError(st stanza.Stanza) error {
	switch v := st.(type) {
	case *stanza.Message:
		if v.Error != nil {
			return v.Error
		}
	case *stanza.Presence:
		if v.Error != nil {
			return v.Error
		}
	case *stanza.IQ:
		if v.Error != nil {
			return v.Error
		}
	}
	return nil
}

// SASL before TLS is refused with encryption-required; three failed
// attempts end the stream.
func TestSASLFailures(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	c := dialRaw(t, srv)
	c.open("example.test")
	c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHB3LWFsaWNl</auth>")
	f := c.next()
	assert.Equal(t, "failure", f.Name().Local)
	assert.Contains(t, f.String(), "<encryption-required")
	c.startTLS()
	c.open("example.test")
	for i := range 3 {
		c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHdyb25n</auth>")
		if i < 2 {
			assert.Contains(t, c.next().String(), "not-authorized")
		}
	}
	se := c.streamError()
	assert.Equal(t, stanza.StreamPolicyViolation, se.Condition)
}

// With the session iq required, a stanza before it is refused with
// not-authorized; after it, the stream works.
func TestRequiredSessionRaw(t *testing.T) {
	t.Parallel()
	srv := newServer(t, &xmpptest.Config{RequireSession: true})
	c := dialRaw(t, srv)
	c.login("alice")
	c.send("<iq type='get' id='p1' to='example.test'><ping xmlns='urn:xmpp:ping'/></iq>")
	reply := c.stanza().(*stanza.IQ)
	require.Equal(t, stanza.IQError, reply.Type)
	assert.ErrorIs(t, reply.Error, stanza.NotAuthorized)
	c.send("<iq type='set' id='s1' to='example.test'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>")
	assert.Equal(t, stanza.IQResult, c.stanza().(*stanza.IQ).Type)
	c.send("<iq type='get' id='p2' to='example.test'><ping xmlns='urn:xmpp:ping'/></iq>")
	assert.Equal(t, stanza.IQResult, c.stanza().(*stanza.IQ).Type)
}

// The SASL user name is read as a localpart: "Alice" is alice.
func TestSASLUsernameNormalized(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	c := dialRaw(t, srv)
	c.open("example.test")
	c.startTLS()
	c.open("example.test")
	c.auth("Alice", "pw-alice")
	c.rd.Restart()
	c.open("example.test")
	c.send("<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>")
	assert.Contains(t, c.next().String(), "<jid>alice@example.test/")
}

// The server announces the size it enforces (XEP-0478), and a Parley
// client keeps below it: a larger stanza is refused before it is sent,
// and the stream goes on.
func TestStanzaLimitIsAnnounced(t *testing.T) {
	t.Parallel()
	def, _ := login(t, newServer(t, nil), "alice", nil)
	assert.Equal(t, 1<<20, def.Features().Limits.MaxBytes, "the default limit")

	srv := newServer(t, &xmpptest.Config{MaxStanzaBytes: 2000})
	a, _ := login(t, srv, "alice", nil)
	b, bobIn := login(t, srv, "bob", nil)
	require.Equal(t, 2000, a.Features().Limits.MaxBytes)
	bob := b.Addr() // a full JID: delivered whatever bob's presence
	err := a.Send(ctx(t), &stanza.Message{Header: stanza.Header{To: bob}, Type: stanza.MessageChat, Body: strings.Repeat("x", 2000)})
	require.ErrorIs(t, err, session.ErrStanzaTooLarge)
	require.NoError(t, a.Send(ctx(t), &stanza.Message{Header: stanza.Header{To: bob}, Type: stanza.MessageChat, Body: "small"}))
	assert.Equal(t, "small", bobIn.message(t).Body)
	assert.NoError(t, a.Err())
}

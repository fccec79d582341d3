//go:build interop

package streamrec_test

import (
	"bytes"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/testkit/xmppd"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

var write = flag.Bool("write", false, "replace the recorded streams in internal/wire/testdata/streams")

// corpusDir is where the recorded streams live, from this package's folder.
const corpusDir = "../../wire/testdata/streams"

// maxFileBytes bounds one recorded stream.
const maxFileBytes = 64 << 10

// TestRecordStreams records the streams of the corpus on each server (see
// the package doc and the corpus's README.md).
func TestRecordStreams(t *testing.T) {
	dir := t.TempDir()
	if *write {
		dir = corpusDir
	}
	for _, kind := range xmppd.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			files := record(t, kind)
			for name, data := range files {
				check(t, name, data)
				require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
				t.Logf("%s: %d bytes, has %s", name, len(data), strings.Join(covered(data), ", "))
			}
		})
	}
}

// check fails the test if a recorded stream is not one stream, is too
// large or carries a password.
func check(t *testing.T, name string, data []byte) {
	t.Helper()
	assert.True(t, bytes.HasPrefix(data, []byte("<?xml")) || bytes.HasPrefix(data, []byte("<stream:stream")),
		"%s does not start with a stream header", name)
	assert.Less(t, len(data), maxFileBytes, "%s is too large", name)
	for user, pass := range accounts() {
		assert.NotContains(t, string(data), pass, "%s holds %s's password", name, user)
	}
}

// accounts are the recorder's accounts: xmppd's and dave.
func accounts() map[string]string {
	u := xmppd.DefaultUsers()
	u["dave"] = "dave-secret"
	return u
}

// coverage names what the corpus is meant to hold and how to spot it in
// a recorded stream; the recorder logs which ones each file has.
var coverage = []struct{ name, marker string }{
	{"features", "<stream:features"},
	{"starttls", "<proceed"},
	{"sasl-success", "<success"},
	{"bind", ns.Bind},
	{"sm-enabled", "<enabled"},
	{"sm-r", "<r xmlns"},
	{"sm-a", "<a "},
	{"roster", ns.Roster},
	{"caps", ns.Caps},
	{"delay", ns.Delay},
	{"subscribe", "type='subscribe'"},
	{"subscribe\"", `type="subscribe"`},
	{"thread", "<thread"},
	{"subject", "<subject"},
	{"xml:lang", "xml:lang"},
	{"chatstates", ns.ChatStates},
	{"receipts", ns.Receipts},
	{"origin-id", "<origin-id"},
	{"stanza-id", "<stanza-id"},
	{"disco#info", ns.DiscoInfo},
	{"iq-error", "type='error'"},
	{"iq-error\"", `type="error"`},
	{"&amp;", "&amp;"},
	{"&lt;", "&lt;"},
	{"&quot;", "&quot;"},
	{"&apos;", "&apos;"},
	{"char-ref", "&#"},
	{"CR", "\r"},
	{"LF-in-text", "\n"},
	{"emoji", "\U0001F600"},
	{"CJK", "漢字"},
	{"carbons", ns.Carbons},
	{"forwarded", ns.Forward},
	{"mam", "urn:xmpp:mam:2"},
	{"stream-error", "<stream:error"},
	{"close", "</stream:stream>"},
}

func covered(data []byte) []string {
	var out []string
	for _, c := range coverage {
		if bytes.Contains(data, []byte(c.marker)) {
			out = append(out, c.name)
		}
	}
	return out
}

// record runs the scenarios on a fresh server of kind and returns the
// recorded streams by file name.
func record(t *testing.T, kind xmppd.Kind) map[string][]byte {
	srv := xmppd.Start(t, kind, xmppd.Options{Users: accounts()})
	bare := func(user string) jid.JID {
		j, err := jid.New(user, srv.Domain, "")
		require.NoError(t, err)
		return j
	}
	alice, bob, carol, dave := bare("alice"), bare("bob"), bare("carol"), bare("dave")
	domain := alice.Domain()

	// Before the recording: alice's roster, a mutual subscription with
	// bob, and bob online with a rich presence.
	setup := login(t, srv, "alice", "setup", nil, true)
	b := login(t, srv, "bob", "phone", nil, true)
	setup.sendIQ(t, rosterSet(t, bob, "Bob", "Friends"))
	setup.sendIQ(t, rosterSet(t, carol, `Carol "CJ" O'Neil & Co`, "Work <ext>"))
	b.send(t, &stanza.Presence{Show: stanza.ShowAway, Status: "On the phone & away", Priority: 5,
		Extensions: []stanza.Payload{raw(t, `<c xmlns='`+ns.Caps+`' hash='sha-1' node='https://parley.example/bob' ver='0n3Y5XdCdF3Z5hV0L6mNw4ZqjAk='/>`)}})
	setup.send(t, &stanza.Presence{})
	setup.send(t, &stanza.Presence{Header: stanza.Header{To: bob}, Type: stanza.PresenceSubscribe})
	b.send(t, &stanza.Presence{Header: stanza.Header{To: alice}, Type: stanza.PresenceSubscribe})
	// Each sees the other's presence once the subscription is mutual
	// (Prosody delivers no <presence type='subscribed'/> to the client).
	setup.waitFor(t, "bob's presence", typedFrom(stanza.PresenceAvailable, bob))
	b.waitFor(t, "alice's presence", typedFrom(stanza.PresenceAvailable, alice))
	setup.close(t)

	// While alice is offline: messages from bob and carol's request,
	// stored and delivered with a delay when she comes online.
	b.send(t, &stanza.Message{Header: stanza.Header{ID: "off-1", To: alice}, Type: stanza.MessageChat,
		Subject: "While you were out", Body: "offline-1: call me back", Thread: stanza.Thread{ID: "thread-off"}})
	b.send(t, &stanza.Message{Header: stanza.Header{ID: "off-2", To: alice, Lang: "de"},
		Body: "offline-2: Grüße aus Köln", AltBodies: []stanza.Text{{Lang: "en", Value: "greetings from Cologne"}}})
	b.sendIQ(t, ping(domain))
	c := login(t, srv, "carol", "laptop", nil, false)
	c.send(t, &stanza.Presence{Header: stanza.Header{To: alice}, Type: stanza.PresenceSubscribe})
	c.sendIQ(t, ping(domain))
	c.close(t)

	// The recorded session.
	rec := &received{}
	a := login(t, srv, "alice", "recorder", rec, false)
	a.sendIQ(t, &stanza.IQ{Type: stanza.IQGet, Payload: raw(t, `<query xmlns='`+ns.Roster+`'/>`)})
	a.send(t, &stanza.Presence{Show: stanza.ShowChat, Status: "Recording <streams> & \"quotes\"", Priority: 10,
		AltStatuses: []stanza.Text{{Lang: "ja", Value: "録音中 漢字"}},
		Extensions:  []stanza.Payload{raw(t, `<c xmlns='`+ns.Caps+`' hash='sha-1' node='https://parley.example/recorder' ver='kLnQ1mLbV0r6BOvEGF0v8U6ZV9c='/>`)}})
	a.waitFor(t, "bob's presence", typedFrom(stanza.PresenceAvailable, bob))
	a.waitBody(t, "offline-1: call me back")
	a.waitFor(t, "carol's stored request", typedFrom(stanza.PresenceSubscribe, carol))

	// Roster pushes: an item added and removed.
	a.sendIQ(t, rosterSet(t, dave, `Dave "the 'Rave'" & <Co>`, "Friends"))
	a.sendIQ(t, &stanza.IQ{Type: stanza.IQSet, Payload: raw(t, `<query xmlns='`+ns.Roster+`'><item jid='`+dave.String()+`' subscription='remove'/></query>`)})

	// A subscription request while online.
	d := login(t, srv, "dave", "desk", nil, false)
	d.send(t, &stanza.Presence{Header: stanza.Header{To: alice}, Type: stanza.PresenceSubscribe})
	a.waitFor(t, "dave's request", typedFrom(stanza.PresenceSubscribe, dave))
	d.close(t)

	// Messages from bob, to the recorder's full JID.
	to := a.Addr()
	for _, m := range bobMessages(t, to) {
		b.send(t, m)
	}
	a.waitBody(t, "end-of-bob")

	// Carbons (XEP-0280): a message another resource of alice's sends
	// comes back to the recorder forwarded, a jabber:client message
	// inside the extension.
	a.sendIQ(t, &stanza.IQ{Type: stanza.IQSet, Payload: raw(t, `<enable xmlns='`+ns.Carbons+`'/>`)})
	o := login(t, srv, "alice", "other", nil, false)
	o.send(t, &stanza.Message{Header: stanza.Header{ID: "carbon-1", To: bob}, Type: stanza.MessageChat, Body: "sent from the other resource"})
	a.waitFor(t, "the sent carbon", func(st stanza.Stanza) bool {
		m, ok := st.(*stanza.Message)
		if !ok {
			return false
		}
		_, sent := m.Extension(xml.Name{Space: ns.Carbons, Local: "sent"})
		return sent
	})
	o.close(t)

	// The archive (XEP-0313): the last messages, forwarded with their
	// delay, then the query's result.
	a.sendIQ(t, &stanza.IQ{Header: stanza.Header{ID: "mam-1"}, Type: stanza.IQSet,
		Payload: raw(t, `<query xmlns='urn:xmpp:mam:2' queryid='q1'><set xmlns='http://jabber.org/protocol/rsm'><max>3</max><before/></set></query>`)})

	// Replies from the server: disco#info, an iq error, a message error.
	a.sendIQ(t, &stanza.IQ{Header: stanza.Header{ID: "disco-1", To: domain}, Type: stanza.IQGet, Payload: raw(t, `<query xmlns='`+ns.DiscoInfo+`'/>`)})
	a.sendIQ(t, &stanza.IQ{Header: stanza.Header{ID: "unknown-1", To: domain}, Type: stanza.IQGet, Payload: raw(t, `<query xmlns='urn:example:nothing' a='x&amp;y'/>`)})
	nobody := bare("nobody")
	a.send(t, &stanza.Message{Header: stanza.Header{ID: "bounce-1", To: nobody}, Type: stanza.MessageChat, Body: "is anyone there?"})
	a.waitFor(t, "the message error", func(st stanza.Stanza) bool {
		m, ok := st.(*stanza.Message)
		return ok && m.Type == stanza.MessageError
	})

	// A last message to itself, acknowledged, then the close.
	require.NoError(t, a.SendAcked(ctxFor(t), &stanza.Message{Header: stanza.Header{ID: "self-1", To: to}, Type: stanza.MessageChat, Body: "end-of-recording"}))
	a.waitBody(t, "end-of-recording")
	a.close(t)
	b.close(t)

	streams, err := rec.streams()
	require.NoError(t, err)
	require.Len(t, streams, 3, "the recorded session's streams: before TLS, before SASL, after SASL")

	files := map[string][]byte{
		string(kind) + "-starttls.xml": streams[0],
		string(kind) + "-sasl.xml":     streams[1],
		string(kind) + "-session.xml":  streams[2],
	}
	if kicked := recordConflict(t, srv); kicked != nil {
		files[string(kind)+"-conflict.xml"] = kicked
	}
	return files
}

// recordConflict logs alice in twice with one resource and returns the
// stream of the first login, which the server is expected to end with a
// conflict stream error; nil if it did not.
func recordConflict(t *testing.T, srv *xmppd.Server) []byte {
	rec := &received{}
	k := login(t, srv, "alice", "twice", rec, false)
	k.send(t, &stanza.Presence{Status: "about to be replaced"})
	k2 := login(t, srv, "alice", "twice", nil, false)
	defer k2.close(t)
	select {
	case <-k.Done():
	case <-time.After(20 * time.Second):
		t.Logf("%s: a second login with the same resource did not end the first stream", srv.Kind)
		return nil
	}
	t.Logf("%s: first stream ended: %v", srv.Kind, k.Err())
	streams, err := rec.streams()
	require.NoError(t, err)
	return streams[len(streams)-1]
}

// bobMessages are what bob sends to the recorder: the message features
// the corpus covers, and a marker last.
func bobMessages(t *testing.T, to jid.JID) []*stanza.Message {
	head := func(id string) stanza.Header { return stanza.Header{ID: id, To: to} }
	long := strings.Repeat("Ünïcödé 漢字かな 😀 & <tags> ", 200)
	return []*stanza.Message{
		{Header: stanza.Header{ID: "rich-1", To: to, Lang: "de"}, Type: stanza.MessageChat,
			Subject: "Betreff", AltSubjects: []stanza.Text{{Lang: "en", Value: "Subject"}},
			Body: "Hallo Alice", AltBodies: []stanza.Text{{Lang: "fr", Value: "Salut Alice"}},
			Thread: stanza.Thread{ID: "thread-1", Parent: "thread-0"},
			Extensions: []stanza.Payload{
				raw(t, `<active xmlns='`+ns.ChatStates+`'/>`),
				raw(t, `<request xmlns='`+ns.Receipts+`'/>`),
				raw(t, `<origin-id xmlns='`+ns.SID+`' id='rich-1'/>`),
			}},
		{Header: head("state-1"), Type: stanza.MessageChat,
			Extensions: []stanza.Payload{raw(t, `<composing xmlns='`+ns.ChatStates+`'/>`)}},
		{Header: head("receipt-1"), Type: stanza.MessageChat,
			Extensions: []stanza.Payload{raw(t, `<received xmlns='`+ns.Receipts+`' id='self-0'/>`)}},
		{Header: head("escaped-1"), Type: stanza.MessageChat,
			Body: "R&J <3 \"double\" 'single' ]]> a>b\r\nCRLF line\nLF line\rCR line\ttab · 漢字 · 😀 · \u200f\u05e9\u05dc\u05d5\u05dd · \ufeff · e\u0301",
			Extensions: []stanza.Payload{
				raw(t, `<x xmlns='urn:example:attrs' q='it&apos;s &quot;quoted&quot; &amp; &lt;tagged&gt;' nl='a&#xA;b&#xD;c' tab='&#x9;t' u='漢字 😀'>text &amp; <y xmlns='urn:example:inner' z="&quot;'"/>more</x>`),
				raw(t, `<origin-id xmlns='`+ns.SID+`' id='escaped-1'/>`),
			}},
		{Header: head("delay-1"), Type: stanza.MessageNormal, Subject: "Forwarded note",
			Body:       "sent earlier",
			Extensions: []stanza.Payload{raw(t, `<delay xmlns='`+ns.Delay+`' from='bob@example.com' stamp='2002-09-10T23:08:25Z'>Offline &amp; stored</delay>`)}},
		{Header: head("long-1"), Type: stanza.MessageChat, Body: long},
		{Header: head("end"), Type: stanza.MessageChat, Body: "end-of-bob"},
	}
}

// rosterSet returns a roster set adding contact.
func rosterSet(t *testing.T, contact jid.JID, name, group string) *stanza.IQ {
	var b bytes.Buffer
	enc := xml.NewEncoder(&b)
	item := xml.StartElement{Name: xml.Name{Local: "item"}, Attr: []xml.Attr{
		{Name: xml.Name{Local: "jid"}, Value: contact.String()},
		{Name: xml.Name{Local: "name"}, Value: name},
	}}
	q := xml.StartElement{Name: xml.Name{Space: ns.Roster, Local: "query"}}
	g := xml.StartElement{Name: xml.Name{Local: "group"}}
	for _, tok := range []xml.Token{q, item, g, xml.CharData(group), g.End(), item.End(), q.End()} {
		require.NoError(t, enc.EncodeToken(tok))
	}
	require.NoError(t, enc.Flush())
	return &stanza.IQ{Type: stanza.IQSet, Payload: raw(t, b.String())}
}

// ping returns a ping to the server, which answers it after everything
// the client sent before.
func ping(domain jid.JID) *stanza.IQ {
	r, _ := stanza.ParseRaw([]byte(`<ping xmlns='` + ns.Ping + `'/>`))
	return &stanza.IQ{Header: stanza.Header{To: domain}, Type: stanza.IQGet, Payload: r}
}

// typedFrom matches a presence of type typ from contact's account.
func typedFrom(typ stanza.PresenceType, contact jid.JID) func(stanza.Stanza) bool {
	return func(st stanza.Stanza) bool {
		p, ok := st.(*stanza.Presence)
		return ok && p.Type == typ && p.From.Bare() == contact
	}
}

package xmpptest_test

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/xmpptest"
)

// Offline storage (XEP-0160, RFC 6121 §8.5.2.1.1 and §8.5.3.2.1) as a
// table of cases run by the presence table's runner (presencerun_test.go):
// against xmpptest here, and against Prosody and ejabberd in
// offline_interop_test.go (build tag interop).
//
// got is what XEP-0160 asks for and what xmpptest does; on says what a
// server does instead, and why.

// Why Prosody and ejabberd differ from xmpptest.
const (
	whyProDelayText = "Prosody's delay has no text; xmpptest says \"Offline storage\", as ejabberd"
	whyEjFirst      = "ejabberd delivers the stored messages before the echo of the initial presence and the contacts' presence; xmpptest after them, as Prosody, so that a client knows who is online when they arrive"
	whyProRaised    = "Prosody delivers stored messages only with initial presence of priority ≥ 0, not when an available resource raises its priority to ≥ 0 (XEP-0160 §2: when the recipient next sends non-negative presence; ejabberd does)"
	whyProChatState = "Prosody stores a message that carries only a chat state (XEP-0160 §5: not stored); xmpptest answers service-unavailable, as ejabberd (RFC 6121 §8.5.2.1.1: stored or refused)"
)

// stored is the line of a message from a1 delivered from offline
// storage: typ is its type ("" for normal), ext the names of its
// extensions.
func stored(typ, body string, ext ...string) string {
	line := "message "
	if typ != "" {
		line += typ + " "
	}
	line += `{a}/a1 "` + body + `"`
	if len(ext) > 0 {
		line += " [" + strings.Join(ext, " ") + "]"
	}
	return line + ` delay from={d} "Offline storage"`
}

// noText is the line of a stored message as Prosody delivers it.
func noText(line string) string { return strings.TrimSuffix(line, ` "Offline storage"`) }

// delivers says that client who receives, for the presence it sent,
// the presence lines pres and then the stored messages msgs: on
// Prosody without the delay's text, on ejabberd the messages first.
func delivers(st pstep, who string, pres []string, msgs ...string) pstep {
	pro := slices.Clone(pres)
	for _, m := range msgs {
		pro = append(pro, noText(m))
	}
	return st.got(who, append(slices.Clone(pres), msgs...)...).
		on(kindProsody, whyProDelayText, who, pro...).
		on(kindEjabberd, whyEjFirst, who, append(slices.Clone(msgs), pres...)...)
}

func lines(l ...string) []string { return l }

func chatTo(to, body string) string {
	return `<message type='chat' to='` + to + `'><body>` + body + `</body></message>`
}

// offlineCases is the table.
var offlineCases = []presenceCase{
	{
		name:  "chat and normal to an account with no resource: stored, delivered oldest first after initial presence",
		setup: online("a1"),
		steps: steps(
			pSend("a1", chatTo("{b}", "one")),
			pSend("a1", `<message to='{b}'><body>two</body></message>`),
			pLogin("b1"),
			delivers(pSend("b1", "<presence/>"), "b1", lines("available {b}/b1"), stored("chat", "one"), stored("", "two")),
		),
	},
	{
		name:  "a resource that has sent no presence is not available: stored",
		setup: steps(online("a1"), pLogin("b1")),
		steps: steps(
			pSend("a1", chatTo("{b}", "one")),
			delivers(pSend("b1", "<presence/>"), "b1", lines("available {b}/b1"), stored("chat", "one")),
		),
	},
	{
		name:  "to a full JID whose resource is offline: stored as for the bare JID (§8.5.3.2.1)",
		setup: online("a1"),
		steps: steps(
			pSend("a1", chatTo("{b}/gone", "one")),
			pLogin("b1"),
			delivers(pSend("b1", "<presence/>"), "b1", lines("available {b}/b1"), stored("chat", "one")),
		),
	},
	{
		name:  "delivered once: a second resource gets nothing",
		setup: steps(online("a1"), pSend("a1", chatTo("{b}", "one"))),
		steps: steps(
			pLogin("b1"),
			delivers(pSend("b1", "<presence/>"), "b1", lines("available {b}/b1"), stored("chat", "one")),
			pLogin("b2"),
			pSend("b2", "<presence/>").got("b2", "available {b}/b2", "available {b}/b1").got("b1", "available {b}/b2"),
		),
	},
	{
		name:  "stored again once the last resource has logged out",
		setup: online("a1", "b1"),
		steps: steps(
			pLogout("b1"),
			pSend("a1", chatTo("{b}", "two")),
			pLogin("b1"),
			delivers(pSend("b1", "<presence/>"), "b1", lines("available {b}/b1"), stored("chat", "two")),
		),
	},
	{
		name: "only negative priority: stored (§8.5.2.1.1); delivered when the priority becomes ≥ 0 (XEP-0160 §2)",
		setup: steps(online("a1"), pLogin("b1"),
			pSend("b1", "<presence><priority>-1</priority></presence>")),
		steps: steps(
			pSend("a1", chatTo("{b}", "one")),
			pSend("b1", "<presence><priority>1</priority></presence>").got("b1", "available {b}/b1 prio=1", stored("chat", "one")).
				on(kindEjabberd, whyEjFirst, "b1", stored("chat", "one"), "available {b}/b1 prio=1").
				on(kindProsody, whyProRaised, "b1", "available {b}/b1 prio=1"),
			pLogin("b2"),
			pSend("b2", "<presence/>").got("b2", "available {b}/b2", "available {b}/b1 prio=1").got("b1", "available {b}/b2").
				on(kindProsody, whyProRaised, "b2", "available {b}/b2", "available {b}/b1 prio=1", noText(stored("chat", "one"))),
		),
	},
	{
		name:  "initial presence with a negative priority gets nothing; a later resource with priority ≥ 0 gets them",
		setup: steps(online("a1"), pSend("a1", chatTo("{b}", "one"))),
		steps: steps(
			pLogin("b1"),
			pSend("b1", "<presence><priority>-1</priority></presence>").got("b1", "available {b}/b1 prio=-1"),
			pLogin("b2"),
			delivers(pSend("b2", "<presence/>").got("b1", "available {b}/b2"), "b2",
				lines("available {b}/b2", "available {b}/b1 prio=-1"), stored("chat", "one")),
		),
	},
	{
		name:  "headline and error are not stored; groupchat is refused (§8.5.2.1.2)",
		setup: online("a1"),
		steps: steps(
			pSend("a1", `<message type='headline' to='{b}'><body>news</body></message>`),
			pSend("a1", `<message type='groupchat' to='{b}'><body>room</body></message>`).got("a1", "message error {b} service-unavailable"),
			pSend("a1", `<message type='error' to='{b}'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`),
			pLogin("b1"),
			pSend("b1", "<presence/>").got("b1", "available {b}/b1"),
		),
	},
	{
		name:  "only a chat state is not stored but refused (XEP-0160 §5); other messages without a body are stored",
		setup: online("a1"),
		steps: steps(
			pSend("a1", `<message type='chat' to='{b}'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>`).
				got("a1", "message error {b} service-unavailable").on(kindProsody, whyProChatState, "a1"),
			pSend("a1", `<message type='chat' to='{b}'><body>hi</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>`),
			pSend("a1", `<message to='{b}'><x xmlns='urn:example:x'/></message>`),
			pLogin("b1"),
			pSend("b1", "<presence/>").got("b1", "available {b}/b1", stored("chat", "hi", "active"), stored("", "", "x")).
				on(kindEjabberd, whyEjFirst, "b1", stored("chat", "hi", "active"), stored("", "", "x"), "available {b}/b1").
				on(kindProsody, whyProChatState+"; "+whyProDelayText, "b1", "available {b}/b1", noText(stored("chat", "", "composing")),
					noText(stored("chat", "hi", "active")), noText(stored("", "", "x"))),
		),
	},
	{
		name:  "to an account that does not exist: service-unavailable (§8.5.1)",
		setup: online("a1"),
		steps: steps(
			pSend("a1", chatTo("nobody@{d}", "one")).got("a1", "message error nobody@{d} service-unavailable"),
			pSend("a1", chatTo("nobody@{d}/r", "one")).got("a1", "message error nobody@{d}/r service-unavailable"),
		),
	},
	{
		name:  "initial presence: the contacts' presence first, then the stored messages",
		setup: steps(stBoth, pLogout("b1"), pSend("a1", chatTo("{b}", "one"))),
		steps: steps(
			pLogin("b1"),
			pFetch("b1").got("b1", "roster [{a} sub=both]"),
			delivers(pSend("b1", "<presence/>").got("a1", "available {b}/b1"), "b1",
				lines("available {b}/b1", "available {a}/a1"), stored("chat", "one")),
		),
	},
}

// offlineUsers returns the accounts the offline table needs.
func offlineUsers() map[string]string { return caseUsers("oc", len(offlineCases)) }

// TestOfflineCases runs the offline table against xmpptest.
func TestOfflineCases(t *testing.T) {
	srv := xmpptest.NewServer(t, nil)
	for user, pw := range offlineUsers() {
		_, err := srv.AddUser(user, pw)
		require.NoError(t, err)
	}
	runCases(t, pipeServer(srv), "oc", offlineCases)
}

// pipeServer runs a table against srv over net.Pipe.
func pipeServer(srv *xmpptest.Server) presenceServer {
	return presenceServer{
		kind:   kindXmpptest,
		domain: srv.Domain().Domainpart(),
		dial: func(t *testing.T, user, res string, mux *session.Mux) (*session.Session, net.Conn) {
			addr, err := jid.New(user, srv.Domain().Domainpart(), res)
			require.NoError(t, err)
			conn, err := srv.Pipe()
			require.NoError(t, err)
			s, err := session.New(ctxFor(t), conn, addr, "pw", &session.Config{Mux: mux, KeepAlive: -1, TLSConfig: srv.TLSConfig()})
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close(context.Background()) })
			return s, conn
		},
	}
}

package xmpptest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/xmpptest"
)

// Privacy lists (RFC 3921 §10, XEP-0016) and blocking (XEP-0191) as two
// tables of cases run by the presence table's runner
// (presencerun_test.go, privacyrun_test.go): against xmpptest here, and
// against Prosody (with mod_privacy_lists; mod_blocklist for blocking)
// and ejabberd in privacy_interop_test.go (build tag interop). The two
// tables use separate accounts: on ejabberd blocking is built on the
// privacy lists.
//
// Every step that shows a stanza not delivered is followed by a control
// stanza on the same path that must arrive (the runner checks that
// nothing else arrived, so the refused one never did), and a case that
// refuses something ends by lifting the rule and seeing it arrive.
//
// got is what the RFC and the XEPs ask for and what xmpptest does; on
// says what a server does instead, and why.

// privItem writes an <item/>: typ and value empty for the fall-through
// item, kinds the stanza kinds it covers (none: all).
func privItem(order int, action, typ, value string, kinds ...string) string {
	s := fmt.Sprintf("<item action='%s' order='%d'", action, order)
	if typ != "" {
		s += fmt.Sprintf(" type='%s' value='%s'", typ, value)
	}
	if len(kinds) == 0 {
		return s + "/>"
	}
	s += ">"
	for _, k := range kinds {
		s += "<" + k + "/>"
	}
	return s + "</item>"
}

func privQuery(inner string) string {
	return "<iq type='set'><query xmlns='" + nsPrivacy + "'>" + inner + "</query></iq>"
}

// setList creates or replaces the list name of who's account with items;
// who gets the result, then a push, and so does every other resource of
// the account in others.
func setList(who, name string, others []string, items ...string) pstep {
	st := pIQ(who, privQuery("<list name='"+name+"'>"+strings.Join(items, "")+"</list>")).got(who, "result", "privacy push "+name)
	for _, o := range others {
		st = st.got(o, "privacy push "+name)
	}
	return st
}

// removeList removes the list name: a result, and no push (as both
// servers; RFC 3921 pushes a list whose definition changed).
func removeList(who, name string) pstep {
	return pIQ(who, privQuery("<list name='"+name+"'/>")).got(who, "result")
}

// useList sets (or with name "" declines) the active or default list.
func useList(who, which, name string) pstep {
	el := "<" + which + "/>"
	if name != "" {
		el = "<" + which + " name='" + name + "'/>"
	}
	return pIQ(who, privQuery(el))
}

func active(who, name string) pstep { return useList(who, "active", name).got(who, "result") }
func deflt(who, name string) pstep  { return useList(who, "default", name).got(who, "result") }
func getNames(who, line string) pstep {
	return pIQ(who, "<iq type='get'><query xmlns='"+nsPrivacy+"'/></iq>").got(who, line)
}
func getList(who, name, line string) pstep {
	return pIQ(who, "<iq type='get'><query xmlns='"+nsPrivacy+"'><list name='"+name+"'/></query></iq>").got(who, line)
}

// chatFull sends a chat message from client who to the full JID of client
// to; delivered says it arrives, refused that who gets the error cond.
func chatFull(who, to, body string) pstep {
	return pSend(who, chatTo("{"+to[:1]+"}/"+to, body))
}

func delivered(who, to, body string) pstep {
	return chatFull(who, to, body).got(to, fmt.Sprintf("message chat {%s}/%s %q", who[:1], who, body))
}

func refused(who, to, body, cond string) pstep {
	return chatFull(who, to, body).got(who, "message error {"+to[:1]+"}/"+to+" "+cond)
}

// probeIQ sends the probe iq from who to the full JID of client to.
func probeIQ(who, to string) pstep {
	return pIQ(who, "<iq type='get' to='{"+to[:1]+"}/"+to+"'><query xmlns='"+nsProbe+"'/></iq>")
}

func iqDelivered(who, to string) pstep {
	return probeIQ(who, to).got(who, "result").got(to, "iq get {"+who[:1]+"}/"+who)
}

func iqRefused(who, to, cond string) pstep { return probeIQ(who, to).got(who, "error "+cond) }

// rosterGroup puts {contact} in group g of who's roster, quietly.
func rosterGroup(who, contact, g string) pstep {
	st := pIQ(who, "<iq type='set'><query xmlns='jabber:iq:roster'><item jid='{"+contact+"}'><group>"+g+"</group></item></query></iq>")
	st.quiet = true
	return st
}

// Why Prosody and ejabberd differ from xmpptest.
const (
	whyProRemoveMissing  = "Prosody answers the removal of a list that does not exist with bad-request (RFC 3921 §10.7: item-not-found)"
	whyProMsgOut         = "Prosody applies <message/> items to outbound messages too, and refuses them with service-unavailable (RFC 3921 §10.1: <message/> covers incoming messages)"
	whyProOutCond        = "Prosody refuses an outbound stanza with service-unavailable (XEP-0016 §2.13: not-acceptable, as ejabberd)"
	whyEjRemoveMissing   = "ejabberd answers the removal of a list that does not exist with a result (RFC 3921 §10.7: item-not-found)"
	whyEjDupOrder        = "ejabberd accepts two items with the same order (RFC 3921 §10.1: bad-request)"
	whyEjDocOrder        = "ejabberd applies the items in the order the client wrote them, not by their order attribute (RFC 3921 §10.2 rule 5: ascending order)"
	whyEjNoConflict      = "ejabberd never checks the other resources: it changes or declines the default list, or removes a list, that applies to another resource (RFC 3921 §10.2 rule 11, §10.5, §10.7: conflict)"
	whyEjDefaultKept     = "ejabberd refuses to remove the default list with conflict even when no other resource uses it (RFC 3921 §10.7 names only lists in use by other resources)"
	whyEjAllPushes       = "ejabberd pushes blocklist changes to every resource, also those that never asked for the blocklist (XEP-0191 §3.3: those that asked), each after a privacy list push of the list it keeps the blocklist in"
	whyEjBadJID          = "ejabberd answers an item with an invalid JID with bad-request; xmpptest with jid-malformed, as Prosody"
	whyEjNoPresence      = "ejabberd sends the blocked contact no unavailable presence on a block, nor the current presence on an unblock (XEP-0191 §3.3, §3.4 require both; Prosody sends them)"
	whyProSilentMsg      = "Prosody drops a message from a blocked contact without an error (XEP-0191 §3.3: SHOULD service-unavailable, as ejabberd)"
	whyProPresenceError  = "Prosody answers the user's presence broadcast with a not-acceptable error from the blocked contact's bare JID; XEP-0191 refuses outbound stanzas to a blocked contact but presence broadcasts are the server's, and ejabberd drops them silently"
	whyProSilentPresence = "Prosody drops a directed presence its sender's list refuses without an error (XEP-0016 §2.13: not-acceptable, as ejabberd)"
	whyProOfflineDefault = "Prosody's mod_privacy_lists applies no list to an account without a session: it stores the message (RFC 3921 §10.2 rule 2: the default list applies when there are no sessions, as ejabberd)"
	whyProNoPrivacy      = "Prosody runs the blocking table without mod_privacy_lists, so it offers no privacy lists"
	whyProDefaultBusy    = "Prosody refuses to set a default list as soon as another resource has no active list, although no default list applies to it yet (RFC 3921 §10.5: conflict when the default list is in use by another resource)"
)

// Messages from offline storage.
const (
	storedB = `message chat {b}/b1 "refused" delay from={d} "Offline storage"`
	storedC = `message chat {c}/c1 "stored" delay from={d} "Offline storage"`
)

// privacyCases is the privacy list table.
var privacyCases = []presenceCase{
	{
		name:  "names, one list, active and default, decline, remove",
		setup: steps(pLogin("a1")),
		steps: steps(
			getNames("a1", "privacy lists=[]"),
			setList("a1", "l1", nil, privItem(1, "deny", "jid", "{b}"), privItem(2, "allow", "", "")),
			setList("a1", "l2", nil, privItem(10, "deny", "group", "G", "message", "presence-in")),
			getNames("a1", "privacy lists=[l1 l2]"),
			getList("a1", "l1", "list l1: 1 deny jid={b}; 2 allow"),
			getList("a1", "l2", "list l2: 10 deny group=G [message presence-in]"),
			active("a1", "l1"),
			deflt("a1", "l2"),
			getNames("a1", "privacy active=l1 default=l2 lists=[l1 l2]"),
			active("a1", ""),
			deflt("a1", ""),
			getNames("a1", "privacy lists=[l1 l2]"),
			removeList("a1", "l1"),
			getNames("a1", "privacy lists=[l2]"),
		),
	},
	{
		name:  "errors: unknown lists, malformed requests",
		setup: steps(pLogin("a1"), setList("a1", "l", nil, privItem(1, "deny", "jid", "{b}"))),
		steps: steps(
			getList("a1", "nosuch", "error item-not-found"),
			useList("a1", "active", "nosuch").got("a1", "error item-not-found"),
			useList("a1", "default", "nosuch").got("a1", "error item-not-found"),
			pIQ("a1", privQuery("<list name='nosuch'/>")).got("a1", "error item-not-found").
				on(kindProsody, whyProRemoveMissing, "a1", "error bad-request").
				on(kindEjabberd, whyEjRemoveMissing, "a1", "result"),
			pIQ("a1", "<iq type='get'><query xmlns='"+nsPrivacy+"'><list name='l'/><list name='l'/></query></iq>").got("a1", "error bad-request"),
			pIQ("a1", privQuery("<active name='l'/><default name='l'/>")).got("a1", "error bad-request"),
			pIQ("a1", privQuery("<list name='e1'>"+privItem(1, "deny", "jid", "{b}")+privItem(1, "allow", "", "")+"</list>")).got("a1", "error bad-request").
				on(kindEjabberd, whyEjDupOrder, "a1", "result", "privacy push e1"),
			pIQ("a1", privQuery("<list name='e2'>"+privItem(1, "block", "jid", "{b}")+"</list>")).got("a1", "error bad-request"),
			pIQ("a1", privQuery("<list name='e3'>"+privItem(1, "deny", "subscription", "pending")+"</list>")).got("a1", "error bad-request"),
			pIQ("a1", privQuery("<list name='e4'>"+privItem(1, "deny", "colour", "red")+"</list>")).got("a1", "error bad-request"),
			pIQ("a1", privQuery("<list name='e5'><item action='deny' type='jid' value='{b}'/></list>")).got("a1", "error bad-request"),
			pIQ("a1", privQuery("<list name='e6'><item action='deny' order='-1' type='jid' value='{b}'/></list>")).got("a1", "error bad-request"),
			getList("a1", "l", "list l: 1 deny jid={b}"),
		),
	},
	{
		name:  "message item: messages refused with service-unavailable, iq and other senders pass, decline lets them in",
		setup: steps(pLogin("a1"), pLogin("b1"), pLogin("c1"), setList("a1", "l", nil, privItem(1, "deny", "jid", "{b}", "message"))),
		steps: steps(
			active("a1", "l"),
			refused("b1", "a1", "blocked", "service-unavailable"),
			delivered("c1", "a1", "control"),
			iqDelivered("b1", "a1"),
			active("a1", ""),
			delivered("b1", "a1", "after"),
		),
	},
	{
		name:  "message item covers incoming messages only",
		setup: steps(pLogin("a1"), pLogin("b1"), setList("a1", "l", nil, privItem(1, "deny", "jid", "{b}", "message")), active("a1", "l")),
		steps: steps(
			delivered("a1", "b1", "out").
				on(kindProsody, whyProMsgOut, "a1", "message error {b}/b1 service-unavailable").
				on(kindProsody, whyProMsgOut, "b1"),
			refused("b1", "a1", "in", "service-unavailable"),
			iqDelivered("b1", "a1"),
		),
	},
	{
		name:  "item for everything: outbound refused with not-acceptable",
		setup: steps(pLogin("a1"), pLogin("b1"), pLogin("c1"), setList("a1", "l", nil, privItem(1, "deny", "jid", "{b}")), active("a1", "l")),
		steps: steps(
			refused("a1", "b1", "out", "not-acceptable").
				on(kindProsody, whyProOutCond, "a1", "message error {b}/b1 service-unavailable"),
			delivered("a1", "c1", "control"),
			iqRefused("a1", "b1", "not-acceptable").
				on(kindProsody, whyProOutCond, "a1", "error service-unavailable"),
			iqDelivered("a1", "c1"),
			refused("b1", "a1", "in", "service-unavailable"),
			iqRefused("b1", "a1", "service-unavailable"),
			iqDelivered("c1", "a1"),
			active("a1", ""),
			delivered("a1", "b1", "out after"),
			delivered("b1", "a1", "in after"),
		),
	},
	{
		name:  "iq item: get refused with service-unavailable, messages pass",
		setup: steps(pLogin("a1"), pLogin("b1"), pLogin("c1"), setList("a1", "l", nil, privItem(1, "deny", "jid", "{b}", "iq")), active("a1", "l")),
		steps: steps(
			iqRefused("b1", "a1", "service-unavailable"),
			iqDelivered("c1", "a1"),
			delivered("b1", "a1", "control"),
			active("a1", ""),
			iqDelivered("b1", "a1"),
		),
	},
	{
		name:  "order: the first matching item decides",
		setup: steps(pLogin("a1"), pLogin("b1"), pLogin("b2"), setList("a1", "l", nil, privItem(5, "deny", "jid", "{b}", "message"), privItem(2, "allow", "jid", "{b}/b1", "message")), active("a1", "l")),
		steps: steps(
			refused("b2", "a1", "blocked", "service-unavailable"),
			delivered("b1", "a1", "allowed first").
				on(kindEjabberd, whyEjDocOrder, "a1").
				on(kindEjabberd, whyEjDocOrder, "b1", "message error {a}/a1 service-unavailable"),
			setList("a1", "l", nil, privItem(1, "deny", "jid", "{b}", "message"), privItem(2, "allow", "jid", "{b}/b1", "message")),
			refused("b1", "a1", "now blocked", "service-unavailable"),
			active("a1", ""),
			delivered("b1", "a1", "after"),
		),
	},
	{
		name:  "JID levels: full JID, bare JID, domain/resource, domain",
		setup: steps(pLogin("a1"), pLogin("b1"), pLogin("b2"), pLogin("c1"), active("a1", "")),
		steps: steps(
			setList("a1", "l", nil, privItem(1, "deny", "jid", "{b}/b1", "message")),
			active("a1", "l"),
			refused("b1", "a1", "full", "service-unavailable"),
			delivered("b2", "a1", "other resource"),
			setList("a1", "l", nil, privItem(1, "deny", "jid", "{b}", "message")),
			refused("b2", "a1", "bare", "service-unavailable"),
			delivered("c1", "a1", "other account"),
			setList("a1", "l", nil, privItem(1, "deny", "jid", "{d}/b2", "message")),
			refused("b2", "a1", "domain/resource", "service-unavailable"),
			delivered("b1", "a1", "other resource"),
			// The domain item would match the account itself, on
			// ejabberd (see the subscription case).
			setList("a1", "l", nil, privItem(0, "allow", "jid", "{a}"), privItem(1, "deny", "jid", "{d}", "message")),
			refused("c1", "a1", "domain", "service-unavailable"),
			iqDelivered("c1", "a1"),
			active("a1", ""),
			delivered("c1", "a1", "after"),
		),
	},
	{
		name: "group",
		setup: steps(pLogin("a1"), pLogin("b1"), pLogin("c1"), rosterGroup("a1", "b", "G"), rosterGroup("a1", "c", "H"),
			setList("a1", "l", nil, privItem(1, "deny", "group", "G", "message"))),
		steps: steps(
			active("a1", "l"),
			refused("b1", "a1", "in G", "service-unavailable"),
			delivered("c1", "a1", "in H"),
			active("a1", ""),
			delivered("b1", "a1", "after"),
		),
	},
	{
		name: "subscription",
		// The first item keeps the account's own messages (the runner's
		// sync) out of the rule: ejabberd applies lists to them too,
		// and the account has subscription none with itself.
		setup: steps(stBoth, pLogin("c1"), setList("a1", "l", nil, privItem(0, "allow", "jid", "{a}"), privItem(1, "deny", "subscription", "none", "message"))),
		steps: steps(
			active("a1", "l"),
			refused("c1", "a1", "none", "service-unavailable"),
			delivered("b1", "a1", "both"),
			setList("a1", "l", nil, privItem(0, "allow", "jid", "{a}"), privItem(1, "deny", "subscription", "both", "message")),
			refused("b1", "a1", "both", "service-unavailable"),
			delivered("c1", "a1", "none"),
			active("a1", ""),
			delivered("b1", "a1", "after"),
		),
	},
	{
		name:  "presence-in: notifications from the contact dropped",
		setup: steps(stBoth, setList("a1", "l", nil, privItem(1, "deny", "jid", "{b}", "presence-in"))),
		steps: steps(
			active("a1", "l"),
			pSend("b1", "<presence><show>away</show></presence>").got("b1", "available {b}/b1 show=away"),
			delivered("b1", "a1", "control"),
			active("a1", ""),
			pSend("b1", "<presence><show>dnd</show></presence>").got("b1", "available {b}/b1 show=dnd").got("a1", "available {b}/b1 show=dnd"),
		),
	},
	{
		name:  "presence-out: notifications to the contact dropped",
		setup: steps(stBoth, pLogin("c1"), setList("a1", "l", nil, privItem(1, "deny", "jid", "{b}", "presence-out"))),
		steps: steps(
			active("a1", "l"),
			pSend("a1", "<presence><show>away</show></presence>").got("a1", "available {a}/a1 show=away"),
			delivered("a1", "b1", "control"),
			pSend("a1", "<presence to='{b}/b1'/>").got("a1", "error {b}/b1 not-acceptable").
				on(kindProsody, whyProSilentPresence, "a1"),
			pSend("a1", "<presence to='{c}/c1'/>").got("c1", "available {a}/a1"),
			active("a1", ""),
			pSend("a1", "<presence><show>dnd</show></presence>").got("a1", "available {a}/a1 show=dnd").got("b1", "available {a}/a1 show=dnd"),
		),
	},
	{
		name:  "a subscription request refused by the default list changes nothing",
		setup: steps(online("a1", "b1", "c1"), setList("a1", "l", nil, privItem(1, "deny", "jid", "{b}")), deflt("a1", "l")),
		steps: steps(
			sendType("b1", "subscribe", "a").got("b1", "push {a} ask"),
			sendType("c1", "subscribe", "a").got("c1", "push {a} ask").got("a1", "subscribe {c}").
				on(kindProsody, whyAck, "c1", "push {a} ask", "unavailable {a}"),
			fetchA(""),
			deflt("a1", ""),
			sendType("b1", "subscribe", "a").got("b1", "push {a} ask").got("a1", "subscribe {b}").
				on(kindProsody, whyAck, "b1", "push {a} ask", "unavailable {a}"),
		),
	},
	{
		name: "the default list applies to a message for an account with no resource",
		setup: steps(pLogin("a1"), setList("a1", "l", nil, privItem(1, "deny", "jid", "{b}", "message")), deflt("a1", "l"), pLogout("a1"),
			pLogin("b1"), pLogin("c1")),
		steps: steps(
			pSend("b1", chatTo("{a}", "refused")).got("b1", "message error {a} service-unavailable").
				on(kindProsody, whyProOfflineDefault, "b1"),
			pSend("c1", chatTo("{a}", "stored")),
			pLogin("a1"),
			pSend("a1", "<presence/>").got("a1", "available {a}/a1", storedC).
				on(kindProsody, whyProOfflineDefault+"; "+whyProDelayText, "a1", "available {a}/a1", noText(storedB), noText(storedC)).
				on(kindEjabberd, whyEjFirst, "a1", storedC, "available {a}/a1"),
			deflt("a1", ""),
			delivered("b1", "a1", "after"),
		),
	},
	{
		name:  "the default list applies without an active list, the active one alone otherwise",
		setup: steps(pLogin("a1"), pLogin("b1"), setList("a1", "deny", nil, privItem(1, "deny", "jid", "{b}", "message")), setList("a1", "other", nil, privItem(1, "deny", "jid", "{c}", "message"))),
		steps: steps(
			deflt("a1", "deny"),
			refused("b1", "a1", "default", "service-unavailable"),
			active("a1", "other"),
			delivered("b1", "a1", "active, no layering"),
			active("a1", ""),
			refused("b1", "a1", "default again", "service-unavailable"),
			deflt("a1", ""),
			delivered("b1", "a1", "after"),
		),
	},
	{
		name: "an edited list applies at once",
		setup: steps(pLogin("a1"), pLogin("a2"), pLogin("b1"), pLogin("c1"),
			setList("a1", "l", []string{"a2"}, privItem(1, "deny", "jid", "{b}", "message")), active("a1", "l")),
		steps: steps(
			refused("b1", "a1", "blocked", "service-unavailable"),
			delivered("b1", "a2", "other resource, no list"),
			setList("a1", "l", []string{"a2"}, privItem(1, "deny", "jid", "{c}", "message")),
			delivered("b1", "a1", "unblocked"),
			refused("c1", "a1", "blocked now", "service-unavailable"),
			active("a1", ""),
			delivered("c1", "a1", "after"),
		),
	},
	{
		name: "the default list in use by another resource: changing or declining it is a conflict",
		setup: steps(pLogin("a1"), setList("a1", "l1", nil, privItem(1, "deny", "jid", "{b}")), setList("a1", "l2", nil, privItem(1, "deny", "jid", "{c}")),
			deflt("a1", "l1"), pLogin("a2")),
		steps: steps(
			useList("a1", "default", "l2").got("a1", "error conflict").on(kindEjabberd, whyEjNoConflict, "a1", "result"),
			useList("a1", "default", "").got("a1", "error conflict").on(kindEjabberd, whyEjNoConflict, "a1", "result"),
			active("a2", "l2"),
			deflt("a1", "l2"),
			getNames("a2", "privacy active=l2 default=l2 lists=[l1 l2]"),
			deflt("a1", ""),
		),
	},
	{
		name: "a list in use by another resource: removing it is a conflict",
		setup: steps(pLogin("a1"), setList("a1", "l1", nil, privItem(1, "deny", "jid", "{b}")), setList("a1", "l2", nil, privItem(1, "deny", "jid", "{c}")),
			deflt("a1", "l1"), pLogin("a2"), active("a2", "l2")),
		steps: steps(
			pIQ("a1", privQuery("<list name='l2'/>")).got("a1", "error conflict").on(kindEjabberd, whyEjNoConflict, "a1", "result"),
			active("a2", ""),
			pIQ("a1", privQuery("<list name='l1'/>")).got("a1", "error conflict"),
			removeList("a1", "l2"),
			pLogout("a2"),
			removeList("a1", "l1").on(kindEjabberd, whyEjDefaultKept, "a1", "error conflict"),
			getNames("a1", "privacy lists=[]").on(kindEjabberd, whyEjDefaultKept, "a1", "privacy default=l1 lists=[l1]"),
		),
	},
	{
		name:  "a default list while no default list is in use: no conflict",
		setup: steps(pLogin("a1"), pLogin("a2"), setList("a1", "l1", []string{"a2"}, privItem(1, "deny", "jid", "{b}"))),
		steps: steps(
			deflt("a1", "l1").on(kindProsody, whyProDefaultBusy, "a1", "error conflict"),
		),
	},
}

// blockIQ sends a block or unblock (el, the element's XML) from who
// and says who receives the push line: who and each resource of the
// account in interested (those that asked for the blocklist). On
// ejabberd every resource of the account in all gets it, after a
// privacy list push.
func blockIQ(who, el, push string, interested, all []string) pstep {
	st := pIQ(who, "<iq type='set'>"+el+"</iq>").got(who, "result")
	for _, o := range interested {
		st = st.got(o, push)
	}
	ej := "privacy push Blocked contacts"
	st = st.on(kindEjabberd, whyEjAllPushes, who, "result", ej, push)
	for _, o := range all {
		if o != who {
			st = st.on(kindEjabberd, whyEjAllPushes, o, ej, push)
		}
	}
	return st
}

// blockAlone is a block or unblock from who, whose account has no
// resource that asked for the blocklist: no push, but on ejabberd.
func blockAlone(who, el, push string) pstep {
	return pIQ(who, "<iq type='set'>"+el+"</iq>").got(who, "result").
		on(kindEjabberd, whyEjAllPushes, who, "result", "privacy push Blocked contacts", push)
}

func blockEl(jids ...string) string   { return blockingEl("block", jids) }
func unblockEl(jids ...string) string { return blockingEl("unblock", jids) }

func blockingEl(local string, jids []string) string {
	if len(jids) == 0 {
		return "<" + local + " xmlns='" + nsBlocking + "'/>"
	}
	s := "<" + local + " xmlns='" + nsBlocking + "'>"
	for _, j := range jids {
		s += "<item jid='" + j + "'/>"
	}
	return s + "</" + local + ">"
}

// blockingCases is the blocking table.
var blockingCases = []presenceCase{
	{
		name:  "blocklist, block, unblock, unblock all, pushes to the resources that asked",
		setup: steps(pLogin("a1"), pLogin("a2")),
		steps: steps(
			pIQ("a1", "<iq type='get'><blocklist xmlns='"+nsBlocking+"'/></iq>").got("a1", "blocklist []"),
			blockIQ("a1", blockEl("{b}"), "block push [{b}]", []string{"a1"}, []string{"a2"}),
			pIQ("a2", "<iq type='get'><blocklist xmlns='"+nsBlocking+"'/></iq>").got("a2", "blocklist [{b}]"),
			blockIQ("a1", blockEl("{c}", "{d}/x"), "block push [{c} {d}/x]", []string{"a1", "a2"}, []string{"a2"}),
			blockIQ("a2", unblockEl("{c}"), "unblock push [{c}]", []string{"a2", "a1"}, []string{"a1"}),
			pIQ("a1", "<iq type='get'><blocklist xmlns='"+nsBlocking+"'/></iq>").got("a1", "blocklist [{b} {d}/x]"),
			blockIQ("a1", unblockEl(), "unblock push []", []string{"a1", "a2"}, []string{"a2"}),
			pIQ("a1", "<iq type='get'><blocklist xmlns='"+nsBlocking+"'/></iq>").got("a1", "blocklist []"),
		),
	},
	{
		name:  "errors and discovery",
		setup: steps(pLogin("a1")),
		steps: steps(
			pIQ("a1", "<iq type='get' to='{d}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>").got("a1", "disco privacy blocking").
				on(kindProsody, whyProNoPrivacy, "a1", "disco blocking"),
			pIQ("a1", "<iq type='set'>"+blockEl()+"</iq>").got("a1", "error bad-request"),
			pIQ("a1", "<iq type='set'>"+blockEl("a@b@c")+"</iq>").got("a1", "error jid-malformed").
				on(kindEjabberd, whyEjBadJID, "a1", "error bad-request"),
		),
	},
	{
		name:  "a blocked contact: refused both ways, others pass, unblocked it passes",
		setup: steps(pLogin("a1"), pLogin("b1"), pLogin("c1")),
		steps: steps(
			blockAlone("a1", blockEl("{b}"), "block push [{b}]"),
			refused("b1", "a1", "in", "service-unavailable").on(kindProsody, whyProSilentMsg, "b1"),
			delivered("c1", "a1", "control in"),
			iqRefused("b1", "a1", "service-unavailable"),
			iqDelivered("c1", "a1"),
			refused("a1", "b1", "out", "not-acceptable"),
			delivered("a1", "c1", "control out"),
			blockAlone("a1", unblockEl("{b}"), "unblock push [{b}]"),
			delivered("b1", "a1", "after"),
			delivered("a1", "b1", "after"),
		),
	},
	{
		name:  "a blocked full JID: that resource only",
		setup: steps(pLogin("a1"), pLogin("b1"), pLogin("b2")),
		steps: steps(
			blockAlone("a1", blockEl("{b}/b1"), "block push [{b}/b1]"),
			refused("b1", "a1", "in", "service-unavailable").on(kindProsody, whyProSilentMsg, "b1"),
			delivered("b2", "a1", "control"),
			blockAlone("a1", unblockEl(), "unblock push []"),
			delivered("b1", "a1", "after"),
		),
	},
	{
		name:  "blocking a contact sends it unavailable presence, unblocking the current presence",
		setup: steps(stBoth, pLogin("c1")),
		steps: steps(
			blockAlone("a1", blockEl("{b}"), "block push [{b}]").got("b1", "unavailable {a}/a1").
				on(kindEjabberd, whyEjNoPresence, "b1"),
			pSend("a1", "<presence><show>away</show></presence>").got("a1", "available {a}/a1 show=away").
				on(kindProsody, whyProPresenceError, "a1", "available {a}/a1 show=away", "error {b} not-acceptable"),
			pSend("b1", "<presence><show>dnd</show></presence>").got("b1", "available {b}/b1 show=dnd"),
			delivered("c1", "a1", "control"),
			blockAlone("a1", unblockEl("{b}"), "unblock push [{b}]").got("b1", "available {a}/a1 show=away").
				on(kindEjabberd, whyEjNoPresence, "b1"),
			pSend("b1", "<presence/>").got("b1", "available {b}/b1").got("a1", "available {b}/b1"),
		),
	},
}

func privacyUsers() map[string]string  { return caseUsers("pv", len(privacyCases)) }
func blockingUsers() map[string]string { return caseUsers("bk", len(blockingCases)) }

// TestPrivacyCases runs the privacy list table against xmpptest.
func TestPrivacyCases(t *testing.T) {
	srv := xmpptest.NewServer(t, nil)
	for user, pw := range privacyUsers() {
		_, err := srv.AddUser(user, pw)
		require.NoError(t, err)
	}
	runCases(t, pipeServer(srv), "pv", privacyCases)
}

// TestBlockingCases runs the blocking table against xmpptest.
func TestBlockingCases(t *testing.T) {
	srv := xmpptest.NewServer(t, nil)
	for user, pw := range blockingUsers() {
		_, err := srv.AddUser(user, pw)
		require.NoError(t, err)
	}
	runCases(t, pipeServer(srv), "bk", blockingCases)
}

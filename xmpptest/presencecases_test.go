package xmpptest_test

// The subscription and presence rules of RFC 6121 §3–4, as one table of
// cases that runs against xmpptest here and against Prosody and ejabberd
// in presence_interop_test.go (build tag interop), so that where xmpptest
// behaves unlike a real server a case fails. presencerun_test.go says how
// a case runs and what its lines mean.
//
// got is what RFC 6121 asks for and what xmpptest does; on says what a
// server does instead, and why.

// online logs clients in as a client usually does: the roster, then
// initial presence.
func online(names ...string) []pstep {
	var out []pstep
	for _, n := range names {
		out = append(out, pLogin(n), pFetch(n), pSend(n, "<presence/>"))
	}
	return out
}

// sendType sends a presence of type typ from client who to the bare JID
// of account to ("a", "b", "c").
func sendType(who, typ, to string) pstep {
	return pSend(who, "<presence to='{"+to+"}' type='"+typ+"'/>")
}

// The nine subscription states of RFC 6121 Appendix A, from {a}'s side,
// reached through the protocol from a1 and b1 online.
var (
	stNone     = online("a1", "b1")
	stNonePO   = steps(stNone, sendType("a1", "subscribe", "b"))
	stNonePI   = steps(stNone, sendType("b1", "subscribe", "a"))
	stNonePOPI = steps(stNonePO, sendType("b1", "subscribe", "a"))
	stTo       = steps(stNonePO, sendType("b1", "subscribed", "a"))
	stToPI     = steps(stTo, sendType("b1", "subscribe", "a"))
	stFrom     = steps(stNonePI, sendType("a1", "subscribed", "b"))
	stFromPO   = steps(stFrom, sendType("a1", "subscribe", "b"))
	stBoth     = steps(stToPI, sendType("a1", "subscribed", "b"))
)

// Why Prosody and ejabberd differ from xmpptest, step by step.
const (
	whyAck                         = "Prosody answers a subscription request it stores with unavailable presence from the contact's bare JID, an acknowledgement RFC 6121 does not have"
	whyProRepush                   = "Prosody pushes the item again although nothing changed"
	whyProPresence                 = "Prosody sends the contact's presence again although the subscription was there already (and probes when the user is subscribed too)"
	whyProApproved                 = "Prosody keeps a pre-approval but leaves approved out of the roster (RFC 6121 §2.1.2.1 has it)"
	whyProNoUnavailable            = "Prosody does not send the contact's unavailable presence to a user who unsubscribes (RFC 6121 §3.3.3; ejabberd does)"
	whyProRemove                   = "Prosody pushes the removal of an item the contact does not have"
	whyProCancelOrder              = "Prosody sends the unavailable presence after the cancellation and its push; xmpptest sends it first, as ejabberd (RFC 6121 §3.2.2)"
	whyEjOrder                     = "ejabberd pushes the roster item before delivering the subscription stanza; RFC 6121 names no order, xmpptest delivers the stanza first, as Prosody"
	whyEjRepush                    = "ejabberd pushes the contact's item, unchanged, when a subscription stanza about it arrives"
	whyEjNoRepush                  = "ejabberd does not push the item for a request sent again in this state (it does in None + Pending Out, as Prosody)"
	whyEjNoPreApproval             = "ejabberd offers no pre-approval (RFC 6121 §3.4): it ignores the subscribed"
	whyEjApprovesTo                = "ejabberd takes a subscribed in To for the approval of a request that was never made"
	whyEjDeletes                   = "ejabberd deletes an item that a subscription change leaves at none without ask, and pushes nothing"
	whyEjNoEcho                    = "ejabberd does not echo unavailable presence to the resource that sent it; Prosody does, and so does xmpptest, as it echoes available presence (RFC 6121 §4.2.2, §4.4.2)"
	whyProUnavailableToUnavailable = "Prosody sends a resource's unavailable presence also to the account's resources that are unavailable themselves (RFC 6121 §4.5.2: available resources; ejabberd does not)"
	whyProDisconnected             = "Prosody says why in the status of the unavailable presence it sends for a resource whose stream ended"
	whyEjStoredFirst               = "ejabberd delivers the requests it kept before the echo of the initial presence"
	whyEjRemoveOrder               = "ejabberd sends the unsubscribe before the unsubscribed, and the pushes before the stanzas"
	whyProProbeOffline             = "Prosody answers the probe for a contact with no available resource with unavailable presence from its bare JID (RFC 6121 §4.3.2 allows that or nothing; ejabberd sends nothing)"
	whyEjNoWithdraw                = "ejabberd does not tell the contact that the request it holds was withdrawn; xmpptest delivers the unsubscribe, as Prosody, so the contact's client can drop the request"
)

// prosodyDisconnected is the unavailable presence Prosody sends for
// client who when its connection is cut.
func prosodyDisconnected(who string) string {
	return `unavailable {` + who[:1] + `}/` + who + ` status="Disconnected: unexpected eof while reading"`
}

// rosters checks both rosters after a transition.
func rosters(a, b string) []pstep {
	return []pstep{fetchA(a), fetchB(b)}
}

func fetchA(items string) pstep { return pFetch("a1").got("a1", "roster ["+items+"]") }
func fetchB(items string) pstep { return pFetch("b1").got("b1", "roster ["+items+"]") }

// subscribeAcked is a1's subscribe to b where the request is stored:
// what a1 gets, and Prosody's acknowledgement after it.
func subscribeAcked(push string) pstep {
	return sendType("a1", "subscribe", "b").got("a1", push).on(kindProsody, whyAck, "a1", push, "unavailable {b}")
}

// presenceCases is the table.
var presenceCases = []presenceCase{
	// Outbound subscribe (RFC 6121 §3.1.2, A.2.1) and the contact's
	// server's inbound processing (§3.1.3, A.3.1).
	{
		name:  "subscribe in None",
		setup: stNone,
		steps: steps(
			subscribeAcked("push {b} ask").got("b1", "subscribe {a}"),
			rosters("{b} ask", ""),
		),
	},
	{
		name:  "subscribe in None + Pending Out",
		setup: stNonePO,
		steps: steps(
			subscribeAcked("push {b} ask"),
			rosters("{b} ask", ""),
		),
	},
	{
		name:  "subscribe in None + Pending In",
		setup: stNonePI,
		steps: steps(
			subscribeAcked("push {b} ask").got("b1", "subscribe {a}").
				on(kindEjabberd, whyEjRepush, "b1", "push {a} ask", "subscribe {a}"),
			rosters("{b} ask", "{a} ask"),
		),
	},
	{
		name:  "subscribe in None + Pending Out/In",
		setup: stNonePOPI,
		steps: steps(
			subscribeAcked("push {b} ask").on(kindEjabberd, whyEjNoRepush, "a1"),
			rosters("{b} ask", "{a} ask"),
		),
	},
	{
		name:  "subscribe in To",
		setup: stTo,
		steps: steps(
			sendType("a1", "subscribe", "b").
				on(kindProsody, whyProRepush+"; "+whyProPresence, "a1", "push {b} sub=to", "available {b}/b1", "available {b}/b1"),
			rosters("{b} sub=to", "{a} sub=from"),
		),
	},
	{
		name:  "subscribe in To + Pending In",
		setup: stToPI,
		steps: steps(
			sendType("a1", "subscribe", "b").
				on(kindProsody, whyProRepush+"; "+whyProPresence, "a1", "push {b} sub=to", "available {b}/b1", "available {b}/b1"),
			rosters("{b} sub=to", "{a} sub=from ask"),
		),
	},
	{
		name:  "subscribe in From",
		setup: stFrom,
		steps: steps(
			subscribeAcked("push {b} sub=from ask").got("b1", "subscribe {a}").
				on(kindEjabberd, whyEjRepush, "b1", "push {a} sub=to", "subscribe {a}"),
			rosters("{b} sub=from ask", "{a} sub=to"),
		),
	},
	{
		name:  "subscribe in From + Pending Out",
		setup: stFromPO,
		steps: steps(
			subscribeAcked("push {b} sub=from ask").on(kindEjabberd, whyEjNoRepush, "a1"),
			rosters("{b} sub=from ask", "{a} sub=to"),
		),
	},
	{
		name:  "subscribe in Both",
		setup: stBoth,
		steps: steps(
			sendType("a1", "subscribe", "b").
				on(kindProsody, whyProRepush+"; "+whyProPresence, "a1", "push {b} sub=both", "available {b}/b1", "available {b}/b1").
				on(kindProsody, whyProPresence, "b1", "available {a}/a1"),
			rosters("{b} sub=both", "{a} sub=both"),
		),
	},

	// Outbound subscribed (§3.1.5, A.2.1) and inbound (§3.1.6, A.3.2).
	{
		name:  "subscribed in None: a pre-approval (§3.4)",
		setup: stNone,
		steps: steps(
			sendType("a1", "subscribed", "b").got("a1", "push {b} approved").
				on(kindProsody, whyProApproved, "a1", "push {b}").
				on(kindEjabberd, whyEjNoPreApproval, "a1"),
			fetchA("{b} approved").on(kindProsody, whyProApproved, "a1", "roster [{b}]").
				on(kindEjabberd, whyEjNoPreApproval, "a1", "roster []"),
			fetchB(""),
		),
	},
	{
		name:  "subscribed in None + Pending Out: a pre-approval",
		setup: stNonePO,
		steps: steps(
			sendType("a1", "subscribed", "b").got("a1", "push {b} ask approved").
				on(kindProsody, whyProApproved, "a1", "push {b} ask").
				on(kindEjabberd, whyEjNoPreApproval, "a1"),
			fetchA("{b} ask approved").on(kindProsody, whyProApproved, "a1", "roster [{b} ask]").
				on(kindEjabberd, whyEjNoPreApproval, "a1", "roster [{b} ask]"),
			fetchB(""),
		),
	},
	{
		name:  "subscribed in None + Pending In",
		setup: stNonePI,
		steps: steps(
			sendType("a1", "subscribed", "b").got("a1", "push {b} sub=from").
				got("b1", "subscribed {a}", "push {a} sub=to", "available {a}/a1").
				on(kindEjabberd, whyEjOrder, "b1", "push {a} sub=to", "subscribed {a}", "available {a}/a1"),
			rosters("{b} sub=from", "{a} sub=to"),
		),
	},
	{
		name:  "subscribed in None + Pending Out/In",
		setup: stNonePOPI,
		steps: steps(
			sendType("a1", "subscribed", "b").got("a1", "push {b} sub=from ask").
				got("b1", "subscribed {a}", "push {a} sub=to", "available {a}/a1").
				on(kindEjabberd, whyEjOrder, "b1", "push {a} sub=to", "subscribed {a}", "available {a}/a1"),
			rosters("{b} sub=from ask", "{a} sub=to"),
		),
	},
	{
		name:  "subscribed in To: a pre-approval",
		setup: stTo,
		steps: steps(
			sendType("a1", "subscribed", "b").got("a1", "push {b} sub=to approved").
				on(kindProsody, whyProApproved+"; "+whyProPresence, "a1", "push {b} sub=to", "available {b}/b1").
				on(kindEjabberd, whyEjApprovesTo, "a1", "push {b} sub=both").
				on(kindEjabberd, whyEjApprovesTo, "b1", "push {a} sub=both", "subscribed {a}", "available {a}/a1"),
			fetchA("{b} sub=to approved").on(kindProsody, whyProApproved, "a1", "roster [{b} sub=to]").
				on(kindEjabberd, whyEjApprovesTo, "a1", "roster [{b} sub=both]"),
			fetchB("{a} sub=from").on(kindEjabberd, whyEjApprovesTo, "b1", "roster [{a} sub=both]"),
		),
	},
	{
		name:  "subscribed in To + Pending In",
		setup: stToPI,
		steps: steps(
			sendType("a1", "subscribed", "b").got("a1", "push {b} sub=both").
				got("b1", "subscribed {a}", "push {a} sub=both", "available {a}/a1").
				on(kindProsody, whyProPresence, "a1", "push {b} sub=both", "available {b}/b1").
				on(kindEjabberd, whyEjOrder, "b1", "push {a} sub=both", "subscribed {a}", "available {a}/a1"),
			rosters("{b} sub=both", "{a} sub=both"),
		),
	},
	{
		name:  "subscribed in From: ignored",
		setup: stFrom,
		steps: steps(
			sendType("a1", "subscribed", "b").on(kindProsody, whyProPresence, "b1", "available {a}/a1"),
			rosters("{b} sub=from", "{a} sub=to"),
		),
	},
	{
		name:  "subscribed in From + Pending Out: ignored",
		setup: stFromPO,
		steps: steps(
			sendType("a1", "subscribed", "b").on(kindProsody, whyProPresence, "b1", "available {a}/a1"),
			rosters("{b} sub=from ask", "{a} sub=to"),
		),
	},
	{
		name:  "subscribed in Both: ignored",
		setup: stBoth,
		steps: steps(
			sendType("a1", "subscribed", "b").
				on(kindProsody, whyProPresence, "a1", "available {b}/b1").
				on(kindProsody, whyProPresence, "b1", "available {a}/a1"),
			rosters("{b} sub=both", "{a} sub=both"),
		),
	},

	// Outbound unsubscribe (§3.3.2, A.2.1) and inbound (§3.3.3, A.3.3).
	{
		name:  "unsubscribe in None",
		setup: stNone,
		steps: steps(
			sendType("a1", "unsubscribe", "b"),
			rosters("", ""),
		),
	},
	{
		name:  "unsubscribe in None + Pending Out",
		setup: stNonePO,
		steps: steps(
			sendType("a1", "unsubscribe", "b").got("a1", "push {b}").got("b1", "unsubscribe {a}").
				on(kindProsody, whyProRemove, "b1", "unsubscribe {a}", "push {a} sub=remove").
				on(kindEjabberd, whyEjNoWithdraw, "b1"),
			rosters("{b}", ""),
		),
	},
	{
		name:  "unsubscribe in None + Pending In",
		setup: stNonePI,
		steps: steps(
			sendType("a1", "unsubscribe", "b"),
			rosters("", "{a} ask"),
		),
	},
	{
		name:  "unsubscribe in None + Pending Out/In",
		setup: stNonePOPI,
		steps: steps(
			sendType("a1", "unsubscribe", "b").got("a1", "push {b}").got("b1", "unsubscribe {a}", "push {a} ask").
				on(kindEjabberd, whyEjDeletes, "a1").
				on(kindEjabberd, whyEjOrder, "b1", "push {a} ask", "unsubscribe {a}"),
			fetchA("{b}").on(kindEjabberd, whyEjDeletes, "a1", "roster []"),
			fetchB("{a} ask"),
		),
	},
	{
		name:  "unsubscribe in To",
		setup: stTo,
		steps: steps(
			sendType("a1", "unsubscribe", "b").got("a1", "push {b}", "unavailable {b}/b1").
				got("b1", "unsubscribe {a}", "push {a}").
				on(kindProsody, whyProNoUnavailable, "a1", "push {b}").
				on(kindEjabberd, whyEjOrder, "b1", "push {a}", "unsubscribe {a}"),
			rosters("{b}", "{a}"),
		),
	},
	{
		name:  "unsubscribe in To + Pending In",
		setup: stToPI,
		steps: steps(
			sendType("a1", "unsubscribe", "b").got("a1", "push {b}", "unavailable {b}/b1").
				got("b1", "unsubscribe {a}", "push {a} ask").
				on(kindProsody, whyProNoUnavailable, "a1", "push {b}").
				on(kindEjabberd, whyEjDeletes, "a1", "unavailable {b}/b1").
				on(kindEjabberd, whyEjOrder, "b1", "push {a} ask", "unsubscribe {a}"),
			fetchA("{b}").on(kindEjabberd, whyEjDeletes, "a1", "roster []"),
			fetchB("{a} ask"),
		),
	},
	{
		name:  "unsubscribe in From",
		setup: stFrom,
		steps: steps(
			sendType("a1", "unsubscribe", "b").on(kindProsody, whyProRepush, "a1", "push {b} sub=from"),
			rosters("{b} sub=from", "{a} sub=to"),
		),
	},
	{
		name:  "unsubscribe in From + Pending Out",
		setup: stFromPO,
		steps: steps(
			sendType("a1", "unsubscribe", "b").got("a1", "push {b} sub=from").got("b1", "unsubscribe {a}", "push {a} sub=to").
				on(kindEjabberd, whyEjOrder, "b1", "push {a} sub=to", "unsubscribe {a}"),
			rosters("{b} sub=from", "{a} sub=to"),
		),
	},
	{
		name:  "unsubscribe in Both",
		setup: stBoth,
		steps: steps(
			sendType("a1", "unsubscribe", "b").got("a1", "push {b} sub=from", "unavailable {b}/b1").
				got("b1", "unsubscribe {a}", "push {a} sub=to").
				on(kindProsody, whyProNoUnavailable, "a1", "push {b} sub=from").
				on(kindEjabberd, whyEjOrder, "b1", "push {a} sub=to", "unsubscribe {a}"),
			rosters("{b} sub=from", "{a} sub=to"),
		),
	},

	// Outbound unsubscribed (§3.2.2, A.2.1) and inbound (§3.2.3, A.3.4).
	{
		name:  "unsubscribed in None: ignored",
		setup: stNone,
		steps: steps(
			sendType("a1", "unsubscribed", "b"),
			rosters("", ""),
		),
	},
	{
		name:  "unsubscribed in None + Pending Out: ignored",
		setup: stNonePO,
		steps: steps(
			sendType("a1", "unsubscribed", "b"),
			rosters("{b} ask", ""),
		),
	},
	{
		name:  "unsubscribed in None + Pending In: a denial",
		setup: stNonePI,
		steps: steps(
			sendType("a1", "unsubscribed", "b").got("b1", "unsubscribed {a}", "push {a}").
				on(kindEjabberd, whyEjOrder, "b1", "push {a}", "unsubscribed {a}"),
			rosters("", "{a}"),
		),
	},
	{
		name:  "unsubscribed in None + Pending Out/In: a denial",
		setup: stNonePOPI,
		steps: steps(
			sendType("a1", "unsubscribed", "b").got("b1", "unsubscribed {a}", "push {a}").
				on(kindEjabberd, whyEjRepush, "a1", "push {b} ask").
				on(kindEjabberd, whyEjDeletes, "b1", "unsubscribed {a}"),
			fetchA("{b} ask"),
			fetchB("{a}").on(kindEjabberd, whyEjDeletes, "b1", "roster []"),
		),
	},
	{
		name:  "unsubscribed in To: ignored",
		setup: stTo,
		steps: steps(
			sendType("a1", "unsubscribed", "b"),
			rosters("{b} sub=to", "{a} sub=from"),
		),
	},
	{
		name:  "unsubscribed in To + Pending In: a denial",
		setup: stToPI,
		steps: steps(
			sendType("a1", "unsubscribed", "b").got("b1", "unsubscribed {a}", "push {a} sub=from").
				on(kindEjabberd, whyEjRepush, "a1", "push {b} sub=to").
				on(kindEjabberd, whyEjOrder, "b1", "push {a} sub=from", "unsubscribed {a}"),
			rosters("{b} sub=to", "{a} sub=from"),
		),
	},
	{
		name:  "unsubscribed in From: a cancellation",
		setup: stFrom,
		steps: steps(
			sendType("a1", "unsubscribed", "b").got("a1", "push {b}").
				got("b1", "unavailable {a}/a1", "unsubscribed {a}", "push {a}").
				on(kindProsody, whyProCancelOrder, "b1", "unsubscribed {a}", "push {a}", "unavailable {a}/a1").
				on(kindEjabberd, whyEjOrder, "b1", "unavailable {a}/a1", "push {a}", "unsubscribed {a}"),
			rosters("{b}", "{a}"),
		),
	},
	{
		name:  "unsubscribed in From + Pending Out: a cancellation",
		setup: stFromPO,
		steps: steps(
			sendType("a1", "unsubscribed", "b").got("a1", "push {b} ask").
				got("b1", "unavailable {a}/a1", "unsubscribed {a}", "push {a}").
				on(kindProsody, whyProCancelOrder, "b1", "unsubscribed {a}", "push {a}", "unavailable {a}/a1").
				on(kindEjabberd, whyEjDeletes, "b1", "unavailable {a}/a1", "unsubscribed {a}"),
			fetchA("{b} ask"),
			fetchB("{a}").on(kindEjabberd, whyEjDeletes, "b1", "roster []"),
		),
	},
	{
		name:  "unsubscribed in Both: a cancellation",
		setup: stBoth,
		steps: steps(
			sendType("a1", "unsubscribed", "b").got("a1", "push {b} sub=to").
				got("b1", "unavailable {a}/a1", "unsubscribed {a}", "push {a} sub=from").
				on(kindProsody, whyProCancelOrder, "b1", "unsubscribed {a}", "push {a} sub=from", "unavailable {a}/a1").
				on(kindEjabberd, whyEjOrder, "b1", "unavailable {a}/a1", "push {a} sub=from", "unsubscribed {a}"),
			rosters("{b} sub=to", "{a} sub=from"),
		),
	},

	// Presence (RFC 6121 §4).
	{
		name:  "initial presence: echo, broadcast and probes",
		setup: steps(stBoth, pLogout("a1")),
		steps: steps(
			pLogin("a1"),
			fetchA("{b} sub=both"),
			pSend("a1", "<presence><show>away</show><status>lunch</status><priority>5</priority></presence>").
				got("a1", `available {a}/a1 show=away status="lunch" prio=5`, "available {b}/b1").
				got("b1", `available {a}/a1 show=away status="lunch" prio=5`),
		),
	},
	{
		name:  "initial presence with a contact offline",
		setup: steps(stBoth, pLogout("b1"), pLogout("a1")),
		steps: steps(
			pLogin("a1"),
			fetchA("{b} sub=both"),
			pSend("a1", "<presence/>").got("a1", "available {a}/a1").
				on(kindProsody, whyProProbeOffline, "a1", "available {a}/a1", "unavailable {b}"),
		),
	},
	{
		name:  "a change of presence, and an error",
		setup: stBoth,
		steps: steps(
			pSend("a1", "<presence><show>dnd</show><status>busy</status></presence>").
				got("a1", `available {a}/a1 show=dnd status="busy"`).got("b1", `available {a}/a1 show=dnd status="busy"`),
			pSend("b1", "<presence to='{a}/a1' type='error'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>").
				got("a1", "error {b}/b1 service-unavailable"),
		),
	},
	{
		name:  "a second resource",
		setup: stBoth,
		steps: steps(
			pLogin("a2"),
			pFetch("a2").got("a2", "roster [{b} sub=both]"),
			pSend("a2", "<presence><priority>-1</priority></presence>").
				got("a2", "available {a}/a2 prio=-1", "available {b}/b1", "available {a}/a1").
				got("a1", "available {a}/a2 prio=-1").
				got("b1", "available {a}/a2 prio=-1"),
			pSend("a1", "<presence type='unavailable'/>").
				got("a1", "unavailable {a}/a1").got("a2", "unavailable {a}/a1").got("b1", "unavailable {a}/a1").
				on(kindEjabberd, whyEjNoEcho, "a1"),
			pLogout("a2").got("b1", "unavailable {a}/a2").on(kindProsody, whyProUnavailableToUnavailable, "a1", "unavailable {a}/a2"),
		),
	},
	{
		name:  "a resource that vanishes",
		setup: stBoth,
		steps: steps(pVanish("a1").got("b1", "unavailable {a}/a1").on(kindProsody, whyProDisconnected, "b1", prosodyDisconnected("a1"))),
	},
	{
		name:  "directed presence, closed by unavailable",
		setup: online("a1", "c1"),
		steps: steps(
			pSend("a1", "<presence to='{c}/c1'><status>hi</status></presence>").got("c1", `available {a}/a1 status="hi"`),
			pSend("a1", "<presence type='unavailable'/>").got("a1", "unavailable {a}/a1").got("c1", "unavailable {a}/a1").
				on(kindEjabberd, whyEjNoEcho, "a1"),
		),
	},
	{
		name:  "directed presence, closed when the stream ends",
		setup: online("a1", "c1"),
		steps: steps(
			pSend("a1", "<presence to='{c}'/>").got("c1", "available {a}/a1"),
			pVanish("a1").got("c1", "unavailable {a}/a1").on(kindProsody, whyProDisconnected, "c1", prosodyDisconnected("a1")),
		),
	},
	{
		name:  "directed presence, ended by directed unavailable",
		setup: online("a1", "c1"),
		steps: steps(
			pSend("a1", "<presence to='{c}/c1'/>").got("c1", "available {a}/a1"),
			pSend("a1", "<presence to='{c}/c1' type='unavailable'/>").got("c1", "unavailable {a}/a1"),
			pLogout("a1"),
		),
	},
	{
		name:  "a probe from a client",
		setup: stTo,
		steps: steps(
			pSend("a1", "<presence to='{b}' type='probe'/>").got("a1", "available {b}/b1"),
			pSend("b1", "<presence to='{a}' type='probe'/>"),
		),
	},

	// Requests stored while the contact is offline (§3.1.3), pre-approval
	// (§3.4), removing a contact (§2.5.2).
	{
		name:  "a request made while the contact is offline",
		setup: steps(pLogin("a1"), pFetch("a1"), pSend("a1", "<presence/>")),
		steps: steps(
			subscribeAcked("push {b} ask"),
			pLogin("b1"),
			fetchB(""),
			pSend("b1", "<presence/>").got("b1", "available {b}/b1", "subscribe {a}").
				on(kindEjabberd, whyEjStoredFirst, "b1", "subscribe {a}", "available {b}/b1"),
			sendType("b1", "subscribed", "a").got("b1", "push {a} sub=from").
				got("a1", "subscribed {b}", "push {b} sub=to", "available {b}/b1").
				on(kindEjabberd, whyEjOrder, "a1", "push {b} sub=to", "subscribed {b}", "available {b}/b1"),
			rosters("{b} sub=to", "{a} sub=from"),
		),
	},
	{
		name:  "a pre-approved request",
		setup: online("a1", "b1"),
		steps: steps(
			pFeatures("b1").got("b1", "pre-approval").on(kindEjabberd, whyEjNoPreApproval, "b1", "no pre-approval"),
			sendType("b1", "subscribed", "a").got("b1", "push {a} approved").
				on(kindProsody, whyProApproved, "b1", "push {a}").
				on(kindEjabberd, whyEjNoPreApproval, "b1"),
			sendType("a1", "subscribe", "b").got("a1", "push {b} ask", "subscribed {b}", "push {b} sub=to", "available {b}/b1").
				got("b1", "push {a} sub=from").
				on(kindEjabberd, whyEjNoPreApproval, "a1", "push {b} ask").
				on(kindEjabberd, whyEjNoPreApproval, "b1", "subscribe {a}"),
			fetchA("{b} sub=to").on(kindEjabberd, whyEjNoPreApproval, "a1", "roster [{b} ask]"),
			fetchB("{a} sub=from").on(kindEjabberd, whyEjNoPreApproval, "b1", "roster []"),
		),
	},
	{
		name:  "removing a contact with subscription both",
		setup: stBoth,
		steps: steps(
			pRemove("a1", "{b}").got("a1", "result", "push {b} sub=remove", "unavailable {b}/b1").
				got("b1", "unavailable {a}/a1", "unsubscribed {a}", "push {a} sub=from", "unsubscribe {a}", "push {a}").
				on(kindProsody, whyProNoUnavailable, "a1", "result", "push {b} sub=remove").
				on(kindProsody, whyProCancelOrder, "b1", "unsubscribed {a}", "push {a} sub=from", "unavailable {a}/a1", "unsubscribe {a}", "push {a}").
				on(kindEjabberd, whyEjRemoveOrder, "b1", "unavailable {a}/a1", "push {a} sub=to", "unsubscribe {a}", "push {a}", "unsubscribed {a}"),
			rosters("", "{a}"),
		),
	},
}

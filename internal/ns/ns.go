// Package ns holds the XML namespaces Parley speaks, each defined once and
// named after the specification that defines it. Public packages that
// export a namespace their users need (stanza.NS, ping.NS, disco.NSInfo…)
// define it as the constant here.
package ns

// RFC 6120 (XMPP Core).
const (
	// Stream qualifies <stream:stream>, <stream:features> and
	// <stream:error> (§4.8.1).
	Stream = "http://etherx.jabber.org/streams"
	// Client is the content namespace of a client stream (§4.8.2).
	Client = "jabber:client"
	// StreamErrors qualifies the conditions and text of a stream error
	// (§4.9.2).
	StreamErrors = "urn:ietf:params:xml:ns:xmpp-streams"
	// TLS is the STARTTLS namespace (§5).
	TLS = "urn:ietf:params:xml:ns:xmpp-tls"
	// SASL is the namespace of SASL negotiation (§6).
	SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
	// Bind is the namespace of resource binding (§7).
	Bind = "urn:ietf:params:xml:ns:xmpp-bind"
	// StanzaErrors qualifies the conditions and text of a stanza error
	// (§8.3).
	StanzaErrors = "urn:ietf:params:xml:ns:xmpp-stanzas"
)

// Session is the namespace of the session establishment iq of RFC 3921 §3,
// which RFC 6121 dropped and some servers still require.
const Session = "urn:ietf:params:xml:ns:xmpp-session"

// RFC 6121 (XMPP IM): the roster namespace and stream features.
const (
	// Roster is the namespace of the roster query (§2.1).
	Roster = "jabber:iq:roster"
	// RosterVer announces roster versioning (§2.6).
	RosterVer = "urn:xmpp:features:rosterver"
	// PreApproval announces subscription pre-approval (§3.4).
	PreApproval = "urn:xmpp:features:pre-approval"
)

// RFC 3921 §10 (privacy lists, dropped by RFC 6121 and kept as XEP-0016).
const Privacy = "jabber:iq:privacy"

// XML is the namespace bound to the predefined prefix "xml" (Namespaces in
// XML 1.0 §3), the namespace of xml:lang as encoding/xml reports it.
const XML = "http://www.w3.org/XML/1998/namespace"

// Extensions (XEPs).
const (
	// Data is XEP-0004: Data Forms.
	Data = "jabber:x:data"
	// Register is the query namespace of XEP-0077: In-Band Registration,
	// and RegisterFeature its stream feature.
	Register        = "jabber:iq:register"
	RegisterFeature = "http://jabber.org/features/iq-register"
	// OOB is the x element of XEP-0066: Out of Band Data.
	OOB = "jabber:x:oob"
	// DiscoInfo is the info namespace of XEP-0030: Service Discovery.
	DiscoInfo = "http://jabber.org/protocol/disco#info"
	// DiscoItems is the items namespace of XEP-0030: Service Discovery.
	DiscoItems = "http://jabber.org/protocol/disco#items"
	// Caps is XEP-0115: Entity Capabilities.
	Caps = "http://jabber.org/protocol/caps"
	// SM is version 3 of XEP-0198: Stream Management.
	SM = "urn:xmpp:sm:3"
	// Ping is XEP-0199: XMPP Ping.
	Ping = "urn:xmpp:ping"
	// SASLCB is XEP-0440: SASL Channel-Binding Type Capability.
	SASLCB = "urn:xmpp:sasl-cb:0"
	// MUCUser is the user namespace of XEP-0045: Multi-User Chat, whose
	// <x/> marks presence from or about a group-chat room.
	MUCUser = "http://jabber.org/protocol/muc#user"
	// Limits is XEP-0478: Stream Limits Advertisement.
	Limits = "urn:xmpp:stream-limits:0"
	// ChatStates is XEP-0085: Chat State Notifications.
	ChatStates = "http://jabber.org/protocol/chatstates"
	// Receipts is XEP-0184: Message Delivery Receipts.
	Receipts = "urn:xmpp:receipts"
	// Delay is XEP-0203: Delayed Delivery.
	Delay = "urn:xmpp:delay"
	// Carbons is version 2 of XEP-0280: Message Carbons, whose
	// <received/> and <sent/> wrap forwarded copies.
	Carbons = "urn:xmpp:carbons:2"
	// Forward is XEP-0297: Stanza Forwarding.
	Forward = "urn:xmpp:forward:0"
	// SID is XEP-0359: Unique and Stable Stanza IDs.
	SID = "urn:xmpp:sid:0"
	// Blocking is XEP-0191: Blocking Command.
	Blocking = "urn:xmpp:blocking"
	// BlockingErrors qualifies the <blocked/> condition of XEP-0191's
	// errors.
	BlockingErrors = "urn:xmpp:blocking:errors"
)

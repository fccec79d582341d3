// Package xmpptest is an XMPP server for tests, in the spirit of
// net/http/httptest: it runs in memory (over net.Pipe) and, on request, on
// a 127.0.0.1 TCP port, and speaks the server side of RFC 6120 (XMPP Core)
// and of RFC 6121 (XMPP IM: rosters, subscriptions, presence and the
// routing rules of §8), plus the RFC 3921 §3
// session iq, RFC 3921 §10 privacy lists, XEP-0191 blocking and XEP-0198
// stream management, so that Parley sessions and other clients can be tested
// against something real.
//
// # What it speaks
//
// A stream opens in plaintext and requires STARTTLS, or opens with TLS
// directly (the server tells the two apart by the first byte, so one
// listener and one pipe serve both). The certificate is a self-signed ECDSA
// one made for the server's domain when the server starts; TLSConfig and
// CertPool give clients what they need to trust it. SASL offers
// SCRAM-SHA-1/256/512, their -PLUS variants with channel binding
// (tls-exporter on TLS 1.3, tls-unique on TLS 1.2, advertised under
// XEP-0440) and PLAIN. Then resource binding (RFC 6120 §7) and the session
// iq, offered as <optional/> unless RequireSession is given.
//
// # Routing
//
// Every stanza a client sends is stamped with the sender's full JID as
// 'from' (a 'from' other than the sender's full or bare JID ends the stream
// with invalid-from). Then, by RFC 6121 §8:
//
//   - No 'to', or the account's own bare JID for an iq: the server answers
//     on the account's behalf. Presence without 'to' sets the resource's
//     availability and priority and is broadcast (see Presence).
//   - The server's domain: the server answers iqs (ping, disco#info with
//     the identity server/im and among its features jabber:iq:privacy
//     and urn:xmpp:blocking, disco#items with no items, session; anything
//     else is service-unavailable).
//   - Another domain: remote-server-not-found (there is no federation).
//   - An account that does not exist: service-unavailable for messages and
//     iqs, presence is dropped.
//   - A bare JID: a chat or normal message goes to every available
//     resource with the highest non-negative priority (all of them on a
//     tie, never only the most recent), and is kept offline when there is
//     none (see Offline messages); a headline goes to
//     every available resource of non-negative priority; groupchat is
//     answered service-unavailable; an error message is dropped. An iq is
//     answered by the server on the account's behalf: ping; disco#info
//     with the identity account/registered and the features disco#info,
//     disco#items and ping (XEP-0030 §3.1; to anyone);
//     disco#items with no items; the roster, the privacy lists and the
//     blocklist, for the account itself only (forbidden to anyone else);
//     other namespaces are
//     service-unavailable. Presence goes to every available resource
//     (subscription stanzas and probes are the server's: see
//     Subscriptions).
//   - A full JID: delivered when that resource is bound (available or
//     not). Otherwise a chat or normal message is routed as if to the bare
//     JID, a headline or error message and presence are dropped, groupchat
//     and iq get/set are answered service-unavailable.
//
// Errors the server generates come from the address the stanza was sent to.
// Privacy lists and blocklists come first (see Privacy lists and
// blocking).
//
// # Offline messages
//
// A chat or normal message for an account with no available resource of
// non-negative priority is stored (XEP-0160), as Prosody and ejabberd
// do, also when sent to a full JID whose resource is offline. The first
// resource that then sends available presence with priority ≥ 0, or
// raises its priority from negative to ≥ 0, receives the stored messages
// once, oldest first, after the presence its initial presence brings,
// each with <delay xmlns='urn:xmpp:delay' from='DOMAIN' stamp='…'>Offline
// storage</delay> (XEP-0203; the stamp in UTC, with milliseconds). A
// message with only a chat state is not stored but answered
// service-unavailable, as ejabberd does; headline and error messages are
// dropped, groupchat answered service-unavailable. An account stores at
// most 1000 messages; the next is answered service-unavailable. The
// domain lists the feature msgoffline. Config.NoOfflineStorage turns
// storage off: then every such chat or normal message is answered
// service-unavailable.
//
// When a resource is bound twice, the new session wins and the old one ends
// with a <conflict/> stream error (RFC 6120 §7.7.2.2); RefuseConflicts
// makes the server refuse the new bind with a conflict stanza error instead.
//
// # Rosters
//
// Every account has a roster (RFC 6121 §2). A roster get makes the
// resource interested: from then on it receives a push for each change,
// whether a resource or the Go API made it, in the order of the changes.
// A set adds or updates one item (its name and groups: the subscription
// state stays the server's) or, with subscription='remove', removes it
// (item-not-found when there is none). A set is checked as RFC 6121
// §2.3.3 says: exactly one item, with a valid bare JID other than the
// account's, no ask, no empty group (not-acceptable) and no group twice;
// a get carries no item; a get or set addressed to another account is
// forbidden. Roster versioning (§2.6) is offered: results and pushes carry
// a version; a get with the current version gets an empty result, one with
// a stale version the whole roster, as Prosody and ejabberd answer
// (RosterUpdatesAsPushes: an empty result, then a push of each change
// since). NoRosterVersioning turns versioning off.
//
// These rules were compared with Prosody and ejabberd case by case. Where
// those servers differ from each other or from RFC 6121, xmpptest follows
// the RFC, and where the RFC is silent, the stricter server, so that a
// client that passes against xmpptest works on both (the package's tests
// hold the cases and each server's answers).
//
// Tests seed and read rosters with SetRosterItem, RemoveRosterItem and
// Roster. SetRosterItem also sets what a client cannot: the subscription
// state and the ask and approved flags ("alice has bob as a contact with
// subscription both").
//
// # Subscriptions
//
// The subscription state machine of RFC 6121 §3 and Appendix A runs on
// the rosters: the state of a contact is its roster item's subscription
// and ask (approved for a pre-approval) plus, on the contact's side, the
// requests it has not answered. A subscribe, subscribed, unsubscribe or
// unsubscribed a client sends is addressed to the contact's bare JID,
// stamped with the user's bare JID, processed for the user (A.2) and then
// for the contact (A.3), with the roster pushes each change makes and
// the presence it brings: an approval sends the contact the user's
// current presence, a cancellation unavailable presence from every
// available resource (§3.2.2, §3.3.3). A request reaches the contact's
// available resources; one made while the contact has none is kept
// (at most 1,000 per account) and delivered after its next initial
// presence (§3.1.3); a request already pending is not delivered again.
// Pre-approval (§3.4) is offered as the urn:xmpp:features:pre-approval
// stream feature; NoPreApproval leaves it out, as ejabberd does.
// Removing a roster item ends its subscriptions both ways (§2.5.2).
// A subscription stanza without 'to' is a bad-request; one to another
// domain changes the user's side and is then answered
// remote-server-not-found.
//
// # Presence
//
// A resource's presence without 'to' is echoed to it, as both real
// servers do, and broadcast to the account's other available resources
// and to the available resources of every contact with a subscription
// from or both (RFC 6121 §4.2, §4.4, §4.5). Initial presence also brings
// the resource the current presence of every contact it is subscribed
// to (the server answers its probes itself: nothing for a contact with
// no available resource), of the account's other available resources,
// and the requests kept for it. Presence with 'to' to an entity that is
// not a contact with subscription from or both is directed presence
// (§4.6): remembered, and closed with unavailable presence when the
// resource goes unavailable or its stream ends; a directed unavailable
// ends it too. A resource whose stream ends (or whose resource is bound
// again) while available is unavailable to everyone who had its
// presence. A probe from a client is answered on the contact's behalf:
// the contact's current presence (unavailable from its bare JID when it
// has no available resource) to a subscriber, nothing to anyone else.
//
// These rules were compared with Prosody and ejabberd step by step (the
// package's tests hold the steps, and each server's differences and why).
// Where the two agree, xmpptest does what they do; where they differ,
// what RFC 6121 says: the stanza before its roster push (as Prosody;
// ejabberd pushes first); no unavailable presence acknowledging a
// request (Prosody sends one); no push or presence for a subscribe or
// subscribed that changes nothing (Prosody sends them again); the
// contact's unavailable presence to a user who unsubscribes (as
// ejabberd; Prosody sends none); the approved attribute in the roster
// (Prosody leaves it out, ejabberd has no pre-approval); items left at
// none are kept (ejabberd deletes them).
//
// Tests seed subscription states with SetRosterItem (Subscription, Ask,
// Approved): a resource that logs in afterwards gets its contacts'
// presence and sends its own as if the subscriptions had been made
// through the protocol. Requests pending on the contact's side cannot
// be seeded; send them.
//
// # Privacy lists and blocking
//
// Every account may keep privacy lists (RFC 3921 §10, XEP-0016: at most
// 50, of at most 250 items each; past a bound resource-constraint), a
// default list and a blocklist (XEP-0191, at most 1000 JIDs); every
// resource may set an active list, which lasts as long as its stream.
// Lists are read, created, replaced, removed and made active or default
// with jabber:iq:privacy, answered as §10 says: item-not-found for an
// unknown list, bad-request for a malformed request (two children, an
// order twice, an unknown action, type or subscription, a value that is
// no JID), conflict for changing or declining the default list, or
// removing a list, while it applies to another resource. Every change
// to a list is pushed to every resource (a removal is not, as on both
// real servers). The blocklist is read and changed with
// urn:xmpp:blocking; changes are pushed to the resources that read it,
// and a block sends the blocked contacts that had the account's presence
// unavailable presence, an unblock its current presence.
//
// Every message, iq and presence between two accounts is checked on the
// way out against the sender's blocklist and list (its resource's active
// list, else the account's default list) and on the way in against the
// recipient's (the receiving resource's, or the default list for a
// message kept offline, a subscription stanza or an iq to the bare JID):
// items in ascending order, the first that covers the stanza kind and
// matches the other entity deciding (by JID at the four levels of
// §10.1, or by the group or subscription of its item in the account's
// roster), allow when none does. A refused outbound stanza is answered
// not-acceptable (with <blocked xmlns='urn:xmpp:blocking:errors'/> for
// the blocklist); a refused inbound message or iq get or set
// service-unavailable, so the account looks offline; anything else is
// dropped. Stanzas between the resources of one account are never
// refused (as Prosody; ejabberd applies the lists to them too). The
// blocklist applies whatever list is active.
//
// These rules were run on Prosody (mod_privacy_lists, mod_blocklist)
// and ejabberd too; where they differ xmpptest follows the RFC and the
// XEPs, among them: items in ascending order (ejabberd applies them in
// document order), bad-request for an order twice and item-not-found for
// removing an unknown list (ejabberd accepts both), conflict when a list
// another resource uses is changed (ejabberd never checks; Prosody also
// refuses a first default list while another resource is online),
// not-acceptable for an outbound stanza (Prosody: service-unavailable),
// <message/> items for incoming messages only (Prosody refuses outgoing
// ones too), blocking pushes only to the resources that read the
// blocklist (ejabberd pushes to all), service-unavailable for a message
// from a blocked contact (Prosody drops it), presence on block and
// unblock (ejabberd sends none).
//
// # In-band registration
//
// Config.Registration turns on XEP-0077 (off by default). Before
// authentication the stream features carry <register
// xmlns='http://jabber.org/features/iq-register'/>, and an iq get of
// jabber:iq:register (without 'to', or to the domain) is answered with
// instructions and the legacy username and password fields
// (Config.RegistrationForm: a data form with FORM_TYPE jabber:iq:register
// instead). A set creates the account: conflict when it exists,
// not-acceptable without a username or a password (ejabberd:
// bad-request) or with an invalid username; then the client may log in on the same stream. Any other iq
// before authentication is not-authorized. Logged in, a get says
// <registered/> with the username; a set with the account's username and
// a new password changes the password and ends the account's other
// streams with a reset stream error, as Prosody does (ejabberd keeps
// them); anything incomplete or naming another account is bad-request,
// as on Prosody (ejabberd: bad-request and forbidden); a set with
// <remove/> is answered and then ends every stream of the account with a
// not-authorized stream error ("Account removed"), as Prosody does
// (ejabberd: conflict), after its resources went unavailable and its
// contacts were removed with their subscriptions; the account and its
// stored messages are gone. The domain lists jabber:iq:register.
//
// # Stream management
//
// XEP-0198 (urn:xmpp:sm:3) is offered after authentication as <sm
// xmlns='urn:xmpp:sm:3'/> (Config.NoStreamManagement leaves it out).
// <enable/> is accepted once a resource is bound, once: before bind, or
// a second time, it is answered <failed/> with unexpected-request. With
// resume='true' the answer is <enabled id='…' resume='true' max='…'/>:
// the id is 144 random bits, max is Config.ResumeTimeout in seconds
// (300 by default, as the xmppd test servers are configured).
//
// From <enabled/> on, both sides count stanzas (message, presence, iq;
// h is a uint32 that wraps). <r/> is answered <a h='…'/> with the
// stanzas the server has handled. The server keeps every stanza it sends
// until the client acknowledges it, and asks for an acknowledgement with
// an <r/> after a stanza when none is outstanding (one at a time, as
// both real servers do). A client that lets 5000 stanzas go
// unacknowledged loses its stream with policy-violation, without
// resumption, as ejabberd bounds its queue (Prosody instead drops the
// oldest of 500 and refuses the resumption). An h that is no uint32
// ends the stream with bad-format; one above what was sent with
// undefined-condition and <handled-count-too-high h='…' send-count='…'/>
// (XEP-0198 v1.6; both real servers send undefined-condition alone).
//
// When the connection of a resource that enabled resumption breaks
// without a stream close, the resource stays bound, available and
// unchanged to its contacts for max seconds ("hibernates"): stanzas
// routed to it, to its full or bare JID, are kept in its queue. A new
// stream of the same account that sends <resume h='…' previd='…'/>
// instead of binding gets <resumed h='…' previd='…'/> with the server's
// count, then the queued stanzas the client's h does not cover, in
// order, once (messages with a delay of when they were first sent), then
// what the server's rules queued meanwhile. If the old connection is
// still open, it ends with a <conflict/> stream error (as ejabberd;
// Prosody closes it without one). An unknown id, another account's id
// (never a takeover: the session stays resumable for its owner) or one
// whose session ended is <failed/> with item-not-found, the last with
// the h the server had reached, as both servers answer. An h above what
// was sent ends the new stream as for <a/>, and the session with it.
//
// A session ends when its hibernation expires, when its client closes
// the stream, when the server ends the stream (a stream error, Close, a
// conflicting bind) or when its queue overflows: the resource goes
// unavailable as on any logout, and what the client never acknowledged
// is handled as XEP-0198 and RFC 6121 §8.5.3.2 say for a stanza to a
// resource that is gone: a chat or normal message is routed to the
// account again (another available resource, else offline storage, as
// Prosody does; ejabberd, which assumes its archive, drops them), an iq
// get or set is answered service-unavailable (as ejabberd; Prosody says
// recipient-unavailable), the rest is dropped. These rules were compared
// with Prosody's mod_smacks and ejabberd's mod_stream_mgmt case by case
// (the package's tests hold the cases and each server's answers).
//
// Stanzas written with Inject count and are kept like any other; the
// bytes of InjectRaw are not counted.
//
// # Concurrency
//
// Each connection has one goroutine, which reads and negotiates its stream
// and routes what its client sends: stanzas are routed on the sender's
// goroutine, under short locks that are never held across a write, and
// written to the recipient's connection under that connection's write mutex.
// There is no goroutine per stanza: a client that does not read
// slows down (and, after the write timeout, loses) the senders that write to
// it, as over TCP. Roster pushes, the presence the subscription and
// presence rules send, and messages stay in order through one queue per
// connection: such a stanza is listed for its recipient where the
// decision to send it is made (under the server's lock, where offline
// messages are stored and taken too), and written by whichever goroutine
// takes the recipient's write mutex next, so it waits only while another
// goroutine writes to the same client, or while the recipient's own
// goroutine has its answer to write first. Close ends
// every connection and waits for every goroutine the server started.
//
// # Hooks for tests
//
// Watch observes every routed stanza; Inject writes a stanza to a bound
// resource; Drop, Delay and StreamError inject faults; CutAt breaks a
// resource's connection at the n-th stanza the server writes to it
// (before, after or in the middle of writing it) or reads from it
// (before or after handling it), for tests of clients that resume;
// Transcript returns the XML of a connection when the server records
// transcripts (after a resumption, the new connection's).
package xmpptest

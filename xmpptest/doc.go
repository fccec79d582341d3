// Package xmpptest is an XMPP server for tests, in the spirit of
// net/http/httptest: it runs in memory (over net.Pipe) and, on request, on
// a 127.0.0.1 TCP port, and speaks the server side of RFC 6120 (XMPP Core)
// and the routing rules of RFC 6121 §8 (XMPP IM), plus the RFC 3921 §3
// session iq, so that Parley sessions and other clients can be tested
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
//     availability and priority.
//   - The server's domain: the server answers iqs (ping, disco#info with
//     the identity server/im, disco#items with no items, session; anything
//     else is service-unavailable).
//   - Another domain: remote-server-not-found (there is no federation).
//   - An account that does not exist: service-unavailable for messages and
//     iqs, presence is dropped.
//   - A bare JID: a chat or normal message goes to every available
//     resource with the highest non-negative priority (all of them on a
//     tie, never only the most recent), and is answered service-unavailable
//     when there is none (there is no offline storage); a headline goes to
//     every available resource of non-negative priority; groupchat is
//     answered service-unavailable; an error message is dropped. An iq is
//     answered by the server on the account's behalf: ping; disco#info
//     with the identity account/registered and the features disco#info,
//     disco#items and ping (XEP-0030 §3.1; to anyone, since there are no
//     rosters to restrict it); disco#items with no items; other
//     namespaces are service-unavailable. Presence goes to every
//     available resource.
//   - A full JID: delivered when that resource is bound (available or
//     not). Otherwise a chat or normal message is routed as if to the bare
//     JID, a headline or error message and presence are dropped, groupchat
//     and iq get/set are answered service-unavailable.
//
// Errors the server generates come from the address the stanza was sent to.
//
// When a resource is bound twice, the new session wins and the old one ends
// with a <conflict/> stream error (RFC 6120 §7.7.2.2); RefuseConflicts
// makes the server refuse the new bind with a conflict stanza error instead.
//
// # Concurrency
//
// Each connection has one goroutine, which reads and negotiates its stream
// and routes what its client sends: stanzas are routed on the sender's
// goroutine, under short locks that are never held across a write, and
// written to the recipient's connection under that connection's write mutex.
// There is no goroutine per stanza and no queue: a client that does not read
// slows down (and, after the write timeout, loses) the senders that write to
// it, as over TCP. Close ends every connection and waits for every
// goroutine the server started.
//
// # Hooks for tests
//
// Watch observes every routed stanza; Inject writes a stanza to a bound
// resource; Drop, Delay and StreamError inject faults; Transcript returns
// the XML of a connection when the server records transcripts.
package xmpptest

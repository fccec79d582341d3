// Package presence implements presence and presence subscriptions of RFC
// 6121 §3–4 (RFC 3921 §5–6 and §8–9 before it): what the account
// announces, who may see it, and who of its contacts is online.
//
// # Registering
//
// Handle registers the package on a session.Mux after the roster and
// returns a Manager:
//
//	mux := session.NewMux()
//	r := roster.Handle(mux)                      // first: the roster is fetched before initial presence
//	p := presence.Handle(mux, r, &presence.Options{Responder: resp, Caps: capsCache})
//	p.HandleRequest(func(ctx context.Context, s *session.Session, req presence.Request) presence.Decision {
//		return presence.Approve
//	})
//	p.HandleBroadcast(func(ctx context.Context, s *session.Session, e presence.Event) { … })
//	s, err := session.Dial(ctx, addr, password, &session.Config{Mux: mux})
//	…
//	best, ok := p.Tracker().Best(bob)
//
// On each new stream (not a resumed one) the Manager's start hook runs
// after the roster's, so initial presence goes out after the roster fetch
// (RFC 6121 §2.2, §4.2). It sends the last available presence set with
// SetAvailable (show, status with its xml:lang alternatives, priority;
// plain available presence until one is set), carrying the client's own
// entity capabilities (XEP-0115) when the Options have a disco.Responder.
// Then it sends each directed presence the application has not ended
// again, as SendDirected sent it (see Announcing). A reconnecting client
// thus announces what the application last set.
//
// # Announcing
//
// SetAvailable changes the account's presence; SetUnavailable takes it
// offline without closing the stream. SendDirected sends presence to one
// entity only (RFC 6121 §4.6) and remembers it, so that EndDirected,
// SetUnavailable and the session's Close send it unavailable presence too:
// Close runs the Manager's close hook (session.Mux.HandleClose) while the
// stream is still open, before it sends the broadcast unavailable
// presence. When the stream ends any other way nothing can be sent; the
// server, which tracks directed presence too, then sends unavailable
// presence on the account's behalf (RFC 6121 §4.6.3), and the Manager
// keeps what it sent: the next new stream sends each directed presence
// again, after initial presence, with the same content — also when the
// account is unavailable, as directed presence may be sent then (RFC 6121
// §4.6) and the application did not end it. Presence to group-chat
// rooms is not this package's.
//
// # Subscriptions
//
// Subscribe, Approve, Deny, Cancel and Unsubscribe send the subscription
// stanzas of RFC 6121 §3, always to the contact's bare JID. PreApprove
// (§3.4) sends subscribed before any request, which a client may do only
// when the server offers urn:xmpp:features:pre-approval: otherwise it
// returns ErrNoPreApproval. The subscription state itself (none, to, from,
// both, the pending flags) is the server's: it lives in the roster, which
// the server keeps in step with pushes.
//
// A subscription request reaches the HandleRequest callbacks, which
// approve it, deny it, or leave it pending (Pending lists those; Approve
// and Deny answer them at any time). Requests the server stored while the
// account was offline arrive after initial presence, like any other.
// Subscription changes made by contacts (subscribed, unsubscribed,
// unsubscribe) reach the HandleChange callbacks, presence errors the
// HandleError callbacks with their sender.
//
// # Who is online
//
// The Tracker holds every online resource of every roster contact and of
// the account itself: show, status, priority, caps, and when its last
// presence arrived; Best picks a contact's best resource (highest
// priority, then the more available show, then the most recent). Each
// change reaches the HandleBroadcast callbacks as an Event (Online,
// Changed, Offline). When the Options have a disco.Cache, the
// capabilities resources announce are looked up and verified on
// goroutines of the stream's own, a few at a time, never on the handler
// queue; Manager.Info returns them once verified.
//
// # Hostile and broken input
//
// The Tracker is bounded: presence from a JID that is not in the roster
// (nor the account itself) is not tracked, a contact has at most
// Options.MaxResources resources tracked, and a contact removed from the
// roster, or whose presence the account no longer subscribes to (a roster
// push with subscription none or from), is dropped. Presence carrying a MUC user element (XEP-0045) is
// ignored. A presence without from, a probe (the server's business, RFC
// 6121 §4.3) and a subscription stanza from the account itself are
// ignored. A subscription stanza from a full JID counts as from its bare
// JID (subscriptions are between bare JIDs and the sender's server stamps
// the bare JID, §3.1.2). A priority outside -128..127 never reaches the
// package: the session answers the stanza with bad-request; an unknown
// show is read as plain available. Pending requests are bounded by
// Options.MaxPending, caps lookups waiting on a stream by a fixed bound.
package presence

// Package privacy implements the privacy lists of RFC 3921 §10 (kept by
// the XSF as XEP-0016 after RFC 6121 dropped them) and XEP-0191: Blocking
// Command, on the client side.
//
// # Privacy lists
//
// A privacy list is a named, ordered set of rules (List, Item) that the
// server applies to the stanzas it routes to and from the account: each
// item matches on a JID, a roster group or a subscription state (or
// everything), covers some stanza kinds (messages, iqs, inbound and
// outbound presence; all when none is named) and allows or denies them,
// the item with the lowest order that matches deciding. A session may
// make one list its active list, for the length of its stream; the
// account's default list applies to the sessions without one.
//
// The requests take a session.Sender: ListNames, GetList, SetList (a list
// is always sent whole), RemoveList, SetActive and DeclineActive,
// SetDefault and DeclineDefault. What breaks a rule of §10 (an empty name,
// two items with the same order, a subscription other than none, to, from
// and both, a JID that does not parse, an empty group) is refused before
// anything is sent, with an error wrapping ErrInvalid. The server's refusals
// come back as a wrapped *stanza.Error: errors.Is(err, stanza.Conflict)
// when another resource uses the list, stanza.ItemNotFound for a list that
// does not exist.
//
// # Blocking
//
// Blocklist, Block, Unblock and UnblockAll speak XEP-0191, a simpler
// interface that blocks all communication with the JIDs named. A server
// pushes blocking changes only to the sessions that asked for the
// blocklist once on their stream (Prosody keeps to that; ejabberd pushes
// to all).
//
// BlockContact and UnblockContact choose: the blocking command when the
// server's disco#info lists NSBlocking, otherwise the default privacy list
// (BlockWithList, UnblockWithList), which they create and make the default
// when the account has none, and edit with a deny item put first
// (InsertFirst) otherwise. They never replace a list other than the
// default; a conflict from the server is returned, not worked around.
//
// # The Manager
//
// Handle registers the package on a session.Mux and returns a Manager:
//
//	mux := session.NewMux()
//	m := privacy.Handle(mux) // before anything that sends presence
//	m.HandleListPush(func(ctx context.Context, s *session.Session, name string) { … })
//	s, err := session.Dial(ctx, addr, password, &session.Config{Mux: mux})
//	…
//	err = m.SetActive(ctx, s, "work") // and again on every new stream
//
// It takes the server's privacy-list and blocking pushes, only from the
// account itself (session.TrustedPush): a push from anyone else is answered
// service-unavailable and never reaches the application. It sets the
// active list set through it again at the start of each new stream (not
// on a resumed one, where the server kept it).
//
// # Servers
//
// Both of the servers Parley tests against deny a blocked message with
// service-unavailable under a privacy list; with XEP-0191 ejabberd does
// the same and Prosody drops it silently. Prosody refuses (conflict) to
// change or decline the default list while another session without an
// active list is online, and to remove a list another session uses;
// ejabberd refuses only to remove the default list or the requesting
// session's own active list, and lets the default list change, and
// another session's active list go, under other sessions.
//
// Query is the jabber:iq:privacy payload, Blocking the urn:xmpp:blocking
// one; both write themselves, and ParseQuery and ParseBlocking read them
// (for a server, such as xmpptest, as much as for a client).
package privacy

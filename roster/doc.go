// Package roster implements the roster of RFC 6121 §2 (RFC 3921 §7 and
// §8 before it): the user's contact list, stored on the server, fetched
// at login, edited by the client and kept in step by the server's pushes.
//
// A roster is its items (Item: a JID, a name, the subscription state,
// pending and pre-approved flags, groups) plus its version (RFC 6121
// §2.6), which lets a client that kept its copy ask only for what
// changed.
//
// # Keeping a roster
//
// Handle registers the package on a session.Mux and returns a Roster,
// whose Cache is the client's copy:
//
//	mux := session.NewMux()
//	r := roster.Handle(mux)            // before anything that sends presence
//	_ = r.Cache().Load(savedFile)      // optional: the copy from last time
//	s, err := session.Dial(ctx, addr, password, &session.Config{Mux: mux})
//	…
//	for _, it := range r.Cache().Items() { … }
//	_ = r.Cache().Save(savedFile)      // before exiting
//
// On each new stream a start hook fetches the roster (with the cached
// version when the server offers versioning) before the hooks registered
// after Handle run, so initial presence goes out after the roster has been
// requested (RFC 6121 §2.2). Pushes from the server are applied to the
// cache in order, answered, and handed to HandlePush callbacks; Watch
// reports each change (added, updated, removed) to the application without
// ever holding up the session.
//
// # Security
//
// A roster push is accepted only when it comes from the account itself:
// no from, or the account's bare JID (session.TrustedPush, RFC 6121
// §2.1.6). Anyone else — another user, the server's domain, another
// resource of the account, the session's own full JID — gets
// service-unavailable, and the push is neither applied nor delivered.
// Clients that accepted pushes from other senders let anyone rewrite
// their users' rosters (CVE-2015-8688, CVE-2016-9928).
//
// # Editing
//
// Set adds or updates one item (its JID, name and groups: the
// subscription state is the server's), Remove removes one; the server
// then pushes the change to every interested resource, and the cache
// learns it from that push. Fetch fetches into any Cache directly.
//
// # Large rosters
//
// A roster result is one element, and a roster of 20,000 contacts is
// over the session's default element limit (1 MiB). A fetch therefore
// allows its one reply, from the account's server only, up to
// DefaultReplyLimit bytes (Roster.SetReplyLimit changes it); every other
// element, pushes included, keeps the session's limit.
package roster

import "github.com/parleyim/parley/internal/ns"

// NS is the namespace of the roster query, jabber:iq:roster.
const NS = ns.Roster

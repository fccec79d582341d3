package session

import "github.com/parleyim/parley/jid"

// TrustedPush reports whether a push (a roster push, a privacy list push, a
// blocking push: an iq set that the server sends on the account's behalf)
// with the given from may be trusted by the client logged in as account
// (its full or bare JID): only when from is absent (the zero JID) or the
// account's bare JID (RFC 6121 §2.1.6). A push from anything else — another
// user, the server's domain, another resource of the account, even this
// session's own full JID — is a spoof: answer it service-unavailable and
// neither apply nor deliver it.
//
// The rule that matches a reply to a SendIQ is wider (for a request to the
// account it also accepts the session's full JID, which a server may use
// when answering on the account's behalf). That is right for replies,
// which must also carry the id of a request, and wrong for pushes, which
// nothing asked for: do not use one for the other.
//
// JIDs are compared in their normalised form, so case variants that
// normalise equal are equal.
func TrustedPush(account, from jid.JID) bool {
	return from.IsZero() || from == account.Bare()
}

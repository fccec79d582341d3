// Package privacy implements the privacy lists of RFC 3921 §10 (kept by
// the XSF as XEP-0016 after RFC 6121 dropped them) and XEP-0191: Blocking
// Command, on the client side.
//
// A privacy list is a named, ordered set of rules (List, Item) that the
// server applies to the stanzas it routes to and from the account: each
// item matches on a JID, a roster group or a subscription state (or
// everything), covers some stanza kinds (messages, iqs, inbound and
// outbound presence; all when none is named) and allows or denies them,
// the item with the lowest order that matches deciding. Query is the
// jabber:iq:privacy payload, Blocking the urn:xmpp:blocking one; both
// write themselves, and ParseQuery and ParseBlocking read them.
package privacy

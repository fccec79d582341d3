// Package roster implements the roster of RFC 6121 §2 (RFC 3921 §7):
// the user's contact list, stored on the server.
package roster

import "github.com/parleyim/parley/internal/ns"

// NS is the namespace of the roster query, jabber:iq:roster.
const NS = ns.Roster

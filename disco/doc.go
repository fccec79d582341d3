// Package disco implements XEP-0030: Service Discovery, with the extended
// information forms of XEP-0128 (XEP-0004 data forms of package form,
// carrying a FORM_TYPE) and XEP-0115: Entity Capabilities.
//
// Asking: GetInfo and GetItems query any entity (a server, a component,
// another client) and return its identities, features, forms and items;
// the …IQ forms let the caller shape the iq envelope.
//
// Answering: Handle registers a Responder on a session.Mux. It answers
// disco#info queries about this client from the Mux itself (the features of
// the handlers the application registered, and those added with
// Mux.AddFeature) plus the identities and forms set on the Responder, at the
// time of each query, so the answer never drifts from what the client
// handles.
//
// Capabilities: Ver computes the XEP-0115 verification string, Caps is the
// <c/> element to put in presence (Responder.Attach does both), and Cache
// remembers what a verification string stands for once it has checked the
// announcing entity's disco#info against it.
//
// Caps lives in this package rather than a subpackage because the
// Responder must answer queries for its own node#ver (which needs Ver) and
// the Cache needs GetInfo: split in two, each half would import the other.
package disco

import "github.com/parleyim/parley/internal/ns"

// Namespaces of the protocols this package implements.
const (
	NSInfo  = ns.DiscoInfo
	NSItems = ns.DiscoItems
	NSCaps  = ns.Caps
)

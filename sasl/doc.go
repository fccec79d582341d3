// Package sasl implements the client side of SASL authentication for XMPP
// (RFC 6120 §6): the SCRAM family of RFC 5802 and RFC 7677
// (SCRAM-SHA-1, SCRAM-SHA-256 and SCRAM-SHA-512, each also as a -PLUS
// variant with channel binding), PLAIN (RFC 4616), the choice of a mechanism,
// channel binding data (RFC 5929 tls-unique and tls-server-end-point, RFC
// 9266 tls-exporter, with the types a server advertises under XEP-0440),
// and the failure conditions of RFC 6120 §6.5.
//
// The package knows nothing about XML or streams: the session package sends
// <auth/>, <response/> and <abort/>, reads <challenge/>, <success/> and
// <failure/>, and drives a Mechanism through its Exchange.
//
// A login goes like this:
//
//	mech, neg, err := sasl.Select(prefs, sasl.Offer{Mechanisms: offered, TLS: state})
//	// fill neg.Username, neg.Password, neg.Authzid
//	ex, initial, err := mech.Start(&neg)
//	// send <auth mechanism=mech.Name()>initial</auth>
//	// for each <challenge/>: resp, err := ex.Next(data); send <response/>
//	// on <success/>: err := ex.Verify(data)
//	// on <failure/>: return sasl.NewFailure(condition, text, lang)
//
// Any error from Start, Next or Verify ends the login: Parley never falls
// back to another mechanism after a failure, since a man in the middle could
// otherwise force a weaker one.
package sasl

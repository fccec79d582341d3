package sasl

import (
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Offer is what the server offered in its stream features.
type Offer struct {
	// Mechanisms are the names in <mechanisms/>, in the server's order
	// (which Select ignores).
	Mechanisms []string
	// ChannelBindings are the types listed in XEP-0440's
	// <sasl-channel-binding/>; nil when the server advertised no such list.
	ChannelBindings []string
	// TLS describes the stream's TLS connection; nil on an unencrypted
	// stream.
	TLS *tls.ConnectionState
}

// ErrNoMechanism matches (under errors.Is) every error of Select: no
// mechanism can be used. The error's text says why.
var ErrNoMechanism = errors.New("sasl: no usable mechanism")

// Select picks the first mechanism in prefs that the server offered and
// that can be used, and returns it with the Negotiation to start it with
// (Encrypted, Binding and ServerOffersPlus filled; the caller adds the
// credentials). The client's order wins over the server's, and a mechanism
// not in prefs is never chosen.
//
// A -PLUS mechanism is usable when its channel binding can be computed and
// the server can verify it: the server's XEP-0440 list names a type Parley
// computes (tls-exporter, then tls-unique, then tls-server-end-point), or,
// with no XEP-0440 list, the connection is TLS 1.2 with tls-unique
// available (the default type for SCRAM-PLUS in XMPP, RFC 5929). A
// Plaintext mechanism is usable only on an encrypted stream.
//
// Select is a pure function of its arguments, safe from several goroutines.
func Select(prefs []Mechanism, offer Offer) (Mechanism, Negotiation, error) {
	neg := Negotiation{
		Encrypted:        offer.TLS != nil,
		ServerOffersPlus: slices.ContainsFunc(offer.Mechanisms, isPlus),
	}
	var refused []string
	for _, m := range prefs {
		if m == nil || !slices.Contains(offer.Mechanisms, m.Name()) {
			continue
		}
		if p, ok := m.(Plaintext); ok && p.RevealsPassword() && !neg.Encrypted {
			refused = append(refused, m.Name()+" refused on an unencrypted stream")
			continue
		}
		if isPlus(m.Name()) {
			cb, why := bindingFor(offer)
			if cb == nil {
				refused = append(refused, m.Name()+" unusable: "+why)
				continue
			}
			neg.Binding = cb
		}
		return m, neg, nil
	}
	var msg string
	switch len(refused) {
	case 0:
		names := make([]string, 0, len(prefs))
		for _, m := range prefs {
			if m != nil {
				names = append(names, m.Name())
			}
		}
		msg = fmt.Sprintf("sasl: no mechanism in common: server offers %v, client accepts %v", offer.Mechanisms, names)
	case 1:
		msg = "sasl: " + refused[0]
	default:
		msg = "sasl: no usable mechanism: " + strings.Join(refused, "; ")
	}
	return nil, Negotiation{}, &selectError{msg: msg}
}

// selectError is Select's error: a message that says why, which matches
// ErrNoMechanism under errors.Is.
type selectError struct{ msg string }

func (e *selectError) Error() string        { return e.msg }
func (e *selectError) Is(target error) bool { return target == ErrNoMechanism }

// bindingFor returns the channel binding a -PLUS mechanism would use on
// the offer, or nil and the reason there is none.
func bindingFor(offer Offer) (*ChannelBinding, string) {
	if offer.TLS == nil {
		return nil, "channel binding needs TLS"
	}
	if offer.ChannelBindings == nil {
		// No XEP-0440 list: the server can only be assumed to verify
		// tls-unique.
		cb, err := ChannelBindingFor(offer.TLS, TLSUnique)
		if err != nil {
			return nil, "the server lists no channel binding types and tls-unique is not available on " +
				tls.VersionName(offer.TLS.Version)
		}
		return cb, ""
	}
	for _, typ := range bindingPreference {
		if !slices.Contains(offer.ChannelBindings, typ) {
			continue
		}
		if cb, err := ChannelBindingFor(offer.TLS, typ); err == nil {
			return cb, ""
		}
	}
	return nil, fmt.Sprintf("no channel binding type both sides support (server lists %v)", offer.ChannelBindings)
}

func isPlus(name string) bool { return strings.HasSuffix(name, "-PLUS") }

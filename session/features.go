package session

import (
	"encoding/xml"
	"math"
	"strconv"
	"strings"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/stanza"
)

// Features are the features of a session's established stream: what the
// server offered in its last <stream:features> (RFC 6120 §4.3.2), after
// authentication. How the stream came about (STARTTLS, SASL) is in
// Negotiation. A Features value is not modified after Dial returns.
type Features struct {
	// Bind reports that resource binding was offered.
	Bind bool
	// Session reports that the RFC 3921 session iq was offered, and
	// SessionOptional that it was marked <optional/> (RFC 6121 dropped
	// it; draft-cridland-xmpp-session).
	Session, SessionOptional bool
	// RosterVersioning reports urn:xmpp:features:rosterver (RFC 6121 §2.6).
	RosterVersioning bool
	// PreApproval reports urn:xmpp:features:pre-approval (RFC 6121 §3.4).
	PreApproval bool
	// StreamManagement reports XEP-0198 version 3.
	StreamManagement bool
	// Limits are what the server announced it enforces on what it
	// receives (XEP-0478). The session honours them: see Session.Send
	// and Config.KeepAlive.
	Limits StreamLimits

	// all keeps every feature element, unknown ones included, in order.
	all []*stanza.Raw
}

// Negotiation says how a session's stream was negotiated: what the server
// offered before authentication, and what the client chose.
type Negotiation struct {
	// StartTLS reports that the server offered STARTTLS, and
	// StartTLSRequired that it marked it <required/>. Both are false on a
	// connection that started with TLS (XEP-0368).
	StartTLS, StartTLSRequired bool
	// Mechanisms are the SASL mechanisms offered, in the server's order.
	Mechanisms []string
	// ChannelBindings are the channel-binding types the server advertised
	// (XEP-0440); nil when it advertised none.
	ChannelBindings []string
	// Mechanism is the SASL mechanism the client logged in with.
	Mechanism string
}

// featuresElement is what one <stream:features> element says: the
// features of the stream it belongs to, and what it offers for
// negotiation. The session keeps the last one, whose Negotiation the
// negotiator has replaced with what the earlier ones offered and what it
// chose: one allocation for both.
type featuresElement struct {
	Features
	Negotiation
}

// StreamLimits are limits a server enforces on what it receives on a
// stream (XEP-0478). Zero means not announced.
type StreamLimits struct {
	// MaxBytes is the largest top-level element the server accepts, in
	// bytes; a larger one would end the stream.
	MaxBytes int
	// IdleSeconds is how long the client may stay silent before the
	// server checks the stream or closes it.
	IdleSeconds int
}

// Lookup returns the feature element with the given name, if offered. It
// gives access to features Parley does not model (for example the
// <c xmlns='http://jabber.org/protocol/caps'/> of the server).
func (f *Features) Lookup(name xml.Name) (*stanza.Raw, bool) {
	for _, r := range f.all {
		if r.Name() == name {
			return r, true
		}
	}
	return nil, false
}

// All returns every feature element in the order offered.
func (f *Features) All() []*stanza.Raw { return f.all }

// parseFeatures reads the children of <stream:features> from r, which
// yields the element's tokens after its start (and its end as the last).
func parseFeatures(r xml.TokenReader) (*featuresElement, error) {
	f := &featuresElement{}
	for {
		tok, err := r.Token()
		if err != nil {
			return nil, err
		}
		var start xml.StartElement
		switch t := tok.(type) {
		case xml.EndElement:
			return f, nil
		case xml.StartElement:
			start = t
		default:
			continue
		}
		raw, err := stanza.ReadRaw(r, start)
		if err != nil {
			return nil, err
		}
		f.all = append(f.all, raw)
		switch start.Name {
		case xml.Name{Space: ns.TLS, Local: "starttls"}:
			f.StartTLS = true
			f.StartTLSRequired = hasChild(raw, "required")
		case xml.Name{Space: ns.SASL, Local: "mechanisms"}:
			f.Mechanisms = childTexts(raw, "mechanism", "")
		case xml.Name{Space: ns.SASLCB, Local: "sasl-channel-binding"}:
			f.ChannelBindings = childTexts(raw, "channel-binding", "type")
		case xml.Name{Space: ns.Bind, Local: "bind"}:
			f.Bind = true
		case xml.Name{Space: ns.Session, Local: "session"}:
			f.Session = true
			f.SessionOptional = hasChild(raw, "optional")
		case xml.Name{Space: ns.RosterVer, Local: "ver"}:
			f.RosterVersioning = true
		case xml.Name{Space: ns.PreApproval, Local: "sub"}:
			f.PreApproval = true
		case xml.Name{Space: ns.SM, Local: "sm"}:
			f.StreamManagement = true
		case xml.Name{Space: ns.Limits, Local: "limits"}:
			f.Limits = StreamLimits{
				MaxBytes:    positiveInt(childTexts(raw, "max-bytes", "")),
				IdleSeconds: positiveInt(childTexts(raw, "idle-seconds", "")),
			}
		}
	}
}

// positiveInt returns the first of texts that is a positive integer,
// capped at MaxInt32, or 0 when none is: a limit that cannot be read is
// no limit.
func positiveInt(texts []string) int {
	for _, t := range texts {
		n, err := strconv.ParseUint(strings.TrimSpace(t), 10, 64)
		if err == nil && n > 0 {
			return int(min(n, math.MaxInt32))
		}
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return math.MaxInt32
		}
	}
	return 0
}

// hasChild reports whether raw has a direct child with that local name in
// raw's own namespace.
func hasChild(raw *stanza.Raw, local string) bool {
	found := false
	eachChild(raw, func(start xml.StartElement, text string) {
		if start.Name.Local == local && start.Name.Space == raw.Name().Space {
			found = true
		}
	})
	return found
}

// childTexts returns, for each direct child named local in raw's
// namespace, its text, or the value of attr when attr is not empty.
func childTexts(raw *stanza.Raw, local, attr string) []string {
	var out []string
	eachChild(raw, func(start xml.StartElement, text string) {
		if start.Name.Local != local || start.Name.Space != raw.Name().Space {
			return
		}
		if attr == "" {
			out = append(out, intern(text))
			return
		}
		for _, a := range start.Attr {
			if a.Name.Space == "" && a.Name.Local == attr {
				out = append(out, intern(a.Value))
			}
		}
	})
	return out
}

// knownNames are the mechanism and channel binding names servers offer.
// A session keeps what was offered; sharing these strings saves each
// session a copy of each.
var knownNames = func() map[string]string {
	m := make(map[string]string)
	for _, s := range []string{
		"SCRAM-SHA-1", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS",
		"SCRAM-SHA-512", "SCRAM-SHA-512-PLUS", "PLAIN", "EXTERNAL", "ANONYMOUS",
		"DIGEST-MD5", "X-OAUTH2", "OAUTHBEARER",
		"tls-exporter", "tls-unique", "tls-server-end-point",
	} {
		m[s] = s
	}
	return m
}()

// intern returns the shared copy of a known name, or s itself copied out
// of whatever larger string it may point into.
func intern(s string) string {
	if k, ok := knownNames[s]; ok {
		return k
	}
	return strings.Clone(s)
}

// eachChild calls fn for each direct child element of raw with the child's
// start element and its text content (direct character data only).
func eachChild(raw *stanza.Raw, fn func(xml.StartElement, string)) {
	r := raw.TokenReader()
	depth := 0
	var cur xml.StartElement
	var text []byte
	for {
		tok, err := r.Token()
		if err != nil {
			return
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 {
				cur, text = t.Copy(), text[:0]
			}
		case xml.CharData:
			if depth == 2 {
				text = append(text, t...)
			}
		case xml.EndElement:
			if depth == 2 {
				fn(cur, string(text))
			}
			depth--
			if depth == 0 {
				return
			}
		}
	}
}

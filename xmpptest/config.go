package xmpptest

import (
	"time"

	"github.com/parleyim/parley/internal/wire"
)

// Config configures a Server. The zero value (or a nil *Config) is a
// server for the domain "example.test", reached through Connect, Pipe or
// DialContext, with the defaults below. Start copies the Config: changing
// it afterwards has no effect on the server.
type Config struct {
	// Domain is the server's domain; empty means "example.test".
	Domain string

	// RefuseConflicts makes a bind to a resource that is already bound
	// fail with a conflict stanza error (RFC 6120 §7.7.2.2, policy 2),
	// instead of the default of ending the older session with a
	// <conflict/> stream error.
	RefuseConflicts bool
	// RequireSession offers the RFC 3921 session iq without <optional/>:
	// a client must establish the session before it sends any other
	// stanza, or the stanza is answered with a not-authorized error.
	RequireSession bool
	// NoChannelBinding leaves the -PLUS mechanisms and the XEP-0440
	// advertisement out, as a server behind a TLS-terminating proxy does.
	NoChannelBinding bool
	// TLSMaxVersion caps the TLS version the server negotiates (for
	// instance tls.VersionTLS12, to test tls-unique channel binding);
	// zero means crypto/tls's maximum.
	TLSMaxVersion uint16

	// RosterUpdatesAsPushes answers a roster get with a stale version
	// (one this server issued before the last change) with an empty
	// result followed by a push of each change since, oldest first, the
	// second way RFC 6121 §2.6.3 allows. The default is the whole roster,
	// as Prosody and ejabberd answer; this tests a client's other path.
	RosterUpdatesAsPushes bool
	// NoRosterVersioning leaves out roster versioning (RFC 6121 §2.6): no
	// stream feature, no ver in roster results and pushes, and a ver in a
	// get is ignored.
	NoRosterVersioning bool

	// NoPreApproval leaves subscription pre-approval (RFC 6121 §3.4)
	// out, as ejabberd does: no urn:xmpp:features:pre-approval stream
	// feature, and a subscribed presence that approves no request is
	// ignored.
	NoPreApproval bool

	// NoOfflineStorage turns offline storage (XEP-0160) off: a chat or
	// normal message for an account with no available resource of
	// priority ≥ 0 is answered with service-unavailable (RFC 6121
	// §8.5.2.1.1) instead of being kept and delivered, with a delay
	// stamp, after the account's next available presence.
	NoOfflineStorage bool

	// Registration offers in-band registration (XEP-0077): accounts are
	// created before authentication (conflict when the username is
	// taken, not-acceptable without a username or password), and a
	// logged-in account may change its password or remove itself (see
	// the package documentation). Off by default, as on Prosody and
	// ejabberd. RegistrationForm asks with a data form instead of the
	// legacy fields.
	Registration, RegistrationForm bool

	// Listen makes the server also accept TCP connections on 127.0.0.1 on
	// a free port; Addr returns it.
	Listen bool
	// RecordTranscripts makes the server keep the XML of every
	// connection, for Transcript.
	RecordTranscripts bool

	// NoStreamManagement leaves XEP-0198 stream management out: no <sm/>
	// feature, and <enable/> and <resume/> are refused.
	NoStreamManagement bool
	// ResumeTimeout is how long a resource whose connection broke stays
	// bound and resumable after it enabled stream management with
	// resumption (the max its <enabled/> announces, in whole seconds,
	// rounded up). Zero means 300 seconds.
	ResumeTimeout time.Duration

	// MaxStanzaBytes bounds the size of one element a client sends; a
	// larger one ends its stream with policy-violation. Zero means 1 MiB.
	// The server announces the bound to bound clients (XEP-0478
	// max-bytes).
	MaxStanzaBytes int
	// WriteTimeout bounds how long a write to a client may block before
	// the client's connection is dropped. Zero means 30 seconds.
	WriteTimeout time.Duration
}

// withDefaults returns a copy of c (nil for the zero Config) with the
// defaults filled in.
func (c *Config) withDefaults() Config {
	var out Config
	if c != nil {
		out = *c
	}
	if out.Domain == "" {
		out.Domain = "example.test"
	}
	if out.WriteTimeout <= 0 {
		out.WriteTimeout = 30 * time.Second
	}
	if out.ResumeTimeout <= 0 {
		out.ResumeTimeout = 300 * time.Second
	}
	if out.MaxStanzaBytes <= 0 {
		out.MaxStanzaBytes = wire.DefaultMaxStanzaBytes
	}
	return out
}

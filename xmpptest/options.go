package xmpptest

import "time"

// An Option configures a Server in New or NewServer.
type Option func(*options)

type options struct {
	domain          string
	refuseConflicts bool
	requireSession  bool
	noBinding       bool
	listen          bool
	transcripts     bool
	maxStanzaBytes  int
	writeTimeout    time.Duration
	tlsMaxVersion   uint16
}

// Domain sets the server's domain; the default is "example.test".
func Domain(d string) Option { return func(o *options) { o.domain = d } }

// RefuseConflicts makes a bind to a resource that is already bound fail
// with a conflict stanza error (RFC 6120 §7.7.2.2, policy 2), instead of
// the default of ending the older session with a <conflict/> stream error.
func RefuseConflicts() Option { return func(o *options) { o.refuseConflicts = true } }

// RequireSession offers the RFC 3921 session iq without <optional/>: a
// client must establish the session before it sends any other stanza, or
// the stanza is answered with a not-authorized error.
func RequireSession() Option { return func(o *options) { o.requireSession = true } }

// NoChannelBinding leaves the -PLUS mechanisms and the XEP-0440
// advertisement out, as a server behind a TLS-terminating proxy does.
func NoChannelBinding() Option { return func(o *options) { o.noBinding = true } }

// Listen makes the server also accept TCP connections on 127.0.0.1 on a
// free port; Addr returns it.
func Listen() Option { return func(o *options) { o.listen = true } }

// RecordTranscripts makes the server keep the XML of every connection, for
// Transcript.
func RecordTranscripts() Option { return func(o *options) { o.transcripts = true } }

// MaxStanzaBytes bounds the size of one element a client sends; a larger
// one ends its stream with policy-violation. Zero means 1 MiB. The server
// announces the bound to bound clients (XEP-0478 max-bytes).
func MaxStanzaBytes(n int) Option { return func(o *options) { o.maxStanzaBytes = n } }

// WriteTimeout bounds how long a write to a client may block before the
// client's connection is dropped. Zero means 30 seconds.
func WriteTimeout(d time.Duration) Option { return func(o *options) { o.writeTimeout = d } }

// TLSMaxVersion caps the TLS version the server negotiates (for instance
// tls.VersionTLS12, to test tls-unique channel binding).
func TLSMaxVersion(v uint16) Option { return func(o *options) { o.tlsMaxVersion = v } }

package session

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/parleyim/parley/internal/wire"
	"github.com/parleyim/parley/sasl"
)

// Config says how to connect and negotiate. The zero value (or a nil
// *Config) is a safe default: TLS required and verified against the JID's
// domain, SCRAM preferred, PLAIN only under TLS, a server-assigned
// resource. A Config must not be modified while a Dial that uses it runs.
type Config struct {
	// Addr, when set ("host:port"), is dialled instead of resolving the
	// JID's domain with DNS.
	Addr string
	// DirectTLS makes the connection to Addr start with TLS (XEP-0368)
	// instead of STARTTLS. It has no effect on addresses found through DNS:
	// those say themselves which kind they are.
	DirectTLS bool

	// TLSConfig is cloned and used for STARTTLS and direct TLS. Its
	// ServerName is always set to the JID's domain, so certificates are
	// checked against the domain and not against an SRV target or a
	// redirect. Nil means crypto/tls defaults with a minimum of TLS 1.2.
	TLSConfig *tls.Config
	// NoTLS allows a stream without TLS when the server offers no STARTTLS.
	// Credentials are still never sent in the clear by PLAIN. Off by
	// default: a server without STARTTLS is an error.
	NoTLS bool

	// Mechanisms is the client's SASL preference list, most preferred
	// first; mechanisms that are not on it are never tried. Nil means
	// sasl.DefaultMechanisms().
	Mechanisms []sasl.Mechanism
	// Authzid is the SASL authorization identity, normally empty.
	Authzid string

	// Resource is the resourcepart to request at bind; empty asks the
	// server to choose. The server may assign another: the session's
	// Addr is always the one the server returned.
	Resource string
	// ForceSessionIQ sends the RFC 3921 session request even when the
	// server marks it optional (it is always sent when the server offers
	// it without <optional/>).
	ForceSessionIQ bool

	// Lang is the default xml:lang of the stream; empty means "en".
	Lang string

	// Timeout bounds Dial and New when ctx has no deadline of its own:
	// the negotiation and the Mux's start hooks (Mux.HandleStart). Zero
	// means one minute.
	Timeout time.Duration

	// Resolver looks up SRV records; nil means net.DefaultResolver.
	Resolver Resolver
	// DialContext makes TCP connections; nil means a net.Dialer. An idle
	// session costs least over a *net.TCPConn (or *net.UnixConn), whose
	// readiness its reader can poll; over any other net.Conn it waits in
	// Read, with a larger stack.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// MaxRedirects bounds see-other-host redirects; zero means 5.
	MaxRedirects int

	// MaxStanzaBytes bounds the size of one incoming top-level element;
	// zero means 1 MiB. A larger one ends the stream with policy-violation.
	// The one exception is the reply to a SendIQ whose ctx carries
	// WithReplyLimit: that element alone may be as large as the request
	// allowed.
	MaxStanzaBytes int
	// MaxDepth bounds element nesting below a stanza; zero means 64.
	MaxDepth int

	// Mux routes incoming stanzas to handlers; nil means an empty Mux
	// (every iq get or set is answered service-unavailable). Give the
	// same Mux to each session of a client that reconnects.
	Mux *Mux

	// QueueBytes bounds the stanzas waiting for handlers, in bytes of
	// input; zero means 1 MiB. See Session for what happens when it fills.
	QueueBytes int
	// MaxQueueBytes is the hard cap on queued stanzas while a SendIQ
	// awaits its reply (see Session); zero means four times QueueBytes.
	MaxQueueBytes int
	// MaxPending bounds the SendIQ calls awaiting replies; zero means 1024.
	MaxPending int

	// KeepAlive is how long the stream may be idle (nothing received)
	// before the session checks the server: zero means 2 minutes, a
	// negative value turns the check off. While it is on, a server that
	// announced how long it lets a client stay silent (XEP-0478
	// idle-seconds) gets a whitespace keepalive after half that time
	// without anything sent.
	KeepAlive time.Duration
	// KeepAliveTimeout is how long the server has to answer the check
	// (an XEP-0199 ping) before the session ends with
	// ErrKeepaliveTimeout (a session that can resume drops the
	// connection and resumes it instead); zero means 30 seconds.
	KeepAliveTimeout time.Duration
	// WhitespaceKeepAlive sends a single space instead of a ping (RFC 6120
	// §4.6.1). It keeps NAT state alive but cannot detect a silent peer
	// beyond what TCP itself reports.
	WhitespaceKeepAlive bool

	// NoStreamManagement keeps stream management (XEP-0198) off. By
	// default it is enabled whenever the server offers it, with
	// resumption on sessions made by Dial (which can dial again): a
	// broken connection is then resumed without losing a stanza, and
	// a session that cannot resume ends with an *UnackedError holding
	// what the server never acknowledged. See Session.Send.
	NoStreamManagement bool
	// AckEvery is how many stanzas may be sent before the session asks
	// the server to acknowledge them; zero means 8.
	AckEvery int
	// AckDelay is how long after a stanza the session asks for its
	// acknowledgement when fewer than AckEvery follow it; zero means
	// one second.
	AckDelay time.Duration
	// AckTimeout is how long an ack request (<r/>) may go unanswered
	// before the connection is taken for dead, plus one second for each
	// 16 KiB of stanzas unacknowledged when it was sent; zero means 5
	// seconds, a negative value turns the check off. A session that can
	// resume then resumes the stream; any other ends with ErrAckTimeout.
	// It is how a connection that silently stopped carrying bytes is
	// noticed while stanzas are sent: at most AckDelay + AckTimeout (+
	// the scaling) after it died. While nothing is sent, the keepalive
	// notices it (KeepAlive).
	AckTimeout time.Duration
	// MaxUnackedBytes bounds the stanzas kept until the server
	// acknowledges them, in bytes as written; zero means 1 MiB. A
	// stanza larger than the bound alone is still sent.
	MaxUnackedBytes int
	// ResumeTimeout bounds how long after a broken connection the
	// session tries to resume it; zero means as long as the server said
	// it keeps the session (the max of <enabled/>), or 5 minutes when it
	// did not say. The server's time is never exceeded.
	ResumeTimeout time.Duration

	// Logger receives the session's log records; nil means silence.
	Logger *slog.Logger
	// Trace, when set, receives the raw XML of both directions, each
	// chunk prefixed with "SEND " or "RECV ". SASL payloads are redacted.
	Trace io.Writer
}

// Resolver is the part of *net.Resolver that Dial needs; tests replace it.
type Resolver interface {
	LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)
}

func (c *Config) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return time.Minute
}

func (c *Config) maxRedirects() int {
	if c.MaxRedirects > 0 {
		return c.MaxRedirects
	}
	return 5
}

func (c *Config) lang() string {
	if c.Lang != "" {
		return c.Lang
	}
	return "en"
}

func (c *Config) mechanisms() []sasl.Mechanism {
	if c.Mechanisms != nil {
		return c.Mechanisms
	}
	return sasl.DefaultMechanisms()
}

func (c *Config) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (c *Config) queueBytes() int {
	if c.QueueBytes > 0 {
		return c.QueueBytes
	}
	return 1 << 20
}

func (c *Config) maxQueueBytes() int {
	if c.MaxQueueBytes > 0 {
		return max(c.MaxQueueBytes, c.queueBytes())
	}
	return 4 * c.queueBytes()
}

func (c *Config) maxStanzaBytes() int {
	if c.MaxStanzaBytes > 0 {
		return c.MaxStanzaBytes
	}
	return wire.DefaultMaxStanzaBytes
}

func (c *Config) maxPending() int {
	if c.MaxPending > 0 {
		return c.MaxPending
	}
	return 1024
}

func (c *Config) keepAliveInterval() time.Duration {
	switch {
	case c.KeepAlive < 0:
		return 0
	case c.KeepAlive == 0:
		return 2 * time.Minute
	}
	return c.KeepAlive
}

func (c *Config) keepAliveTimeout() time.Duration {
	if c.KeepAliveTimeout > 0 {
		return c.KeepAliveTimeout
	}
	return 30 * time.Second
}

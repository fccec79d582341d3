package session

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/testkit/scripted"
	"github.com/parleyim/parley/sasl"
	"github.com/parleyim/parley/stanza"
)

func closeSession(t testing.TB, s *Session) {
	t.Helper()
	if s == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.Close(ctx)
}

func TestNegotiateDefault(t *testing.T) {
	var header, restarted, final string
	s, wait, err := dialPeerWait(t, juliet, clientConfig(t), func(p *peer) {
		h := p.Header()
		header = h.To + "|" + h.From + "|" + h.Version + "|" + h.Lang
		p.Features(featStartTLS)
		p.StartTLS()
		h = p.Header()
		restarted = h.From
		p.Features(mechanisms("PLAIN", "SCRAM-SHA-1"))
		final = p.Authenticate()
		p.Header()
		p.Features(featBind, "<ver xmlns='urn:xmpp:features:rosterver'/>", "<sub xmlns='urn:xmpp:features:pre-approval'/>",
			"<unknown xmlns='urn:example:unknown'><x/></unknown>")
		p.Bind("")
		p.ExpectClosed()
	})
	require.NoError(t, err)
	closeSession(t, s)
	wait()

	assert.Equal(t, "example.com||1.0|en", header, "no from before TLS (RFC 6120 §4.7.1)")
	assert.Equal(t, "juliet@example.com", restarted, "from once TLS is on")
	assert.Equal(t, "SCRAM-SHA-1", final, "SCRAM preferred over PLAIN whatever the server's order")
	assert.Equal(t, "juliet@example.com/generated", s.Addr().String())
	require.NotNil(t, s.TLS())
	f := s.Features()
	assert.True(t, f.Bind)
	assert.True(t, f.RosterVersioning)
	assert.True(t, f.PreApproval)
	_, ok := f.Lookup(xmlName("urn:example:unknown", "unknown"))
	assert.True(t, ok, "unknown features are kept")
	_, ok = f.Lookup(xmlName(ns.SASL, "mechanisms"))
	assert.False(t, ok, "the features are the established stream's")
	assert.Equal(t, Negotiation{
		StartTLS:         true,
		StartTLSRequired: true,
		Mechanisms:       []string{"PLAIN", "SCRAM-SHA-1"},
		Mechanism:        "SCRAM-SHA-1",
	}, s.Negotiation())
}

func TestNegotiateResource(t *testing.T) {
	tests := []struct {
		name     string
		account  string
		resource string
		server   string
		asked    string
		want     string
	}{
		{"server assigns", "juliet@example.com", "", "", "", "juliet@example.com/generated"},
		{"config asks", "juliet@example.com", "balcony", "", "balcony", "juliet@example.com/balcony"},
		{"jid asks", "juliet@example.com/garden", "", "", "garden", "juliet@example.com/garden"},
		{"server overrides", "juliet@example.com", "balcony", "other", "balcony", "juliet@example.com/other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := clientConfig(t)
			cfg.Resource = tt.resource
			var asked string
			s, wait, err := dialPeerWait(t, mustJID(tt.account), cfg, func(p *peer) {
				p.ToBind("SCRAM-SHA-1")
				p.Features(featBind)
				asked = p.Bind(tt.server)
				p.ExpectClosed()
			})
			require.NoError(t, err)
			closeSession(t, s)
			wait()
			assert.Equal(t, tt.asked, asked)
			assert.Equal(t, tt.want, s.Addr().String())
		})
	}
}

func TestNegotiateFailures(t *testing.T) {
	tests := []struct {
		name   string
		cfg    func(*Config)
		script func(p *peer)
		check  func(t *testing.T, err error)
	}{
		{
			name: "no STARTTLS offered",
			script: func(p *peer) {
				p.Header()
				p.Features(mechanisms("PLAIN", "SCRAM-SHA-1"))
				sent := p.ExpectClosed()
				assertNoAuth(p.TB, sent)
			},
			check: func(t *testing.T, err error) { assert.ErrorIs(t, err, ErrNoTLS) },
		},
		{
			name: "only PLAIN on plaintext even when TLS is opted out",
			cfg:  func(c *Config) { c.NoTLS = true },
			script: func(p *peer) {
				p.Header()
				p.Features(mechanisms("PLAIN"))
				sent := p.ExpectClosed()
				assertNoAuth(p.TB, sent)
			},
			check: func(t *testing.T, err error) { assert.ErrorIs(t, err, sasl.ErrNoMechanism) },
		},
		{
			name: "STARTTLS refused",
			script: func(p *peer) {
				p.Header()
				p.Features(featStartTLS)
				p.Expect("starttls")
				p.Send("<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>")
			},
			check: func(t *testing.T, err error) { assert.ErrorIs(t, err, ErrTLSRefused) },
		},
		{
			name: "stream error mid-negotiation",
			script: func(p *peer) {
				p.Header()
				p.Send("<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>" +
					"<text xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>no such host</text></stream:error></stream:stream>")
			},
			check: func(t *testing.T, err error) {
				var se *stanza.StreamError
				require.ErrorAs(t, err, &se)
				assert.Equal(t, stanza.StreamHostUnknown, se.Condition)
				assert.Equal(t, "no such host", se.Text)
			},
		},
		{
			name: "wrong password",
			script: func(p *peer) {
				p.SASL.Lookup = func(string) (string, bool) { return "other", true }
				p.Header()
				p.Features(featStartTLS)
				p.StartTLS()
				p.Header()
				p.Features(mechanisms("SCRAM-SHA-1"))
				p.Authenticate()
				p.ExpectClosed()
			},
			check: func(t *testing.T, err error) {
				assert.ErrorIs(t, err, sasl.NotAuthorized)
				var f *sasl.Failure
				require.ErrorAs(t, err, &f)
				assert.NotEmpty(t, f.Text, "the server's text is carried")
			},
		},
		{
			name: "bad server signature",
			script: func(p *peer) {
				scramScript(p, func(first string) string { return first }, func(final string) string {
					return "v=" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 20))
				})
			},
			check: func(t *testing.T, err error) { assert.ErrorIs(t, err, sasl.ErrServerSignature) },
		},
		{
			name: "server nonce does not extend the client's",
			script: func(p *peer) {
				scramScript(p, func(first string) string {
					return "r=completelydifferentnonce,s=" + base64.StdEncoding.EncodeToString([]byte("salt")) + ",i=4096"
				}, nil)
			},
			check: func(t *testing.T, err error) { assert.ErrorContains(t, err, "nonce") },
		},
		{
			name: "iteration count 1",
			script: func(p *peer) {
				scramScript(p, func(first string) string { return strings.Replace(first, "i=4096", "i=1", 1) }, nil)
			},
			check: func(t *testing.T, err error) { assert.ErrorContains(t, err, "iteration") },
		},
		{
			name: "bind conflict",
			script: func(p *peer) {
				p.ToBind("SCRAM-SHA-1")
				p.Features(featBind)
				iq := p.Expect("iq")
				p.Send(fmt.Sprintf("<iq type='error' id='%s'><error type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>", iq.Attr("id")))
				p.ExpectClosed()
			},
			check: func(t *testing.T, err error) {
				var be *BindError
				require.ErrorAs(t, err, &be)
				assert.ErrorIs(t, err, stanza.Conflict)
			},
		},
		{
			name: "no bind offered",
			script: func(p *peer) {
				p.ToBind("SCRAM-SHA-1")
				p.Features()
				p.ExpectClosed()
			},
			check: func(t *testing.T, err error) { assert.ErrorIs(t, err, ErrNoBind) },
		},
		{
			name: "server stalls after the stream header",
			cfg:  func(c *Config) { c.Timeout = 300 * time.Millisecond },
			script: func(p *peer) {
				p.Header()
				p.ExpectClosed()
			},
			check: func(t *testing.T, err error) { assert.ErrorIs(t, err, context.DeadlineExceeded) },
		},
		{
			name: "old stream version",
			script: func(p *peer) {
				if _, err := p.Reader().ReadHeader(); err != nil {
					p.Fatalf("%v", err)
				}
				p.Send("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' from='example.com' id='x'>")
				sent := p.ExpectClosed()
				if len(sent) == 0 || !strings.Contains(sent[0], "unsupported-version") {
					p.TB.Errorf("client sent %q, want unsupported-version", sent)
				}
			},
			check: func(t *testing.T, err error) { assert.ErrorContains(t, err, "version") },
		},
		{
			name: "restricted XML during negotiation",
			script: func(p *peer) {
				p.Header()
				p.Send("<!-- a comment -->")
				sent := p.ExpectClosed()
				if len(sent) == 0 || !strings.Contains(sent[0], "restricted-xml") {
					p.TB.Errorf("client sent %q, want restricted-xml", sent)
				}
			},
			check: func(t *testing.T, err error) {
				var se *stanza.StreamError
				require.ErrorAs(t, err, &se)
				assert.Equal(t, stanza.StreamRestrictedXML, se.Condition)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := clientConfig(t)
			if tt.cfg != nil {
				tt.cfg(cfg)
			}
			start := time.Now()
			s, err := dialPeer(t, cfg, tt.script)
			require.Error(t, err)
			assert.Nil(t, s)
			assert.Less(t, time.Since(start), 5*time.Second)
			tt.check(t, err)
		})
	}
}

// scramScript runs TLS and a SCRAM-SHA-1 exchange in which the server's
// messages are rewritten by first and final (nil leaves them alone); the
// server computes its messages with saslauth and then tampers with them.
func scramScript(p *peer, first, final func(string) string) {
	p.Header()
	p.Features(featStartTLS)
	p.StartTLS()
	p.Header()
	p.Features(mechanisms("SCRAM-SHA-1"))
	auth := p.Expect("auth")
	ex, chal, _, err := p.SASL.Start("SCRAM-SHA-1", p.DecodeBase64(auth.Text()), p.TLSState())
	if err != nil {
		p.Fatalf("%v", err)
	}
	p.Send("<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" + scripted.Base64([]byte(first(string(chal)))) + "</challenge>")
	raw, err := p.TryNext()
	if err != nil || raw.Name().Local != "response" {
		return // the client aborted (or hung up), as it should
	}
	add, _, err := ex.Next(p.DecodeBase64(raw.Text()))
	if err != nil {
		p.Fatalf("%v", err)
	}
	if final != nil {
		add = []byte(final(string(add)))
	}
	p.Send("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" + scripted.Base64(add) + "</success>")
	p.ExpectClosed()
}

func assertNoAuth(t testing.TB, sent []string) {
	for _, s := range sent {
		if strings.Contains(s, "<auth") {
			t.Errorf("client sent credentials: %s", s)
		}
	}
}

func TestNegotiateChannelBinding(t *testing.T) {
	tests := []struct {
		name     string
		tlsMax   uint16
		offered  []string
		cbTypes  string
		wantMech string
	}{
		{"TLS 1.2 tls-unique", tls.VersionTLS12, []string{"SCRAM-SHA-1-PLUS", "SCRAM-SHA-1"}, "", "SCRAM-SHA-1-PLUS"},
		{"TLS 1.3 without XEP-0440: plain SCRAM", tls.VersionTLS13, []string{"SCRAM-SHA-1-PLUS", "SCRAM-SHA-1"}, "", "SCRAM-SHA-1"},
		{"TLS 1.3 with tls-exporter", tls.VersionTLS13, []string{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1"},
			"<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'><channel-binding type='tls-exporter'/></sasl-channel-binding>", "SCRAM-SHA-256-PLUS"},
		{"TLS 1.3 with tls-server-end-point", tls.VersionTLS13, []string{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"},
			"<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'><channel-binding type='tls-server-end-point'/></sasl-channel-binding>", "SCRAM-SHA-256-PLUS"},
		{"SHA-512 preferred", tls.VersionTLS13, []string{"SCRAM-SHA-1", "SCRAM-SHA-512", "SCRAM-SHA-256"}, "", "SCRAM-SHA-512"},
	}
	cert, _ := scripted.Certificate(t)
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	require.NoError(t, err)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			s, wait, err := dialPeerWait(t, juliet, clientConfig(t), func(p *peer) {
				p.TLSMax = tt.tlsMax
				p.SASL.Certificate = leaf // for tls-server-end-point
				p.Header()
				p.Features(featStartTLS)
				p.StartTLS()
				p.Header()
				p.Features(mechanisms(tt.offered...), tt.cbTypes)
				got = p.Authenticate()
				p.Header()
				p.Features(featBind)
				p.Bind("")
				p.ExpectClosed()
			})
			require.NoError(t, err, "the server verified the client's channel binding and GS2 flag")
			closeSession(t, s)
			wait()
			assert.Equal(t, tt.wantMech, got)
		})
	}
}

func TestNegotiateSessionIQ(t *testing.T) {
	tests := []struct {
		name     string
		feature  string
		force    bool
		wantSent bool
	}{
		{"required", "<session xmlns='urn:ietf:params:xml:ns:xmpp-session'/>", false, true},
		{"optional", "<session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session>", false, false},
		{"optional but forced", "<session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session>", true, true},
		{"absent", "", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := clientConfig(t)
			cfg.ForceSessionIQ = tt.force
			sent := false
			s, wait, err := dialPeerWait(t, juliet, cfg, func(p *peer) {
				p.ToBind("SCRAM-SHA-1")
				p.Features(featBind, tt.feature)
				p.Bind("")
				if tt.wantSent {
					iq := p.Expect("iq")
					sent = strings.Contains(elemString(iq), "xmpp-session")
					p.Send(fmt.Sprintf("<iq type='result' id='%s'/>", iq.Attr("id")))
				}
				p.ExpectClosed()
			})
			require.NoError(t, err)
			closeSession(t, s)
			wait()
			assert.Equal(t, tt.wantSent, sent)
		})
	}
}

func TestTraceRedactsSASL(t *testing.T) {
	var trace bytes.Buffer
	cfg := clientConfig(t)
	cfg.Trace = &trace
	cfg.Mechanisms = []sasl.Mechanism{sasl.Plain}
	s, err := dialPeer(t, cfg, func(p *peer) {
		p.ToBind("PLAIN")
		p.Features(featBind)
		p.Bind("")
		p.ExpectClosed()
	})
	require.NoError(t, err)
	closeSession(t, s)
	out := trace.String()
	assert.Contains(t, out, "SEND <starttls")
	assert.Contains(t, out, "redacted")
	assert.Contains(t, out, "mechanism='PLAIN'", "the mechanism's name stays visible")
	secret := base64.StdEncoding.EncodeToString([]byte("\x00juliet\x00r0m30myr0m30"))
	assert.NotContains(t, out, secret)
	assert.NotContains(t, out, "r0m30myr0m30")
}

func TestProceedWithInjectedPlaintext(t *testing.T) {
	// A man in the middle appends a stanza to <proceed/>: whatever was
	// buffered from the plaintext stream must be dropped (CVE-2011-0411
	// class), never read as part of the encrypted stream.
	got := make(chan *stanza.Message, 1)
	cfg := clientConfig(t)
	cfg.Mux = NewMux()
	cfg.Mux.HandleMessageFunc(MessageRoute{}, func(_ context.Context, _ *Session, m *stanza.Message) { got <- m })
	s, err := dialPeer(t, cfg, func(p *peer) {
		p.Header()
		p.Features(featStartTLS)
		p.Expect("starttls")
		p.Send("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><message from='evil@example.org'><body>injected</body></message>")
		cert, _ := scripted.Certificate(p.TB)
		tc := tls.Server(p.Conn(), &tls.Config{Certificates: []tls.Certificate{cert}})
		if err := tc.Handshake(); err != nil {
			return // the handshake may fail on the injected bytes: fine
		}
		p.SetConn(tc)
		p.Header()
		p.LoginFromSASL()
		p.ExpectClosed()
	})
	if err == nil {
		closeSession(t, s)
	}
	select {
	case m := <-got:
		t.Fatalf("injected plaintext delivered: %+v", m)
	default:
	}
}

func TestDialSeeOtherHost(t *testing.T) {
	var dialled []string
	cfg := clientConfig(t)
	cfg.Addr = "first.example.net:5222"
	cfg.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dialled = append(dialled, addr)
		cc, sc := scripted.Loopback(t)
		p := scripted.NewPeer(t, sc)
		go func() {
			defer func() { _ = recover() }()
			if addr == "first.example.net:5222" {
				p.Header()
				p.Send("<stream:error><see-other-host xmlns='urn:ietf:params:xml:ns:xmpp-streams'>[2001:db8::1]:5223</see-other-host></stream:error></stream:stream>")
				p.ExpectClosed()
				return
			}
			p.Login()
			p.ExpectClosed()
		}()
		return cc, nil
	}
	s, err := Dial(context.Background(), juliet, "r0m30myr0m30", cfg)
	require.NoError(t, err, "the redirect target presents example.com's certificate, checked against the JID's domain")
	defer closeSession(t, s)
	assert.Equal(t, []string{"first.example.net:5222", "[2001:db8::1]:5223"}, dialled)
}

func TestDialRedirectLoop(t *testing.T) {
	n := 0
	cfg := clientConfig(t)
	cfg.Addr = "loop.example.net:5222"
	cfg.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		n++
		cc, sc := scripted.Loopback(t)
		p := scripted.NewPeer(t, sc)
		go func() {
			defer func() { _ = recover() }()
			p.Header()
			p.Send("<stream:error><see-other-host xmlns='urn:ietf:params:xml:ns:xmpp-streams'>loop.example.net</see-other-host></stream:error></stream:stream>")
			p.ExpectClosed()
		}()
		return cc, nil
	}
	_, err := Dial(context.Background(), juliet, "r0m30myr0m30", cfg)
	require.Error(t, err)
	assert.ErrorContains(t, err, "redirects")
	assert.Equal(t, 6, n, "the first connection and five redirects")
}

func TestDialDirectTLSAndFallback(t *testing.T) {
	cfg := clientConfig(t)
	var dialled []string
	cfg.Resolver = fakeResolver{
		"xmpps-client": {{Target: "tls.example.com.", Port: 5223, Priority: 1}},
		"xmpp-client":  {{Target: "xmpp.example.com.", Port: 5222, Priority: 2}},
	}
	cfg.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dialled = append(dialled, addr)
		if addr == "tls.example.com:5223" {
			return nil, errors.New("connection refused")
		}
		cc, sc := scripted.Loopback(t)
		p := scripted.NewPeer(t, sc)
		go func() {
			defer func() { _ = recover() }()
			p.Login()
			p.ExpectClosed()
		}()
		return cc, nil
	}
	s, err := Dial(context.Background(), juliet, "r0m30myr0m30", cfg)
	require.NoError(t, err)
	defer closeSession(t, s)
	assert.Equal(t, []string{"tls.example.com:5223", "xmpp.example.com:5222"}, dialled)
}

func TestDialDirectTLS(t *testing.T) {
	cfg := clientConfig(t)
	cfg.Addr = "127.0.0.1:1"
	cfg.DirectTLS = true
	cfg.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		cc, sc := scripted.Loopback(t)
		go func() {
			defer func() { _ = recover() }()
			cert, _ := scripted.Certificate(t)
			tc := tls.Server(sc, &tls.Config{Certificates: []tls.Certificate{cert}})
			p := scripted.NewPeer(t, tc)
			p.Header()
			p.Features(mechanisms("SCRAM-SHA-256"))
			p.Authenticate()
			p.Header()
			p.Features(featBind)
			p.Bind("")
			p.ExpectClosed()
		}()
		return cc, nil
	}
	s, err := Dial(context.Background(), juliet, "r0m30myr0m30", cfg)
	require.NoError(t, err)
	defer closeSession(t, s)
	require.NotNil(t, s.TLS())
}

func TestDialCertificateForOtherName(t *testing.T) {
	cfg := clientConfig(t)
	cfg.Addr = "127.0.0.1:1"
	cfg.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		cc, sc := scripted.Loopback(t)
		p := scripted.NewPeer(t, sc)
		go func() {
			defer func() { _ = recover() }()
			p.Header()
			p.Features(featStartTLS)
			p.Expect("starttls")
			p.Send("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
			cert, _ := scripted.Certificate(t)
			_ = tls.Server(p.Conn(), &tls.Config{Certificates: []tls.Certificate{cert}}).Handshake()
		}()
		return cc, nil
	}
	_, err := Dial(context.Background(), mustJID("juliet@example.org"), "r0m30myr0m30", cfg)
	require.Error(t, err)
	var herr x509HostnameError
	assert.ErrorAs(t, err, &herr, "the certificate for example.com does not serve example.org")
}

func TestTraceJoinsReads(t *testing.T) {
	var out bytes.Buffer
	tr := &tracer{w: &out}
	tr.chunk("RECV ", []byte("<"))
	tr.chunk("RECV ", []byte("message><body>hi</bo"))
	tr.chunk("RECV ", []byte("dy></message>"))
	tr.chunk("SEND ", []byte("<presence/>"))
	assert.Equal(t, "RECV <message><body>hi</body></message>\nSEND <presence/>\n", out.String())
}

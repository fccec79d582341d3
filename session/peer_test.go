package session

import (
	"context"
	"crypto/x509"
	"encoding/xml"
	"net"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/testkit/scripted"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

// The peer in these tests is a scripted server (internal/testkit/scripted):
// each test writes what the server says and checks what the client sends,
// so every negotiation path and every failure can be produced on purpose.
type peer = scripted.Peer

// The peer's vocabulary, under the short names these tests use.
const (
	featStartTLS = scripted.StartTLSFeature
	featBind     = scripted.BindFeature
)

func mechanisms(names ...string) string { return scripted.Mechanisms(names...) }

var juliet = scripted.Account

// clientConfig is a Config that trusts the peer's certificate.
func clientConfig(t testing.TB) *Config {
	return &Config{TLSConfig: scripted.ClientTLS(t), KeepAlive: -1, Timeout: 10 * time.Second}
}

// dialPeer runs New against a peer whose script runs in fn on its
// own goroutine and returns the client's result. When it fails, the
// script has ended; otherwise wait waits for it (close the session first:
// scripts end when the client closes). Read what a script recorded only
// after that.
func dialPeer(t testing.TB, cfg *Config, fn func(p *peer)) (*Session, error) {
	s, _, err := dialPeerWait(t, juliet, cfg, fn)
	return s, err
}

func dialPeerWait(t testing.TB, account jid.JID, cfg *Config, fn func(p *peer)) (s *Session, wait func(), err error) {
	t.Helper()
	conn, p := scripted.Start(t, fn)
	s, err = New(context.Background(), conn, account, scripted.Password, cfg)
	if err != nil {
		p.Wait() // the client closed its end: the script reads EOF
	}
	return s, p.Wait, err
}

func elemString(r *stanza.Raw) string { return r.String() }

type x509HostnameError = x509.HostnameError

func xmlName(space, local string) xml.Name { return xml.Name{Space: space, Local: local} }

func mustJID(s string) jid.JID { return jid.MustParse(s) }

// fakeResolver answers SRV lookups from a table keyed by service.
type fakeResolver map[string][]*net.SRV

func (f fakeResolver) LookupSRV(_ context.Context, service, proto, name string) (string, []*net.SRV, error) {
	recs, ok := f[service]
	if !ok {
		return "", nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	return "_" + service + "._" + proto + "." + name, recs, nil
}

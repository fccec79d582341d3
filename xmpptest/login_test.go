package xmpptest_test

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/sasl"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
	"github.com/parleyim/parley/xmpptest"
)

// Parley clients log in with every mechanism and both ways into TLS; the
// transcript shows what was negotiated.
func TestLogin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		server   xmpptest.Config
		cfg      session.Config
		wantMech string
		wantTLS  uint16
		wantCB   []string
	}{
		{name: "default", wantMech: "SCRAM-SHA-512-PLUS", wantTLS: tls.VersionTLS13, wantCB: []string{"tls-exporter"}},
		{name: "direct TLS", cfg: session.Config{DirectTLS: true}, wantMech: "SCRAM-SHA-512-PLUS", wantTLS: tls.VersionTLS13, wantCB: []string{"tls-exporter"}},
		{name: "SCRAM-SHA-1", cfg: session.Config{Mechanisms: []sasl.Mechanism{sasl.ScramSHA1}}, wantMech: "SCRAM-SHA-1", wantTLS: tls.VersionTLS13, wantCB: []string{"tls-exporter"}},
		{name: "SCRAM-SHA-256", cfg: session.Config{Mechanisms: []sasl.Mechanism{sasl.ScramSHA256}}, wantMech: "SCRAM-SHA-256", wantTLS: tls.VersionTLS13, wantCB: []string{"tls-exporter"}},
		{name: "SCRAM-SHA-1-PLUS", cfg: session.Config{Mechanisms: []sasl.Mechanism{sasl.ScramSHA1Plus}}, wantMech: "SCRAM-SHA-1-PLUS", wantTLS: tls.VersionTLS13, wantCB: []string{"tls-exporter"}},
		{name: "SCRAM-SHA-256-PLUS", cfg: session.Config{Mechanisms: []sasl.Mechanism{sasl.ScramSHA256Plus}}, wantMech: "SCRAM-SHA-256-PLUS", wantTLS: tls.VersionTLS13, wantCB: []string{"tls-exporter"}},
		{name: "PLAIN", cfg: session.Config{Mechanisms: []sasl.Mechanism{sasl.Plain}}, wantMech: "PLAIN", wantTLS: tls.VersionTLS13, wantCB: []string{"tls-exporter"}},
		{name: "TLS 1.2 with tls-unique", server: xmpptest.Config{TLSMaxVersion: tls.VersionTLS12}, wantMech: "SCRAM-SHA-512-PLUS", wantTLS: tls.VersionTLS12, wantCB: []string{"tls-unique"}},
		{name: "no channel binding", server: xmpptest.Config{NoChannelBinding: true}, wantMech: "SCRAM-SHA-512", wantTLS: tls.VersionTLS13},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, withTranscripts(tc.server))
			s, _ := login(t, srv, "alice/phone", &tc.cfg)
			assert.Equal(t, "alice@example.test/phone", s.Addr().String())
			require.NotNil(t, s.TLS())
			assert.Equal(t, tc.wantTLS, s.TLS().Version)
			assert.Equal(t, tc.wantCB, s.Negotiation().ChannelBindings)
			assert.Equal(t, tc.wantMech, s.Negotiation().Mechanism)
			assert.True(t, s.Features().Session)
			assert.True(t, s.Features().SessionOptional)
			tr := srv.Transcript(s.Addr())
			assert.Contains(t, tr, "mechanism='"+tc.wantMech+"'")
			// The stream works: a ping to the domain.
			_, err := s.SendIQ(ctx(t), pingIQ(srv.Domain()))
			assert.NoError(t, err)
		})
	}
}

func pingIQ(to jid.JID) *stanza.IQ {
	p, _ := stanza.ParseRaw([]byte("<ping xmlns='urn:xmpp:ping'/>"))
	return &stanza.IQ{Header: stanza.Header{To: to}, Type: stanza.IQGet, Payload: p}
}

func TestLoginFails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, user, password string
		want                 error
	}{
		{"wrong password", "alice", "nope", sasl.NotAuthorized},
		{"unknown user", "mallory", "pw-mallory", sasl.NotAuthorized},
		{"untrusted certificate", "alice", "pw-alice", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, nil)
			cfg := &session.Config{KeepAlive: -1}
			if tc.want == nil {
				cfg.TLSConfig = &tls.Config{} // system roots: the self-signed certificate is not trusted
			}
			c := ctx(t)
			if tc.want == nil {
				// Over net.Pipe, which has no buffer, the client's alert
				// waits for the server's flight to be read: the
				// failure shows when ctx ends.
				var cancel context.CancelFunc
				c, cancel = context.WithTimeout(c, 500*time.Millisecond)
				defer cancel()
			}
			s, err := srv.Connect(c, account(srv, tc.user), tc.password, cfg)
			require.Error(t, err)
			assert.Nil(t, s)
			if tc.want != nil {
				assert.ErrorIs(t, err, tc.want)
			}
		})
	}
}

// Clients that are not Parley sessions reach the server on TCP, with
// STARTTLS or direct TLS; session.Dial reaches it in memory through
// DialContext.
func TestTransports(t *testing.T) {
	t.Parallel()
	srv := newServer(t, &xmpptest.Config{Listen: true})
	require.NotEmpty(t, srv.Addr())
	assert.True(t, strings.HasPrefix(srv.Addr(), "127.0.0.1:"))
	alice := jid.MustParse("alice@example.test")
	tests := []struct {
		name string
		cfg  session.Config
	}{
		{"TCP STARTTLS", session.Config{Addr: srv.Addr()}},
		{"TCP direct TLS", session.Config{Addr: srv.Addr(), DirectTLS: true}},
		{"pipe through Dial", session.Config{Addr: "pipe", DialContext: srv.DialContext}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.TLSConfig = srv.TLSConfig()
			tc.cfg.KeepAlive = -1
			s, err := session.Dial(ctx(t), alice, "pw-alice", &tc.cfg)
			require.NoError(t, err)
			defer s.Close(context.Background())
			_, err = s.SendIQ(ctx(t), pingIQ(srv.Domain()))
			assert.NoError(t, err)
		})
	}
}

// RFC 6120 §7.7.2.2: by default the new session wins and the old one ends
// with <conflict/>; with RefuseConflicts the new bind is refused.
func TestResourceConflict(t *testing.T) {
	t.Parallel()
	t.Run("new session wins", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, nil)
		old, _ := login(t, srv, "alice/phone", nil)
		s, _ := login(t, srv, "alice/phone", nil)
		<-old.Done()
		assert.ErrorIs(t, old.Err(), stanza.StreamConflict)
		assert.Equal(t, []jid.JID{s.Addr()}, srv.Resources(s.Addr()))
		_, err := s.SendIQ(ctx(t), pingIQ(srv.Domain()))
		assert.NoError(t, err)
	})
	t.Run("refuse the new bind", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, &xmpptest.Config{RefuseConflicts: true})
		old, _ := login(t, srv, "alice/phone", nil)
		_, err := srv.Connect(ctx(t), account(srv, "alice/phone"), "pw-alice", &session.Config{KeepAlive: -1})
		var be *session.BindError
		require.ErrorAs(t, err, &be)
		assert.ErrorIs(t, err, stanza.Conflict)
		_, err = old.SendIQ(ctx(t), pingIQ(srv.Domain()))
		assert.NoError(t, err)
	})
	t.Run("server-assigned resources differ", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, nil)
		a, _ := login(t, srv, "alice", nil)
		b, _ := login(t, srv, "alice", nil)
		assert.NotEqual(t, a.Addr(), b.Addr())
		assert.Len(t, srv.Resources(a.Addr().Bare()), 2)
	})
}

// With RequireSession a Parley client sends the session iq and works.
func TestRequiredSession(t *testing.T) {
	t.Parallel()
	srv := newServer(t, &xmpptest.Config{RequireSession: true, RecordTranscripts: true})
	a, _ := login(t, srv, "alice", nil)
	assert.True(t, a.Features().Session)
	assert.False(t, a.Features().SessionOptional)
	assert.Contains(t, srv.Transcript(a.Addr()), "<session xmlns='urn:ietf:params:xml:ns:xmpp-session'/>")
	_, err := a.SendIQ(ctx(t), pingIQ(srv.Domain()))
	assert.NoError(t, err)
}

func TestAddUser(t *testing.T) {
	t.Parallel()
	srv := xmpptest.NewServer(t, &xmpptest.Config{Domain: "chat.example"})
	j, err := srv.AddUser("Dave", "pw-dave")
	require.NoError(t, err)
	assert.Equal(t, "dave@chat.example", j.String())
	_, err = srv.AddUser("", "x")
	assert.Error(t, err)
	_, err = srv.AddUser("a@b", "x")
	assert.Error(t, err)
	// Setting the password again replaces it.
	_, err = srv.AddUser("dave", "new")
	require.NoError(t, err)
	s, err := srv.Connect(ctx(t), account(srv, "dave"), "new", &session.Config{KeepAlive: -1})
	require.NoError(t, err)
	assert.Equal(t, "chat.example", s.Addr().Domainpart())
	require.NoError(t, s.Close(ctx(t)))
}

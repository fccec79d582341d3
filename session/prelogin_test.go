package session

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/testkit/scripted"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

const featRegister = "<register xmlns='" + ns.RegisterFeature + "'/>"

var exampleDomain = mustJID("example.com")

// prelogin runs NewPrelogin against a peer running fn.
func prelogin(t *testing.T, cfg *Config, fn func(p *peer)) (*Prelogin, *peer, error) {
	t.Helper()
	return prelogin0(t, exampleDomain, cfg, fn)
}

func prelogin0(t *testing.T, domain jid.JID, cfg *Config, fn func(p *peer)) (*Prelogin, *peer, error) {
	t.Helper()
	conn, p := scripted.Start(t, fn)
	pl, err := NewPrelogin(context.Background(), conn, domain, cfg)
	if err != nil {
		p.Wait()
	}
	return pl, p, err
}

func TestPreloginSTARTTLS(t *testing.T) {
	t.Parallel()
	var headers []string
	pl, p, err := prelogin(t, clientConfig(t), func(p *peer) {
		h := p.Header()
		headers = append(headers, fmt.Sprintf("to=%s from=%s", h.To, h.From))
		p.Features(featStartTLS)
		p.StartTLS()
		h = p.Header()
		headers = append(headers, fmt.Sprintf("to=%s from=%s", h.To, h.From))
		p.Features(mechanisms("SCRAM-SHA-1", "PLAIN"), featRegister)
		iq, err := scripted.IQ(p.Expect("iq"))
		if err != nil {
			p.Fatalf("%v", err)
		}
		raw, _ := iq.Raw()
		if iq.Type != stanza.IQGet || !iq.To.IsZero() || raw.String() != "<query xmlns='jabber:iq:register'/>" {
			p.Fatalf("unexpected request %s %s %s", iq.Type, iq.To, raw)
		}
		p.Send("<iq type='result' id='" + iq.ID + "'><query xmlns='jabber:iq:register'><username/></query></iq>")
		p.ExpectClosed()
	})
	require.NoError(t, err)
	_, ok := pl.Features().Lookup(xmlName(ns.RegisterFeature, "register"))
	assert.True(t, ok)
	neg := pl.Negotiation()
	assert.True(t, neg.StartTLS)
	assert.True(t, neg.StartTLSRequired)
	assert.Equal(t, []string{"SCRAM-SHA-1", "PLAIN"}, neg.Mechanisms)
	assert.Empty(t, neg.Mechanism)
	assert.NotNil(t, pl.TLS())
	assert.Equal(t, exampleDomain, pl.Domain())

	reply, err := pl.SendIQ(ctxT(t), &stanza.IQ{Type: stanza.IQGet, Payload: emptyElement{ns.Register, "query"}})
	require.NoError(t, err)
	assert.Equal(t, stanza.IQResult, reply.Type)
	require.NoError(t, pl.Close(ctxT(t)))
	require.NoError(t, pl.Close(ctxT(t)), "a second Close is nil")
	p.Wait()
	// No 'from' on a stream with no account (RFC 6120 §4.7.1).
	assert.Equal(t, []string{"to=example.com from=", "to=example.com from="}, headers)
	_, err = pl.SendIQ(ctxT(t), &stanza.IQ{Type: stanza.IQGet, Payload: emptyElement{ns.Register, "query"}})
	assert.ErrorIs(t, err, ErrClosed)
}

func TestPreloginErrorReply(t *testing.T) {
	t.Parallel()
	pl, p, err := prelogin(t, clientConfig(t), func(p *peer) {
		p.Header()
		p.Features(featStartTLS)
		p.StartTLS()
		p.Header()
		p.Features(mechanisms("SCRAM-SHA-1"))
		iq := p.Expect("iq")
		p.Send("<iq type='error' id='" + iq.Attr("id") + "'><error type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>taken</text></error></iq>")
		// The stream goes on after an error reply.
		iq = p.Expect("iq")
		p.Send("<iq type='result' id='" + iq.Attr("id") + "'/>")
		p.ExpectClosed()
	})
	require.NoError(t, err)
	reply, err := pl.SendIQ(ctxT(t), &stanza.IQ{Type: stanza.IQSet, Payload: emptyElement{ns.Register, "query"}})
	assert.ErrorIs(t, err, stanza.Conflict)
	require.NotNil(t, reply)
	assert.Equal(t, "taken", reply.Error.Text)
	_, err = pl.SendIQ(ctxT(t), &stanza.IQ{Type: stanza.IQSet, Payload: emptyElement{ns.Register, "query"}})
	assert.NoError(t, err)
	_, err = pl.SendIQ(ctxT(t), &stanza.IQ{Type: stanza.IQResult})
	assert.Error(t, err, "only get and set are requests")
	require.NoError(t, pl.Close(ctxT(t)))
	p.Wait()
}

func TestPreloginRefusesPlaintext(t *testing.T) {
	t.Parallel()
	_, _, err := prelogin(t, clientConfig(t), func(p *peer) {
		p.Header()
		p.Features(mechanisms("PLAIN"), featRegister)
		p.ExpectClosed()
	})
	assert.ErrorIs(t, err, ErrNoTLS)
}

func TestPreloginPlaintextAllowed(t *testing.T) {
	t.Parallel()
	cfg := clientConfig(t)
	cfg.NoTLS = true
	pl, p, err := prelogin(t, cfg, func(p *peer) {
		p.Header()
		p.Features(mechanisms("SCRAM-SHA-1"), featRegister)
		p.ExpectClosed()
	})
	require.NoError(t, err)
	assert.Nil(t, pl.TLS(), "the stream is not encrypted, and says so")
	require.NoError(t, pl.Close(ctxT(t)))
	p.Wait()
}

func TestPreloginCertificateForOtherName(t *testing.T) {
	t.Parallel()
	_, _, err := prelogin0(t, mustJID("example.org"), clientConfig(t), func(p *peer) {
		p.Header()
		p.Features(featStartTLS)
		p.Expect("starttls")
		p.Send("<proceed xmlns='" + ns.TLS + "'/>")
		cert, _ := scripted.Certificate(t)
		_ = tls.Server(p.Conn(), &tls.Config{Certificates: []tls.Certificate{cert}}).Handshake()
	})
	var herr x509HostnameError
	assert.ErrorAs(t, err, &herr, "the certificate for example.com does not serve example.org: the checks of a login")
}

func TestPreloginReplyFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		reply func(id string) string
		check func(t *testing.T, err error)
	}{
		{
			name:  "wrong id",
			reply: func(string) string { return "<iq type='result' id='other'/>" },
			check: func(t *testing.T, err error) { assert.ErrorContains(t, err, "expected the reply") },
		},
		{
			name:  "a message",
			reply: func(string) string { return "<message><body>hi</body></message>" },
			check: func(t *testing.T, err error) { assert.ErrorContains(t, err, "expected the reply") },
		},
		{
			name: "stream error",
			reply: func(string) string {
				return "<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>"
			},
			check: func(t *testing.T, err error) {
				var se *stanza.StreamError
				require.ErrorAs(t, err, &se)
				assert.Equal(t, stanza.StreamNotAuthorized, se.Condition)
			},
		},
		{
			name:  "bad XML",
			reply: func(string) string { return "<iq type='result' id='a'></oops>" },
			check: func(t *testing.T, err error) {
				var se *stanza.StreamError
				require.ErrorAs(t, err, &se)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pl, p, err := prelogin(t, clientConfig(t), func(p *peer) {
				p.Header()
				p.Features(featStartTLS)
				p.StartTLS()
				p.Header()
				p.Features(mechanisms("SCRAM-SHA-1"))
				iq := p.Expect("iq")
				p.Send(tt.reply(iq.Attr("id")))
				_, _ = p.TryNext()
			})
			require.NoError(t, err)
			_, err = pl.SendIQ(ctxT(t), &stanza.IQ{Type: stanza.IQGet, Payload: emptyElement{ns.Register, "query"}})
			tt.check(t, err)
			_, again := pl.SendIQ(ctxT(t), &stanza.IQ{Type: stanza.IQGet, Payload: emptyElement{ns.Register, "query"}})
			assert.ErrorIs(t, again, ErrClosed, "a failed request ends the stream")
			require.NoError(t, pl.Close(ctxT(t)))
			p.Wait()
		})
	}
}

func TestPreloginContext(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	pl, p, err := prelogin(t, clientConfig(t), func(p *peer) {
		p.Header()
		p.Features(featStartTLS)
		p.StartTLS()
		p.Header()
		p.Features(mechanisms("SCRAM-SHA-1"))
		p.Expect("iq") // and never answer
		<-release
	})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = pl.SendIQ(ctx, &stanza.IQ{Type: stanza.IQGet, Payload: emptyElement{ns.Register, "query"}})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	close(release)
	require.NoError(t, pl.Close(ctxT(t)))
	p.Wait()
}

func TestDialPrelogin(t *testing.T) {
	t.Parallel()
	conn, p := scripted.Start(t, func(p *peer) {
		p.Header()
		p.Features(featStartTLS)
		p.StartTLS()
		p.Header()
		p.Features(mechanisms("SCRAM-SHA-1"), featRegister)
		p.ExpectClosed()
	})
	cfg := clientConfig(t)
	cfg.Addr = "scripted:5222"
	var dialled []string
	cfg.DialContext = func(_ context.Context, _, addr string) (net.Conn, error) {
		dialled = append(dialled, addr)
		return conn, nil
	}
	pl, err := DialPrelogin(ctxT(t), mustJID("someone@example.com/res"), cfg)
	require.NoError(t, err)
	assert.Equal(t, exampleDomain, pl.Domain(), "only the domain counts")
	assert.Equal(t, []string{"scripted:5222"}, dialled)
	require.NoError(t, pl.Close(ctxT(t)))
	p.Wait()
	assert.False(t, strings.Contains(strings.Join(dialled, ""), "someone"))
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

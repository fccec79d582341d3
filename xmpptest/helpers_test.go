package xmpptest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
	"github.com/parleyim/parley/xmpptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// inbox collects what a session receives.
type inbox struct {
	msgs chan *stanza.Message
	pres chan *stanza.Presence
}

func newInbox() (*inbox, *session.Mux) {
	in := &inbox{msgs: make(chan *stanza.Message, 64), pres: make(chan *stanza.Presence, 64)}
	mux := session.NewMux()
	mux.HandleMessageFunc(session.MessageRoute{}, func(_ context.Context, _ *session.Session, m *stanza.Message) { in.msgs <- m })
	mux.HandlePresenceFunc(session.PresenceRoute{}, func(_ context.Context, _ *session.Session, p *stanza.Presence) { in.pres <- p })
	return in, mux
}

func (in *inbox) message(t *testing.T) *stanza.Message {
	t.Helper()
	select {
	case m := <-in.msgs:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message arrived")
		return nil
	}
}

func (in *inbox) noMessage(t *testing.T) {
	t.Helper()
	select {
	case m := <-in.msgs:
		t.Fatalf("unexpected message %+v", m)
	case <-time.After(100 * time.Millisecond):
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// login connects user (with "/resource" when wanted), with an inbox.
func login(t *testing.T, srv *xmpptest.Server, user string, cfg *session.Config) (*session.Session, *inbox) {
	t.Helper()
	in, mux := newInbox()
	var c session.Config
	if cfg != nil {
		c = *cfg
	}
	c.Mux = mux
	c.KeepAlive = -1
	s, err := srv.Connect(ctx(t), account(srv, user), "pw-"+account(srv, user).Localpart(), &c)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s, in
}

// account returns the JID of user ("name" or "name/resource") on srv.
func account(srv *xmpptest.Server, user string) jid.JID {
	local, res, _ := strings.Cut(user, "/")
	addr, err := jid.New(local, srv.Domain().Domainpart(), res)
	if err != nil {
		panic(err)
	}
	return addr
}

// newServer starts a server with alice, bob and carol (passwords "pw-" +
// name).
func newServer(t *testing.T, cfg *xmpptest.Config) *xmpptest.Server {
	srv := xmpptest.NewServer(t, cfg)
	for _, u := range []string{"alice", "bob", "carol"} {
		_, err := srv.AddUser(u, "pw-"+u)
		require.NoError(t, err)
	}
	return srv
}

// available sends initial presence with a priority.
func available(t *testing.T, s *session.Session, prio int8) {
	t.Helper()
	require.NoError(t, s.Send(ctx(t), &stanza.Presence{Priority: prio}))
}

var alice = jid.MustParse("alice@example.test")

// withTranscripts returns a copy of cfg that records transcripts.
func withTranscripts(cfg xmpptest.Config) *xmpptest.Config {
	cfg.RecordTranscripts = true
	return &cfg
}

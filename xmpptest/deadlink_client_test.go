package xmpptest_test

import (
	"context"
	"flag"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/testkit/deadlink"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/xmpptest"
)

// Parley's sessions on xmpptest over TCP, each through a loopback proxy
// that blackholes or cuts its link while numbered messages go from one
// to the other (internal/testkit/deadlink). The short run is part of the
// tests; -silent.long sends 2,000 messages with three faults of each
// kind and logs the table ARCHITECTURE.md shows.

var silentLong = flag.Bool("silent.long", false, "TestSilentDeath: 2,000 messages and three faults of each kind")

func TestSilentDeath(t *testing.T) {
	srv := xmpptest.NewServer(t, &xmpptest.Config{Listen: true})
	for _, u := range []string{"sender", "receiver"} {
		_, err := srv.AddUser(u, "secret")
		require.NoError(t, err)
	}
	setup := deadlink.Setup{
		Addr:   srv.Addr(),
		Sender: "sender", Receiver: "receiver",
		Dial: func(ctx context.Context, user, addr string, cfg *session.Config) (*session.Session, error) {
			a, err := jid.New(user, srv.Domain().Domainpart(), "")
			if err != nil {
				return nil, err
			}
			c := *cfg
			c.Addr, c.TLSConfig = addr, srv.TLSConfig()
			return session.Dial(ctx, a, "secret", &c)
		},
	}
	deadlink.RunAll(t, "xmpptest", setup, deadlink.TestOptions(t, *silentLong), false, nil)
}

package xmpptest_test

import (
	"context"
	"flag"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
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

// silentOptions are the run's options, short or long; SILENT_SEED
// repeats a run.
func silentOptions(t *testing.T) deadlink.Options {
	o := deadlink.Options{Messages: 200, Faults: 1, Interval: 15 * time.Millisecond, Window: 50, Seed: uint64(time.Now().UnixNano())}
	if *silentLong {
		o.Messages, o.Faults = 2000, 3
	}
	if v, err := strconv.ParseUint(os.Getenv("SILENT_SEED"), 10, 64); err == nil {
		o.Seed = v
	}
	t.Logf("seed %d (SILENT_SEED to run it again), %d messages, %d faults per kind", o.Seed, o.Messages, o.Faults)
	return o
}

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
	o := silentOptions(t)
	rows := []string{deadlink.Header}
	for _, f := range deadlink.Faults {
		t.Run(f.String(), func(t *testing.T) {
			r := deadlink.Run(t, setup, f, o)
			t.Log(r.Describe())
			rows = append(rows, r.Row(o.Faults))
			assert.Zero(t, r.Lost, "lost")
			assert.Zero(t, r.Duplicated, "duplicated")
			assert.Zero(t, r.Reordered, "reordered")
			assert.Equal(t, o.Faults, r.Resumed, "one resumption per fault")
			assert.Zero(t, r.Other, "the other session kept its link")
		})
	}
	t.Logf("xmpptest:\n%s", strings.Join(rows, "\n"))
}

//go:build interop

package interop_test

import (
	"context"
	"flag"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/parleyim/parley/internal/testkit/deadlink"
	"github.com/parleyim/parley/internal/testkit/xmppd"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
)

// Silent connection death against the real servers: numbered messages
// from bob to alice, each through a loopback proxy of their own, while
// one link is blackholed (or cut) again and again
// (internal/testkit/deadlink). The short run is part of the interop
// tests; -silent.long sends 2,000 messages with three faults of each kind
// and logs the table ARCHITECTURE.md shows. SILENT_KIND=prosody (or
// ejabberd) runs one kind only.

// handoverFault marks the servers whose resumption hands the session
// over while the old connection's process still routes what it had read
// (ARCHITECTURE.md, "Silent connection death, measured"): ejabberd
// 23.01 duplicates stanzas of a sender resumed after a cut, and delivers
// what waited in the old process after newer messages. Those counts are
// logged there, not failed; nothing may be lost on any server.
var handoverFault = map[xmppd.Kind]bool{xmppd.Ejabberd: true}

var silentLong = flag.Bool("silent.long", false, "TestSilentDeath: 2,000 messages and three faults of each kind")

func TestSilentDeath(t *testing.T) {
	o := deadlink.Options{Messages: 200, Faults: 1, Interval: 15 * time.Millisecond, Window: 50, Seed: uint64(time.Now().UnixNano())}
	if *silentLong {
		o.Messages, o.Faults = 2000, 3
	}
	if v, err := strconv.ParseUint(os.Getenv("SILENT_SEED"), 10, 64); err == nil {
		o.Seed = v
	}
	t.Logf("seed %d (SILENT_SEED to run it again), %d messages, %d faults per kind", o.Seed, o.Messages, o.Faults)
	for _, kind := range xmppd.Kinds {
		if k := os.Getenv("SILENT_KIND"); k != "" && k != string(kind) {
			continue
		}
		t.Run(string(kind), func(t *testing.T) {
			srv := xmppd.Start(t, kind, xmppd.Options{Debug: os.Getenv("XMPPD_DEBUG") != ""})
			setup := deadlink.Setup{
				Addr:   srv.Addr,
				Sender: "bob", Receiver: "alice",
				Dial: func(ctx context.Context, user, addr string, cfg *session.Config) (*session.Session, error) {
					a, err := jid.New(user, srv.Domain, "")
					if err != nil {
						return nil, err
					}
					c := *cfg
					c.Addr, c.TLSConfig, c.Timeout = addr, srv.TLSConfig(), 30*time.Second
					return session.Dial(ctx, a, srv.Users[user], &c)
				},
			}
			rows := []string{deadlink.Header}
			for _, f := range deadlink.Faults {
				t.Run(f.String(), func(t *testing.T) {
					r := deadlink.Run(t, setup, f, o)
					t.Log(r.Describe())
					rows = append(rows, r.Row(o.Faults))
					assert.Zero(t, r.Lost, "lost")
					assert.Equal(t, o.Faults, r.Resumed, "one resumption per fault")
					if handoverFault[kind] {
						// Counted and shown, not failed: the server's
						// fault (see handoverFault).
						if r.Duplicated+r.Reordered+r.Other > 0 {
							t.Logf("%s handover fault: %d duplicated, %d reordered, the other session resumed %d times %q",
								kind, r.Duplicated, r.Reordered, r.Other, r.OtherCauses)
						}
					} else {
						assert.Zero(t, r.Duplicated, "duplicated")
						assert.Zero(t, r.Reordered, "reordered")
						assert.Zero(t, r.Other, "the other session kept its link")
					}
					if t.Failed() {
						t.Logf("server log:\n%s", srv.LogTail(logLines))
					}
				})
			}
			t.Logf("%s:\n%s", kind, strings.Join(rows, "\n"))
		})
	}
}

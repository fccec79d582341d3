package xmpptest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
	"github.com/parleyim/parley/xmpptest"
)

// BenchmarkMessageThroughput sends chat messages from alice to bob's full
// JID through the in-memory server and waits until bob's handler has seen
// all of them; msgs/s is the rate.
func BenchmarkMessageThroughput(b *testing.B) { benchmarkMessages(b, 0) }

// BenchmarkMessageThroughputPrivacy is BenchmarkMessageThroughput with
// an active privacy list of 50 items on both sides, none of which
// matches before the last (the fall-through allow): every message is
// checked against all of alice's items on the way out and all of bob's on
// the way in.
func BenchmarkMessageThroughputPrivacy(b *testing.B) { benchmarkMessages(b, 50) }

// activate gives s an active privacy list of n items: n-1 that match
// nobody in the benchmark, of every type, and an allow for everything.
func activate(b *testing.B, s *session.Session, n int) {
	ctx := context.Background()
	var items strings.Builder
	for i := range n - 1 {
		switch i % 3 {
		case 0:
			fmt.Fprintf(&items, "<item type='jid' value='nobody%d@example.test' action='deny' order='%d'/>", i, i)
		case 1:
			fmt.Fprintf(&items, "<item type='group' value='G%d' action='deny' order='%d'><message/></item>", i, i)
		default:
			fmt.Fprintf(&items, "<item type='subscription' value='both' action='deny' order='%d'/>", i)
		}
	}
	fmt.Fprintf(&items, "<item action='allow' order='%d'/>", n)
	for _, q := range []string{
		"<query xmlns='jabber:iq:privacy'><list name='big'>" + items.String() + "</list></query>",
		"<query xmlns='jabber:iq:privacy'><active name='big'/></query>",
	} {
		p, err := stanza.ParseRaw([]byte(q))
		require.NoError(b, err)
		_, err = s.SendIQ(ctx, &stanza.IQ{Type: stanza.IQSet, Payload: p})
		require.NoError(b, err)
	}
}

func benchmarkMessages(b *testing.B, listItems int) {
	srv, err := xmpptest.Start(nil)
	require.NoError(b, err)
	defer srv.Close()
	_, _ = srv.AddUser("alice", "pw")
	_, _ = srv.AddUser("bob", "pw")
	ctx := context.Background()
	got := make(chan struct{}, 1024)
	mux := session.NewMux()
	mux.HandleMessageFunc(session.MessageRoute{}, func(context.Context, *session.Session, *stanza.Message) { got <- struct{}{} })
	bob, err := srv.Connect(ctx, jid.MustParse("bob@example.test/bench"), "pw", &session.Config{Mux: mux, KeepAlive: -1})
	require.NoError(b, err)
	defer bob.Close(ctx)
	alice, err := srv.Connect(ctx, jid.MustParse("alice@example.test/bench"), "pw", &session.Config{KeepAlive: -1})
	require.NoError(b, err)
	defer alice.Close(ctx)
	if listItems > 0 {
		activate(b, alice, listItems)
		activate(b, bob, listItems)
	}

	m := &stanza.Message{Header: stanza.Header{To: bob.Addr()}, Type: stanza.MessageChat, Body: "Hello, Bob. This is a message of ordinary length."}
	done := make(chan struct{})
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		for range b.N {
			<-got
		}
		close(done)
	}()
	for range b.N {
		if err := alice.Send(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
	<-done
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

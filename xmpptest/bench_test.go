package xmpptest_test

import (
	"context"
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
func BenchmarkMessageThroughput(b *testing.B) {
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

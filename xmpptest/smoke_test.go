package xmpptest_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/stanza"
)

func TestSmoke(t *testing.T) {
	srv := newServer(t)
	a, _ := login(t, srv, "alice", nil)
	b, bin := login(t, srv, "bob", nil)
	require.NoError(t, a.Send(ctx(t), &stanza.Message{Header: stanza.Header{To: b.Addr()}, Type: stanza.MessageChat, Body: "hi"}))
	m := bin.message(t)
	assert.Equal(t, "hi", m.Body)
	assert.Equal(t, a.Addr(), m.From)
}

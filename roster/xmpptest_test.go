package roster_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/xmpptest"
)

// newServer starts an xmpptest server with the accounts alice, bob and
// carol (password "pw").
func newServer(t *testing.T) *xmpptest.Server {
	t.Helper()
	srv := xmpptest.NewServer(t, nil)
	for _, u := range []string{"alice", "bob", "carol"} {
		_, err := srv.AddUser(u, "pw")
		require.NoError(t, err)
	}
	return srv
}

package session_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
	"github.com/parleyim/parley/xmpptest"
)

// A large reply end to end, through a real server: bob answers alice's
// request with about 3 MiB. The server's own limit is raised, since it
// reads the reply from bob; alice's session keeps its default of 1 MiB.
func TestReplyLimitThroughServer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		limit   int // for WithReplyLimit; zero: the option is not used
		wantErr bool
	}{
		{"allowed", 8 << 20, false},
		{"not allowed", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			srv := xmpptest.NewServer(t, &xmpptest.Config{MaxStanzaBytes: 16 << 20})
			alice, err := srv.AddUser("alice", "pw")
			require.NoError(t, err)
			bob, err := srv.AddUser("bob", "pw")
			require.NoError(t, err)

			query := xml.Name{Space: "urn:example:big", Local: "query"}
			var payload strings.Builder
			payload.WriteString("<query xmlns='urn:example:big'>")
			for i := 0; payload.Len() < 3<<20; i++ {
				fmt.Fprintf(&payload, "<item n='%d'>an item of a large answer</item>", i)
			}
			payload.WriteString("</query>")
			answer, err := stanza.ParseRaw([]byte(payload.String()))
			require.NoError(t, err)
			mux := session.NewMux()
			mux.HandleIQFunc(stanza.IQGet, query, func(context.Context, *session.Session, *stanza.IQ) (stanza.Payload, error) {
				return answer, nil
			})
			b, err := srv.Connect(ctx, bob, "pw", &session.Config{Mux: mux})
			require.NoError(t, err)
			defer func() { _ = b.Close(context.Background()) }()
			a, err := srv.Connect(ctx, alice, "pw", nil)
			require.NoError(t, err)
			defer func() { _ = a.Close(context.Background()) }()

			reqCtx := ctx
			if tt.limit != 0 {
				reqCtx = session.WithReplyLimit(ctx, tt.limit)
			}
			ask, err := stanza.ParseRaw([]byte("<query xmlns='urn:example:big'/>"))
			require.NoError(t, err)
			req := &stanza.IQ{Header: stanza.Header{To: b.Addr()}, Type: stanza.IQGet, Payload: ask}
			reply, err := a.SendIQ(reqCtx, req)
			if tt.wantErr {
				require.Error(t, err)
				assert.ErrorIs(t, err, session.ErrClosed)
				assert.ErrorIs(t, err, stanza.StreamPolicyViolation)
				return
			}
			require.NoError(t, err)
			require.NotNil(t, reply.Payload)
			assert.Equal(t, answer.String(), reply.Payload.(*stanza.Raw).String())
			assert.Equal(t, b.Addr(), reply.From)
			assert.NoError(t, a.Err())
		})
	}
}

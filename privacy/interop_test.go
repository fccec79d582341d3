//go:build interop

package privacy_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/testkit/xmppd"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/ping"
	"github.com/parleyim/parley/privacy"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// Accounts: privacy lists and blocking each have their own (ejabberd
// builds blocking on privacy lists, so one would see the other's lists),
// and peer is the outsider they block.
var interopUsers = map[string]string{
	"priv": "priv-secret",
	"blk":  "blk-secret",
	"peer": "peer-secret",
}

// interopClient is a session with a privacy Manager, the pushes it took
// and the messages it received.
type interopClient struct {
	mux    *session.Mux
	s      *session.Session
	m      *privacy.Manager
	push   *pushes
	msgs   chan *stanza.Message
	errors chan *stanza.Message
}

func interopLogin(t *testing.T, srv *xmppd.Server, user, resource string) *interopClient {
	t.Helper()
	mux := session.NewMux()
	c := &interopClient{mux: mux, m: privacy.Handle(mux), msgs: make(chan *stanza.Message, 16), errors: make(chan *stanza.Message, 16)}
	c.push = newPushes(c.m)
	mux.HandleMessageFunc(session.MessageRoute{}, func(_ context.Context, _ *session.Session, m *stanza.Message) {
		if m.Type == stanza.MessageError {
			c.errors <- m
			return
		}
		c.msgs <- m
	})
	c.dial(t, srv, user, resource)
	return c
}

// dial opens a new stream for c, with its Mux.
func (c *interopClient) dial(t *testing.T, srv *xmppd.Server, user, resource string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := &session.Config{Addr: srv.Addr, TLSConfig: srv.TLSConfig(), Mux: c.mux, KeepAlive: -1, Resource: resource}
	s, err := session.Dial(ctx, jid.MustParse(user+"@"+srv.Domain), srv.Users[user], cfg)
	require.NoError(t, err, "%s logs in to %s", user, srv.Kind)
	closeAtEnd(t, s)
	c.s = s
}

// send sends a chat message with body to to, then pings the server: the
// server has routed the message once the ping's answer is back.
func (c *interopClient) send(t *testing.T, to jid.JID, body string) {
	t.Helper()
	ctx := ctxT(t)
	require.NoError(t, c.s.Send(ctx, &stanza.Message{Header: stanza.Header{To: to}, Type: stanza.MessageChat, Body: body}))
	_, err := ping.Send(ctx, c.s, c.s.Addr().Domain())
	require.NoError(t, err)
}

// bounced reports a refused stanza's error that came back, if any, within
// a short wait: a server may drop a blocked stanza silently.
func (c *interopClient) bounced(t *testing.T) string {
	select {
	case m := <-c.errors:
		return fmt.Sprintf("error %v", m.Error)
	case <-time.After(time.Second):
		return "nothing"
	}
}

func TestInteropPrivacyLists(t *testing.T) {
	for _, kind := range xmppd.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			srv := xmppd.Start(t, kind, xmppd.Options{PrivacyLists: true, Users: interopUsers})
			ctx := ctxT(t)
			peerJID := jid.MustParse("peer@" + srv.Domain)
			phone := interopLogin(t, srv, "priv", "phone")
			desk := interopLogin(t, srv, "priv", "desk")
			peer := interopLogin(t, srv, "peer", "x")

			names, err := privacy.ListNames(ctx, phone.s)
			require.NoError(t, err)
			assert.Equal(t, privacy.Names{}, names, "a new account has no lists")

			// Create: pushed to the account's resources.
			list := privacy.List{Name: "no-peer", Items: []privacy.Item{
				{Type: privacy.TypeJID, Value: peerJID.String(), Action: privacy.Deny, Order: 1, Kinds: privacy.Message},
				{Type: privacy.TypeSubscription, Value: "both", Action: privacy.Allow, Order: 2, Kinds: privacy.PresenceIn},
				{Action: privacy.Allow, Order: 3},
			}}
			require.NoError(t, privacy.SetList(ctx, phone.s, list))
			assert.Equal(t, "no-peer", recv(t, desk.push.lists), "pushed to the other resource")
			assert.Equal(t, "no-peer", recv(t, phone.push.lists), "pushed to the resource that set it")

			// Get.
			got, err := privacy.GetList(ctx, desk.s, "no-peer")
			require.NoError(t, err)
			assert.Equal(t, list.Items, got.Sorted())

			// Set active: a message from peer is not delivered; once the
			// list is declined, the next one is, and it is the first.
			require.NoError(t, phone.m.SetActive(ctx, phone.s, "no-peer"))
			names, err = privacy.ListNames(ctx, phone.s)
			require.NoError(t, err)
			assert.Equal(t, "no-peer", names.Active)
			assert.Equal(t, []string{"no-peer"}, names.Lists)
			peer.send(t, phone.s.Addr(), "blocked")
			t.Logf("%s: a message to a resource whose active list denies it: %s came back", kind, peer.bounced(t))
			require.NoError(t, phone.m.DeclineActive(ctx, phone.s))
			peer.send(t, phone.s.Addr(), "allowed")
			assert.Equal(t, "allowed", recv(t, phone.msgs).Body, "the blocked message was not delivered")

			// The active list lasts one stream: desk's Manager sets it
			// again on the next.
			restored := make(chan error, 1)
			desk.m.HandleRestore(func(_ context.Context, _ *session.Session, name string, err error) { restored <- err })
			require.NoError(t, desk.m.SetActive(ctx, desk.s, "no-peer"))
			require.NoError(t, desk.s.Close(ctx))
			desk.dial(t, srv, "priv", "desk")
			require.NoError(t, recv(t, restored))
			names, err = privacy.ListNames(ctx, desk.s)
			require.NoError(t, err)
			assert.Equal(t, "no-peer", names.Active, "set again on the new stream")

			// Default list: applies to phone, which has no active list.
			// (Prosody refuses to change the default list while another
			// resource without an active list is online: desk has one.)
			require.NoError(t, privacy.SetDefault(ctx, phone.s, "no-peer"))
			names, err = privacy.ListNames(ctx, phone.s)
			require.NoError(t, err)
			assert.Equal(t, privacy.Names{Default: "no-peer", Lists: []string{"no-peer"}}, names)
			peer.send(t, phone.s.Addr(), "blocked by default")
			t.Logf("%s: a message denied by the default list: %s came back", kind, peer.bounced(t))

			// A conflict from a second resource: phone uses the default
			// list, so desk may not remove it.
			err = privacy.RemoveList(ctx, desk.s, "no-peer")
			t.Logf("%s: removing the default list another resource uses: %v", kind, err)
			require.ErrorIs(t, err, stanza.Conflict)
			var se *stanza.Error
			assert.ErrorAs(t, err, &se)

			// The fallback of BlockContact on a real server: a deny item
			// goes first in the default list, and comes out again.
			carol := jid.MustParse("carol@" + srv.Domain)
			require.NoError(t, privacy.BlockWithList(ctx, desk.s, carol))
			got, err = privacy.GetList(ctx, desk.s, "no-peer")
			require.NoError(t, err)
			want := privacy.InsertFirst(list, privacy.Item{Type: privacy.TypeJID, Value: carol.String(), Action: privacy.Deny})
			assert.Equal(t, want.Items, got.Sorted())
			require.NoError(t, privacy.UnblockWithList(ctx, desk.s, carol))
			got, err = privacy.GetList(ctx, desk.s, "no-peer")
			require.NoError(t, err)
			assert.Equal(t, want.Items[1:], got.Sorted())

			// Decline the default list and remove it, once no other
			// resource uses it. The first message phone receives since
			// the default list is the one after it.
			require.NoError(t, desk.s.Close(ctx))
			require.NoError(t, privacy.DeclineDefault(ctx, phone.s))
			peer.send(t, phone.s.Addr(), "after the default")
			assert.Equal(t, "after the default", recv(t, phone.msgs).Body, "the message denied by the default list was not delivered")
			require.NoError(t, privacy.RemoveList(ctx, phone.s, "no-peer"))
			names, err = privacy.ListNames(ctx, phone.s)
			require.NoError(t, err)
			assert.Empty(t, names.Lists)
			_, err = privacy.GetList(ctx, phone.s, "no-peer")
			assert.ErrorIs(t, err, stanza.ItemNotFound)
			assert.ErrorIs(t, phone.m.SetActive(ctx, phone.s, "no-peer"), stanza.ItemNotFound)

			// BlockWithList without a default list, while another resource
			// without an active list is online: Prosody refuses to make
			// the new list the default, and BlockWithList removes it again.
			interopLogin(t, srv, "priv", "tablet")
			err = privacy.BlockWithList(ctx, phone.s, carol)
			t.Logf("%s: BlockWithList creating the default list beside another resource: %v", kind, err)
			names, nerr := privacy.ListNames(ctx, phone.s)
			require.NoError(t, nerr)
			if err != nil {
				require.ErrorIs(t, err, stanza.Conflict)
				assert.Empty(t, names.Lists, "the list made for the default is removed")
			} else {
				assert.Equal(t, privacy.Names{Default: privacy.DefaultListName, Lists: []string{privacy.DefaultListName}}, names)
			}
		})
	}
}

func TestInteropBlocking(t *testing.T) {
	for _, kind := range xmppd.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			srv := xmppd.Start(t, kind, xmppd.Options{Users: interopUsers})
			ctx := ctxT(t)
			peerJID := jid.MustParse("peer@" + srv.Domain)
			other := jid.MustParse("someone@example.org")
			phone := interopLogin(t, srv, "blk", "phone")
			desk := interopLogin(t, srv, "blk", "desk")
			peer := interopLogin(t, srv, "peer", "x")

			// XEP-0191 pushes go to the resources that asked for the
			// blocklist (Prosody keeps to that; ejabberd pushes to all).
			for _, c := range []*interopClient{phone, desk} {
				list, err := privacy.Blocklist(ctx, c.s)
				require.NoError(t, err)
				assert.Empty(t, list)
			}

			// Block through the helper: the server announces blocking.
			require.NoError(t, privacy.BlockContact(ctx, phone.s, peerJID))
			for _, c := range []*interopClient{desk, phone} {
				assert.Equal(t, privacy.Blocking{Command: privacy.CommandBlock, JIDs: []jid.JID{peerJID}}, recv(t, c.push.blocks))
			}
			list, err := privacy.Blocklist(ctx, desk.s)
			require.NoError(t, err)
			assert.Equal(t, []jid.JID{peerJID}, list)

			peer.send(t, phone.s.Addr(), "blocked")
			t.Logf("%s: a message to a blocking account: %s came back", kind, peer.bounced(t))
			require.NoError(t, privacy.UnblockContact(ctx, desk.s, peerJID))
			for _, c := range []*interopClient{desk, phone} {
				assert.Equal(t, privacy.Blocking{Command: privacy.CommandUnblock, JIDs: []jid.JID{peerJID}}, recv(t, c.push.blocks))
			}
			peer.send(t, phone.s.Addr(), "allowed")
			assert.Equal(t, "allowed", recv(t, phone.msgs).Body, "the blocked message was not delivered")

			// Unblock all.
			require.NoError(t, privacy.Block(ctx, phone.s, peerJID, other))
			for _, c := range []*interopClient{desk, phone} {
				b := recv(t, c.push.blocks)
				assert.Equal(t, privacy.CommandBlock, b.Command)
				assert.ElementsMatch(t, []jid.JID{peerJID, other}, b.JIDs)
			}
			list, err = privacy.Blocklist(ctx, phone.s)
			require.NoError(t, err)
			assert.ElementsMatch(t, []jid.JID{peerJID, other}, list)
			require.NoError(t, privacy.UnblockAll(ctx, desk.s))
			for _, c := range []*interopClient{desk, phone} {
				b := recv(t, c.push.blocks)
				assert.Equal(t, privacy.CommandUnblock, b.Command)
				t.Logf("%s: unblock-all push names %v", kind, b.JIDs)
			}
			list, err = privacy.Blocklist(ctx, phone.s)
			require.NoError(t, err)
			assert.Empty(t, list)
		})
	}
}

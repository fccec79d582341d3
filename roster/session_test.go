package roster_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/testkit/scripted"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// Tests against a scripted server: what the client asks for, to the byte,
// and what a real server would not send.

const rosterVer = "<ver xmlns='urn:xmpp:features:rosterver'/>"

// dialScripted logs a session with mux in to a scripted peer offering
// features after authentication; fetch then runs on the peer with the
// client's roster get, before the session is ready; afterwards the peer
// leaves what the client sends to Received.
func dialScripted(t *testing.T, mux *session.Mux, features []string, fetch func(p *scripted.Peer, get *stanza.IQ)) (*session.Session, *scripted.Peer, error) {
	t.Helper()
	conn, p := scripted.Start(t, func(p *scripted.Peer) {
		p.ToBind("SCRAM-SHA-1", "PLAIN")
		p.Features(append([]string{scripted.BindFeature}, features...)...)
		p.Bind("")
		get, err := scripted.IQ(p.Expect("iq"))
		if err != nil {
			p.Fatalf("%v", err)
		}
		fetch(p, get)
		p.Serve(nil)
	})
	cfg := &session.Config{TLSConfig: scripted.ClientTLS(t), Resource: "balcony", KeepAlive: -1, Mux: mux}
	s, err := session.New(ctxT(t), conn, scripted.Account, scripted.Password, cfg)
	if err == nil {
		closeAtEnd(t, s)
	}
	return s, p, err
}

// requestXML returns the payload of an iq the client sent.
func requestXML(iq *stanza.IQ) string {
	raw, _ := iq.Raw()
	return string(iq.Type) + " " + raw.String()
}

func resultXML(id, payload string) string {
	return "<iq type='result' id='" + id + "' to='juliet@example.com/balcony'>" + payload + "</iq>"
}

const twoItems = `<query xmlns='jabber:iq:roster' ver='v1'>` +
	`<item jid='romeo@example.net' name='Romeo' subscription='both'><group>Friends</group></item>` +
	`<item jid='nurse@example.com' subscription='to' ask='subscribe'/></query>`

var (
	romeo = roster.Item{JID: jid.MustParse("romeo@example.net"), Name: "Romeo", Subscription: roster.SubscriptionBoth, Groups: []string{"Friends"}}
	nurse = roster.Item{JID: jid.MustParse("nurse@example.com"), Subscription: roster.SubscriptionTo, Ask: true}
)

// savedCache returns what Save writes for juliet's roster holding nurse
// at version ver.
func savedCache(ver string) string {
	return `<roster xmlns='urn:parleyim:roster-cache:0' account='juliet@example.com'><query xmlns='jabber:iq:roster' ver='` + ver + `'>` +
		`<item jid='nurse@example.com' subscription='to' ask='subscribe'/></query></roster>`
}

func TestStartFetch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		features []string
		saved    string // a saved cache to load first
		want     string // the request
		reply    string // the payload of the result
		after    string // sent after the result (a push)
		items    []roster.Item
		ver      string
	}{
		{
			name: "without versioning no ver", want: `get <query xmlns='jabber:iq:roster'/>`,
			reply: twoItems, items: []roster.Item{nurse, romeo}, ver: "v1",
		},
		{
			name: "versioning with nothing cached: ver=''", features: []string{rosterVer},
			want: `get <query xmlns='jabber:iq:roster' ver=''/>`, reply: twoItems, items: []roster.Item{nurse, romeo}, ver: "v1",
		},
		{
			name: "versioning with a saved cache: its ver; full result", features: []string{rosterVer}, saved: savedCache("v0"),
			want: `get <query xmlns='jabber:iq:roster' ver='v0'/>`, reply: twoItems, items: []roster.Item{nurse, romeo}, ver: "v1",
		},
		{
			name: "versioning with a saved cache: unchanged, then a push", features: []string{rosterVer}, saved: savedCache("v0"),
			want: `get <query xmlns='jabber:iq:roster' ver='v0'/>`,
			after: `<iq type='set' id='push1'><query xmlns='jabber:iq:roster' ver='v1'>` +
				`<item jid='romeo@example.net' name='Romeo' subscription='both'><group>Friends</group></item></query></iq>`,
			items: []roster.Item{nurse, romeo}, ver: "v1",
		},
		{
			name: "saved cache without versioning: no ver", saved: savedCache("v0"),
			want: `get <query xmlns='jabber:iq:roster'/>`, reply: `<query xmlns='jabber:iq:roster'/>`, ver: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux, c := newClient(func(r *roster.Roster) {
				if tt.saved != "" {
					require.NoError(t, r.Cache().Load(strings.NewReader(tt.saved)))
				}
			})
			defer c.w.Stop()
			// A hook registered after the roster sees the roster fetched
			// (where presence would send initial presence).
			var seen []roster.Item
			mux.HandleStart(func(context.Context, *session.Session, bool) { seen = c.r.Cache().Items() })
			var sent string
			_, p, err := dialScripted(t, mux, tt.features, func(p *scripted.Peer, get *stanza.IQ) {
				sent = requestXML(get)
				p.Send(resultXML(get.ID, tt.reply) + tt.after)
			})
			require.NoError(t, err)
			assert.Equal(t, tt.want, sent)
			if tt.after != "" {
				ack, err := scripted.IQ(p.Received())
				require.NoError(t, err)
				assert.Equal(t, stanza.IQResult, ack.Type, "the push is acknowledged")
				assert.Equal(t, "push1", ack.ID)
			} else {
				assert.Equal(t, tt.items, emptyNil(seen), "fetched before the later hooks ran")
			}
			assert.Equal(t, tt.items, emptyNil(c.r.Cache().Items()))
			assert.Equal(t, tt.ver, c.r.Cache().Ver())
			assert.Equal(t, scripted.Account, c.r.Cache().Account())
			assert.Equal(t, []error{nil}, c.fetchE)
		})
	}
}

func emptyNil(items []roster.Item) []roster.Item {
	if len(items) == 0 {
		return nil
	}
	return items
}

// A fetch that fails is reported to HandleFetch, leaves the cache as it
// was, and does not stop the session or the later hooks.
func TestStartFetchFails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		reply     string
		malformed bool
		is        error
	}{
		{"not a roster", resultXML("$id", `<query xmlns='jabber:iq:private'/>`), true, nil},
		{"bad item", resultXML("$id", `<query xmlns='jabber:iq:roster'><item jid='a@b' subscription='bogus'/></query>`), true, nil},
		{"item twice", resultXML("$id", `<query xmlns='jabber:iq:roster'><item jid='a@b'/><item jid='a@b'/></query>`), true, nil},
		{"remove in a result", resultXML("$id", `<query xmlns='jabber:iq:roster'><item jid='a@b' subscription='remove'/></query>`), true, nil},
		{"iq error", `<iq type='error' id='$id'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`, false, stanza.ServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux, c := newClient(func(r *roster.Roster) {
				require.NoError(t, r.Cache().Load(strings.NewReader(savedCache("v0"))))
			})
			defer c.w.Stop()
			c.w.Changes()
			later := false
			mux.HandleStart(func(context.Context, *session.Session, bool) { later = true })
			s, _, err := dialScripted(t, mux, []string{rosterVer}, func(p *scripted.Peer, get *stanza.IQ) {
				p.Send(strings.ReplaceAll(tt.reply, "$id", get.ID))
			})
			require.NoError(t, err)
			require.Len(t, c.fetchE, 1)
			ferr := c.fetchE[0]
			require.Error(t, ferr)
			if tt.malformed {
				assert.ErrorIs(t, ferr, roster.ErrMalformed)
			}
			if tt.is != nil {
				assert.ErrorIs(t, ferr, tt.is)
			}
			assert.True(t, later, "the later hooks ran")
			assert.Equal(t, []roster.Item{nurse}, c.r.Cache().Items())
			assert.Equal(t, "v0", c.r.Cache().Ver())
			assert.Nil(t, c.w.Changes())
			assert.NoError(t, s.Err(), "the session goes on")
		})
	}
}

// bigRoster returns a roster result payload with n items and the items.
func bigRoster(n int) (string, []roster.Item) {
	var b strings.Builder
	items := make([]roster.Item, n)
	b.WriteString("<query xmlns='jabber:iq:roster' ver='big'>")
	for i := range n {
		j := fmt.Sprintf("contact%05d@example.net", i)
		g := fmt.Sprintf("Group %d", i%50)
		fmt.Fprintf(&b, "<item jid='%s' name='Contact number %d' subscription='both'><group>%s</group><group>All</group></item>", j, i, g)
		items[i] = roster.Item{JID: jid.MustParse(j), Name: fmt.Sprintf("Contact number %d", i), Subscription: roster.SubscriptionBoth, Groups: []string{g, "All"}}
	}
	b.WriteString("</query>")
	return b.String(), items
}

// A roster of 20,000 contacts is over the session's 1 MiB element limit;
// the fetch allows its one reply more.
func TestBigRoster(t *testing.T) {
	t.Parallel()
	payload, items := bigRoster(20000)
	require.Greater(t, len(payload), 1<<20, "the roster is over the default limit")
	mux, c := newClient(nil)
	defer c.w.Stop()
	s, _, err := dialScripted(t, mux, []string{rosterVer}, func(p *scripted.Peer, get *stanza.IQ) {
		p.Send(resultXML(get.ID, payload))
	})
	require.NoError(t, err)
	require.Equal(t, []error{nil}, c.fetchE)
	assert.Equal(t, 20000, c.r.Cache().Len())
	assert.Len(t, c.r.Cache().Group("All"), 20000)
	assert.Len(t, c.r.Cache().Group("Group 7"), 400)
	got, ok := c.r.Cache().Item(items[12345].JID)
	require.True(t, ok)
	assert.Equal(t, items[12345], got)
	assert.NoError(t, s.Err())
}

// The allowance is for the fetch's reply only: a push as large ends the
// stream, as any element over the limit does.
func TestBigPushRefused(t *testing.T) {
	t.Parallel()
	payload, _ := bigRoster(20000)
	mux, c := newClient(nil)
	defer c.w.Stop()
	s, p, err := dialScripted(t, mux, []string{rosterVer}, func(p *scripted.Peer, get *stanza.IQ) {
		p.Send(resultXML(get.ID, twoItems))
	})
	require.NoError(t, err)
	p.Send("<iq type='set' id='big'>" + payload + "</iq>")
	<-s.Done()
	var se *stanza.StreamError
	require.ErrorAs(t, s.Err(), &se)
	assert.Equal(t, stanza.StreamPolicyViolation, se.Condition)
	assert.Equal(t, 2, c.r.Cache().Len())
}

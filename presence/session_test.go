package presence_test

import (
	"context"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/disco"
	"github.com/parleyim/parley/internal/testkit/scripted"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/presence"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// Tests against a scripted server: what the client sends, to the byte,
// and what a real server would not send.

const preApproval = "<sub xmlns='urn:xmpp:features:pre-approval'/>"

// julietRoster is the roster the scripted server returns: romeo (both),
// nurse (to), benvolio (from).
const julietRoster = `<query xmlns='jabber:iq:roster'>` +
	`<item jid='romeo@example.net' subscription='both'/>` +
	`<item jid='nurse@example.com' subscription='to'/>` +
	`<item jid='benvolio@example.net' subscription='from'/></query>`

var (
	romeo    = jid.MustParse("romeo@example.net")
	orchard  = jid.MustParse("romeo@example.net/orchard")
	nurse    = jid.MustParse("nurse@example.com")
	balcony  = jid.MustParse("juliet@example.com/balcony")
	stranger = jid.MustParse("tybalt@example.org")
)

// peer is a scripted server and what the client sent it.
type peer struct {
	*scripted.Peer
	sent chan *stanza.Raw
}

// dialScripted logs juliet in (resource balcony) to a scripted peer
// offering features, with rec's Mux; the peer answers the roster get with
// julietRoster, then hands each element the client sends to answer (when
// not nil) and keeps what answer does not take for next and marker.
func dialScripted(t *testing.T, rec *recorder, features []string, answer scripted.Handler) (*session.Session, *peer) {
	t.Helper()
	sent := make(chan *stanza.Raw, 256)
	conn, p := scripted.Start(t, func(p *scripted.Peer) {
		p.ToBind("SCRAM-SHA-1", "PLAIN")
		p.Features(append([]string{scripted.BindFeature}, features...)...)
		p.Bind("")
		get, err := scripted.IQ(p.Expect("iq"))
		if err != nil {
			p.Fatalf("%v", err)
		}
		p.Send("<iq type='result' id='" + get.ID + "' to='juliet@example.com/balcony'>" + julietRoster + "</iq>")
		p.Serve(func(p *scripted.Peer, el *stanza.Raw) bool {
			if answer != nil && answer(p, el) {
				return true
			}
			sent <- el
			return true
		})
	})
	cfg := &session.Config{TLSConfig: scripted.ClientTLS(t), Resource: "balcony", KeepAlive: -1, Mux: rec.mux}
	s, err := session.New(ctxT(t), conn, scripted.Account, scripted.Password, cfg)
	require.NoError(t, err)
	closeAtEnd(t, s)
	return s, &peer{Peer: p, sent: sent}
}

// next returns the next element the client sent (and answer left).
func (p *peer) next(t *testing.T) *stanza.Raw {
	t.Helper()
	select {
	case el := <-p.sent:
		return el
	case <-time.After(10 * time.Second):
		t.Fatal("the client sent nothing")
		return nil
	}
}

// rest waits for the peer to finish (the client has closed) and returns
// what the client sent that was not read yet.
func (p *peer) rest() []string {
	p.Wait()
	var out []string
	for {
		select {
		case el := <-p.sent:
			out = append(out, el.String())
		default:
			return out
		}
	}
}

// marker sends a message through the client's stream to mark a point in
// what it sends, and returns what the client sent before it.
func marker(t *testing.T, s *session.Session, p *peer) []string {
	t.Helper()
	require.NoError(t, s.Send(ctxT(t), &stanza.Message{Header: stanza.Header{ID: "marker"}, Body: "marker"}))
	var out []string
	for {
		el := p.next(t)
		if el.Name().Local == "message" && el.Attr("id") == "marker" {
			return out
		}
		out = append(out, el.String())
	}
}

// syncEvents has the peer send a presence from romeo/sync and waits for its
// event: everything the peer sent before has been handled.
func syncEvents(t *testing.T, rec *recorder, p *peer, status string) {
	t.Helper()
	p.Send("<presence from='romeo@example.net/sync'><status>" + status + "</status></presence>")
	rec.waitFor(t, "the sync presence", func() bool {
		for _, e := range rec.events {
			if e.Resource.JID.Resourcepart() == "sync" && e.Resource.Status == status {
				return true
			}
		}
		return false
	})
}

func TestInitialPresence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		prepare func(t *testing.T, m *presence.Manager)
		caps    bool // a Responder in the Options
		want    []string
	}{
		{
			name: "plain available by default",
			want: []string{`<presence xmlns='jabber:client'/>`},
		},
		{
			name: "what SetAvailable set before the stream",
			prepare: func(t *testing.T, m *presence.Manager) {
				require.NoError(t, m.SetAvailable(context.Background(), nil, presence.Available{
					Show: stanza.ShowAway, Status: "at the balcony", Priority: -5,
					AltStatuses: []stanza.Text{{Lang: "it", Value: "al balcone"}},
				}))
			},
			want: []string{`<presence xmlns='jabber:client'><show>away</show><status>at the balcony</status>` +
				`<status xml:lang='it'>al balcone</status><priority>-5</priority></presence>`},
		},
		{
			name: "none after SetUnavailable",
			prepare: func(t *testing.T, m *presence.Manager) {
				require.NoError(t, m.SetUnavailable(context.Background(), nil, "gone"))
			},
			want: nil,
		},
		{name: "with the client's caps", caps: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux := session.NewMux()
			var resp *disco.Responder
			opts := &presence.Options{}
			if tt.caps {
				resp = disco.Handle(mux)
				opts.Responder = resp
			}
			rec := newRecorderOn(mux, opts, nil)
			if tt.prepare != nil {
				tt.prepare(t, rec.m)
			}
			s, p := dialScripted(t, rec, nil, nil)
			want := tt.want
			if tt.caps {
				c, err := resp.Caps()
				require.NoError(t, err)
				want = []string{`<presence xmlns='jabber:client'><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='` +
					c.Node + `' ver='` + c.Ver + `'/></presence>`}
			}
			assert.Equal(t, want, marker(t, s, p), "after the roster get (which the peer answered first)")
		})
	}
}

func TestSetAvailable(t *testing.T) {
	t.Parallel()
	rec := newRecorder(nil, nil)
	s, p := dialScripted(t, rec, nil, nil)
	marker(t, s, p)

	tests := []struct {
		name string
		a    presence.Available
		want string // "" for invalid
	}{
		{"dnd with priority 127", presence.Available{Show: stanza.ShowDND, Priority: 127},
			`<presence xmlns='jabber:client'><show>dnd</show><priority>127</priority></presence>`},
		{"chat, -128", presence.Available{Show: stanza.ShowChat, Priority: -128},
			`<presence xmlns='jabber:client'><show>chat</show><priority>-128</priority></presence>`},
		{"xa with statuses", presence.Available{Show: stanza.ShowXA, Status: "zzz", AltStatuses: []stanza.Text{{Lang: "de", Value: "Schlaf"}, {Lang: "fr", Value: "dodo"}}},
			`<presence xmlns='jabber:client'><show>xa</show><status>zzz</status><status xml:lang='de'>Schlaf</status><status xml:lang='fr'>dodo</status></presence>`},
		{"priority 128", presence.Available{Priority: 128}, ""},
		{"priority -129", presence.Available{Priority: -129}, ""},
		{"unknown show", presence.Available{Show: "busy"}, ""},
		{"alternative status without a language", presence.Available{AltStatuses: []stanza.Text{{Value: "x"}}}, ""},
		{"two statuses in one language", presence.Available{AltStatuses: []stanza.Text{{Lang: "de", Value: "a"}, {Lang: "DE", Value: "b"}}}, ""},
		{"a character XML cannot carry", presence.Available{Status: "bell \a"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := rec.m.Current()
			err := rec.m.SetAvailable(ctxT(t), s, tt.a)
			if tt.want == "" {
				require.Error(t, err)
				assert.ErrorIs(t, err, presence.ErrInvalid)
				assert.True(t, strings.HasPrefix(err.Error(), "presence: "), err.Error())
				after, _ := rec.m.Current()
				assert.Equal(t, before, after, "nothing changed")
				assert.Empty(t, marker(t, s, p), "nothing sent")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, []string{tt.want}, marker(t, s, p))
			cur, available := rec.m.Current()
			assert.True(t, available)
			assert.Equal(t, tt.a, cur)
		})
	}
}

// Directed presence is remembered until its end: EndDirected ends one,
// Close the rest before the broadcast unavailable presence.
func TestDirectedPresenceEndsAtClose(t *testing.T) {
	t.Parallel()
	rec := newRecorder(nil, nil)
	s, p := dialScripted(t, rec, nil, nil)
	marker(t, s, p)
	ctx := ctxT(t)
	service := jid.MustParse("service.example.net")
	require.NoError(t, rec.m.SendDirected(ctx, s, orchard, presence.Available{Status: "psst"}))
	require.NoError(t, rec.m.SendDirected(ctx, s, service, presence.Available{}))
	require.NoError(t, rec.m.SendDirected(ctx, s, nurse, presence.Available{}))
	assert.ErrorIs(t, rec.m.SendDirected(ctx, s, jid.JID{}, presence.Available{}), presence.ErrInvalid)
	assert.ErrorIs(t, rec.m.SendDirected(ctx, s, nurse, presence.Available{Priority: 1000}), presence.ErrInvalid)
	assert.Equal(t, []jid.JID{nurse, orchard, service}, rec.m.Directed())
	require.NoError(t, rec.m.EndDirected(ctx, s, nurse))
	assert.Equal(t, []jid.JID{orchard, service}, rec.m.Directed())
	assert.Equal(t, []string{
		`<presence xmlns='jabber:client' to='romeo@example.net/orchard'><status>psst</status></presence>`,
		`<presence xmlns='jabber:client' to='service.example.net'/>`,
		`<presence xmlns='jabber:client' to='nurse@example.com'/>`,
		`<presence xmlns='jabber:client' to='nurse@example.com' type='unavailable'/>`,
	}, marker(t, s, p))

	require.NoError(t, s.Close(ctx))
	assert.Equal(t, []string{
		`<presence xmlns='jabber:client' to='romeo@example.net/orchard' type='unavailable'/>`,
		`<presence xmlns='jabber:client' to='service.example.net' type='unavailable'/>`,
		`<presence xmlns='jabber:client' type='unavailable'/>`,
	}, p.rest(), "the directed ones, then the broadcast one")
	assert.Empty(t, rec.m.Directed())
}

// SetUnavailable sends unavailable presence to the server and to the
// directed entities; Close then sends nothing more.
func TestSetUnavailable(t *testing.T) {
	t.Parallel()
	rec := newRecorder(nil, nil)
	s, p := dialScripted(t, rec, nil, nil)
	marker(t, s, p)
	ctx := ctxT(t)
	require.NoError(t, rec.m.SendDirected(ctx, s, orchard, presence.Available{}))
	require.NoError(t, rec.m.SetUnavailable(ctx, s, "bye"))
	_, available := rec.m.Current()
	assert.False(t, available)
	assert.Empty(t, rec.m.Directed())
	assert.Equal(t, []string{
		`<presence xmlns='jabber:client' to='romeo@example.net/orchard'/>`,
		`<presence xmlns='jabber:client' type='unavailable'><status>bye</status></presence>`,
		`<presence xmlns='jabber:client' to='romeo@example.net/orchard' type='unavailable'><status>bye</status></presence>`,
	}, marker(t, s, p))
	require.NoError(t, s.Close(ctx))
	assert.Empty(t, p.rest(), "nothing more at Close")
}

func TestSubscriptionStanzas(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		features []string
		do       func(ctx context.Context, m *presence.Manager, s session.Sender) error
		want     string // "" for an error
		is       error
	}{
		{"subscribe to a full JID goes to the bare JID", nil, func(ctx context.Context, m *presence.Manager, s session.Sender) error {
			return m.Subscribe(ctx, s, orchard)
		}, `<presence xmlns='jabber:client' to='romeo@example.net' type='subscribe'/>`, nil},
		{"approve", nil, func(ctx context.Context, m *presence.Manager, s session.Sender) error {
			return m.Approve(ctx, s, orchard)
		}, `<presence xmlns='jabber:client' to='romeo@example.net' type='subscribed'/>`, nil},
		{"deny", nil, func(ctx context.Context, m *presence.Manager, s session.Sender) error {
			return m.Deny(ctx, s, romeo)
		}, `<presence xmlns='jabber:client' to='romeo@example.net' type='unsubscribed'/>`, nil},
		{"cancel", nil, func(ctx context.Context, m *presence.Manager, s session.Sender) error {
			return m.Cancel(ctx, s, orchard)
		}, `<presence xmlns='jabber:client' to='romeo@example.net' type='unsubscribed'/>`, nil},
		{"unsubscribe", nil, func(ctx context.Context, m *presence.Manager, s session.Sender) error {
			return m.Unsubscribe(ctx, s, orchard)
		}, `<presence xmlns='jabber:client' to='romeo@example.net' type='unsubscribe'/>`, nil},
		{"pre-approve where offered", []string{preApproval}, func(ctx context.Context, m *presence.Manager, s session.Sender) error {
			return m.PreApprove(ctx, s, jid.MustParse("paris@example.org/court"))
		}, `<presence xmlns='jabber:client' to='paris@example.org' type='subscribed'/>`, nil},
		{"pre-approve where not offered", nil, func(ctx context.Context, m *presence.Manager, s session.Sender) error {
			return m.PreApprove(ctx, s, jid.MustParse("paris@example.org"))
		}, "", presence.ErrNoPreApproval},
		{"subscribe to nobody", nil, func(ctx context.Context, m *presence.Manager, s session.Sender) error {
			return m.Subscribe(ctx, s, jid.JID{})
		}, "", presence.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := newRecorder(nil, nil)
			s, p := dialScripted(t, rec, tt.features, nil)
			marker(t, s, p)
			err := tt.do(ctxT(t), rec.m, s)
			if tt.want == "" {
				require.Error(t, err)
				assert.ErrorIs(t, err, tt.is)
				assert.True(t, strings.HasPrefix(err.Error(), "presence: "), err.Error())
				assert.Empty(t, marker(t, s, p), "nothing sent")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, []string{tt.want}, marker(t, s, p))
		})
	}
}

// Incoming subscription requests: decided by the callbacks in order,
// pending when undecided and answerable later; subscription stanzas from
// a full JID count as from the bare JID; the account's own are ignored.
func TestIncomingRequests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		decision presence.Decision
		sent     []string
		pending  int
	}{
		{"approve", presence.Approve, []string{`<presence xmlns='jabber:client' to='romeo@example.net' type='subscribed'/>`}, 0},
		{"deny", presence.Deny, []string{`<presence xmlns='jabber:client' to='romeo@example.net' type='unsubscribed'/>`}, 0},
		{"undecided", presence.Undecided, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := newRecorder(nil, func(presence.Request) presence.Decision { return presence.Undecided })
			var third bool
			rec.m.HandleRequest(func(context.Context, *session.Session, presence.Request) presence.Decision { return tt.decision })
			rec.m.HandleRequest(func(context.Context, *session.Session, presence.Request) presence.Decision {
				third = true
				return presence.Undecided
			})
			s, p := dialScripted(t, rec, nil, nil)
			marker(t, s, p)
			p.Send("<presence from='romeo@example.net/orchard' type='subscribe'><status>let me in</status><status xml:lang='it'>fammi entrare</status></presence>")
			p.Send("<presence from='juliet@example.com/balcony' type='subscribe'/>") // from the account: ignored
			syncEvents(t, rec, p, "1")
			rec.mu.Lock()
			require.Len(t, rec.requests, 1)
			req := rec.requests[0]
			rec.mu.Unlock()
			assert.Equal(t, romeo, req.From)
			assert.Equal(t, "let me in", req.Status)
			assert.Equal(t, []stanza.Text{{Lang: "it", Value: "fammi entrare"}}, req.AltStatuses)
			assert.False(t, req.Received.IsZero())
			assert.Equal(t, tt.sent, marker(t, s, p))
			assert.Equal(t, tt.decision == presence.Undecided, third, "callbacks run until one decides")
			require.Len(t, rec.m.Pending(), tt.pending)
			if tt.pending == 0 {
				return
			}
			assert.Equal(t, romeo, rec.m.Pending()[0].From)

			// Decided later, after the callbacks returned.
			require.NoError(t, rec.m.Approve(ctxT(t), s, romeo))
			assert.Empty(t, rec.m.Pending())
			assert.Equal(t, []string{`<presence xmlns='jabber:client' to='romeo@example.net' type='subscribed'/>`}, marker(t, s, p))
		})
	}
}

// A pending request is dropped when the contact withdraws it, when the
// roster shows it answered elsewhere, and the oldest when too many wait;
// a pending request may be approved without pre-approval.
func TestPendingRequests(t *testing.T) {
	t.Parallel()
	rec := newRecorder(&presence.Options{MaxPending: 3}, nil)
	s, p := dialScripted(t, rec, nil, nil)
	marker(t, s, p)
	for _, from := range []string{"a@example.org", "b@example.org", "c@example.org", "d@example.org", "e@example.org"} {
		p.Send("<presence type='subscribe' from='" + from + "'/>")
	}
	syncEvents(t, rec, p, "1")
	pendingFrom := func() []string {
		var out []string
		for _, r := range rec.m.Pending() {
			out = append(out, r.From.String())
		}
		return out
	}
	assert.Equal(t, []string{"c@example.org", "d@example.org", "e@example.org"}, pendingFrom(), "the oldest went")

	p.Send("<presence type='unsubscribe' from='c@example.org/x'/>")
	p.Send("<iq type='set' id='push1'><query xmlns='jabber:iq:roster'><item jid='d@example.org' subscription='from'/></query></iq>")
	syncEvents(t, rec, p, "2")
	assert.Equal(t, []string{"e@example.org"}, pendingFrom())
	rec.mu.Lock()
	assert.Equal(t, []presence.Change{{From: jid.MustParse("c@example.org"), Type: stanza.PresenceUnsubscribe}}, rec.changes)
	rec.mu.Unlock()

	require.NoError(t, rec.m.PreApprove(ctxT(t), s, jid.MustParse("e@example.org")), "pending: an approval")
	assert.Empty(t, pendingFrom())
	sent := marker(t, s, p)
	assert.Contains(t, sent, `<presence xmlns='jabber:client' to='e@example.org' type='subscribed'/>`)
}

// Subscription changes from contacts reach HandleChange; unsubscribed
// takes the contact offline.
func TestIncomingChanges(t *testing.T) {
	t.Parallel()
	rec := newRecorder(nil, nil)
	s, p := dialScripted(t, rec, nil, nil)
	marker(t, s, p)
	p.Send("<presence from='nurse@example.com/kitchen'/>")
	p.Send("<presence from='nurse@example.com' type='subscribed'/>")
	p.Send("<presence from='nurse@example.com/kitchen' type='unsubscribed'/>")
	p.Send("<presence from='romeo@example.net' type='unsubscribe'/>")
	p.Send("<presence from='juliet@example.com' type='unsubscribed'/>") // the account's own: ignored
	syncEvents(t, rec, p, "1")
	rec.mu.Lock()
	assert.Equal(t, []presence.Change{
		{From: nurse, Type: stanza.PresenceSubscribed},
		{From: nurse, Type: stanza.PresenceUnsubscribed},
		{From: romeo, Type: stanza.PresenceUnsubscribe},
	}, rec.changes)
	rec.mu.Unlock()
	assert.Equal(t, []string{"online nurse@example.com/kitchen /0/", "offline nurse@example.com/kitchen /0/", "online romeo@example.net/sync /0/1"}, rec.eventList())
	_, ok := rec.m.Tracker().Best(nurse)
	assert.False(t, ok)
}

// Broadcasts from contacts and from the account's own resources are
// tracked; hostile and broken presence is ignored or answered, never
// tracked wrongly.
func TestBroadcastsAndHostileInput(t *testing.T) {
	t.Parallel()
	rec := newRecorder(&presence.Options{MaxResources: 2}, nil)
	s, p := dialScripted(t, rec, nil, nil)
	marker(t, s, p)
	p.Send("<presence from='juliet@example.com/balcony'/>") // the server's echo of ours
	p.Send("<presence from='juliet@example.com/phone'><priority>3</priority></presence>")
	p.Send("<presence from='romeo@example.net/orchard'><show>chat</show><priority>1</priority></presence>")
	p.Send("<presence from='tybalt@example.org/street'/>")                                                        // not a contact
	p.Send("<presence from='romeo@example.net/mask'><x xmlns='http://jabber.org/protocol/muc#user'/></presence>") // group chat
	p.Send("<presence from='romeo@example.net/bad'><priority>300</priority></presence>")                          // out of range
	p.Send("<presence from='romeo@example.net/odd'><show>sleeping</show></presence>")                             // unknown show
	p.Send("<presence from='romeo@example.net/third'/>")                                                          // over the cap
	p.Send("<presence><show>away</show></presence>")                                                              // no from
	p.Send("<presence from='romeo@example.net/orchard' type='probe'/>")                                           // clients do not answer probes
	p.Send("<presence from='nurse@example.com/kitchen' type='error'><error type='cancel'><remote-server-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>")
	p.Send("<presence from='romeo@example.net/odd' type='unavailable'><status>off</status></presence>")
	p.Send("<presence from='romeo@example.net/sync'/>")
	got := rec.waitEvents(t, 6)
	assert.Equal(t, []string{
		"online juliet@example.com/balcony /0/",
		"online juliet@example.com/phone /3/",
		"online romeo@example.net/orchard chat/1/",
		"online romeo@example.net/odd /0/",
		"offline romeo@example.net/odd /0/off",
		"online romeo@example.net/sync /0/",
	}, got)
	rec.mu.Lock()
	assert.Equal(t, []string{"nurse@example.com/kitchen remote-server-not-found"}, rec.errs)
	rec.mu.Unlock()

	tr := rec.m.Tracker()
	best, ok := tr.Best(balcony)
	require.True(t, ok)
	assert.Equal(t, "phone", best.JID.Resourcepart(), "the account's own resources are tracked")
	_, ok = tr.Best(stranger)
	assert.False(t, ok, "not a contact: not tracked")
	assert.Len(t, tr.Resources(romeo), 2, "at most two per contact")
	assert.Equal(t, 4, tr.Len())

	// The out-of-range priority was answered bad-request by the session
	// (from a goroutine of its own), and nothing else was sent.
	answer := p.next(t).String()
	assert.Contains(t, answer, "to='romeo@example.net/bad' type='error'")
	assert.Contains(t, answer, "<bad-request")
	assert.Empty(t, marker(t, s, p))
}

// A roster push that removes a contact takes it offline and out of the
// tracker; a later presence from it is not tracked.
// A push that removes a contact, or ends the account's subscription to
// its presence, untracks it: its presence no longer comes (and Prosody
// sends no unavailable presence when the account unsubscribes). A push
// that keeps the subscription keeps it tracked.
func TestRosterPushUntracks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		item    string
		tracked bool
	}{
		{name: "removed", item: "subscription='remove'"},
		{name: "unsubscribed: from", item: "subscription='from'"},
		{name: "unsubscribed: none", item: "subscription='none'"},
		{name: "none with a new request", item: "subscription='none' ask='subscribe'"},
		{name: "still to", item: "subscription='to' name='Nurse'", tracked: true},
		{name: "both", item: "subscription='both'", tracked: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := newRecorder(nil, nil)
			s, p := dialScripted(t, rec, nil, nil)
			marker(t, s, p)
			p.Send("<presence from='nurse@example.com/kitchen'/>")
			rec.waitEvents(t, 1)
			p.Send("<iq type='set' id='push1'><query xmlns='jabber:iq:roster'><item jid='nurse@example.com' " + tt.item + "/></query></iq>")
			syncEvents(t, rec, p, "1")
			want := []string{"online nurse@example.com/kitchen /0/", "offline nurse@example.com/kitchen /0/", "online romeo@example.net/sync /0/1"}
			if tt.tracked {
				want = slices.Delete(want, 1, 2)
			}
			assert.Equal(t, want, rec.eventList())
			_, online := rec.m.Tracker().Resource(jid.MustParse("nurse@example.com/kitchen"))
			assert.Equal(t, tt.tracked, online)
		})
	}
}

// capsInfo returns a disco#info that only the contact with the given name
// announces, and its caps.
func capsInfo(t *testing.T, name string) (*disco.Info, disco.Caps) {
	t.Helper()
	info := &disco.Info{
		Identities: []disco.Identity{{Category: "client", Type: "pc", Name: name}},
		Features:   []string{disco.NSInfo, disco.NSCaps, "urn:xmpp:ping"},
	}
	ver, err := disco.Ver(info, disco.DefaultHash)
	require.NoError(t, err)
	return info, disco.Caps{Hash: disco.DefaultHash, Node: "https://example.net/" + name, Ver: ver}
}

func capsPresence(t *testing.T, from string, c disco.Caps) string {
	return "<presence from='" + from + "'>" + render(t, c) + "</presence>"
}

// Caps in broadcasts are looked up on goroutines of their own, at most
// CapsLookups at a time: the handlers go on while the lookups wait, and
// what is verified reaches the cache; a lie does not.
func TestCapsResolvedOutsideTheHandlers(t *testing.T) {
	t.Parallel()
	queries := make(chan *stanza.IQ, 16)
	cache := disco.NewCache(0)
	rec := newRecorder(&presence.Options{Caps: cache, CapsLookups: 2}, nil)
	s, p := dialScripted(t, rec, nil, func(_ *scripted.Peer, el *stanza.Raw) bool {
		if el.Name().Local != "iq" {
			return false
		}
		iq, err := scripted.IQ(el)
		require.NoError(t, err)
		queries <- iq
		return true
	})
	marker(t, s, p)
	infos := map[string]*disco.Info{}
	caps := map[string]disco.Caps{}
	for _, r := range []string{"r1", "r2", "r3", "r4", "r5"} {
		infos[r], caps[r] = capsInfo(t, r)
		p.Send(capsPresence(t, "romeo@example.net/"+r, caps[r]))
	}
	p.Send(capsPresence(t, "romeo@example.net/r6", caps["r1"])) // the same caps as r1
	syncEvents(t, rec, p, "1")
	assert.Len(t, rec.eventList(), 7, "every broadcast handled while no lookup is answered")

	// Two lookups at a time.
	var asked []*stanza.IQ
	for range 2 {
		select {
		case q := <-queries:
			asked = append(asked, q)
		case <-time.After(10 * time.Second):
			t.Fatal("no caps lookup")
		}
	}
	select {
	case q := <-queries:
		t.Fatalf("a third lookup while two wait: %v", q.To)
	case <-time.After(100 * time.Millisecond):
	}

	// Answer each lookup as it comes (r3 lies); the others follow.
	answered := map[string]bool{}
	for len(answered) < 5 {
		var q *stanza.IQ
		if len(asked) > 0 {
			q, asked = asked[0], asked[1:]
		} else {
			select {
			case q = <-queries:
			case <-time.After(10 * time.Second):
				t.Fatalf("lookups answered: %v", answered)
			}
		}
		r := q.To.Resourcepart()
		require.False(t, answered[r], "%s asked twice", r)
		answered[r] = true
		info := infos[r].Clone()
		if r == "r3" {
			info.Features = append(info.Features, "urn:example:lie")
		}
		info.Node = caps[r].NodeVer()
		p.Send("<iq type='result' id='" + q.ID + "' from='" + q.To.String() + "'>" + render(t, info) + "</iq>")
	}
	require.Eventually(t, func() bool { return cache.Len() == 4 }, 10*time.Second, 5*time.Millisecond, "four verified")
	for _, r := range []string{"r1", "r2", "r4", "r5", "r6"} {
		got, ok := rec.m.Info(jid.MustParse("romeo@example.net/" + r))
		require.True(t, ok, r)
		want := infos[r]
		if r == "r6" {
			want = infos["r1"]
		}
		assert.Equal(t, want.Identities, got.Identities, r)
	}
	_, ok := rec.m.Info(jid.MustParse("romeo@example.net/r3"))
	assert.False(t, ok, "a lie is not believed")
	_, ok = rec.m.Info(jid.MustParse("romeo@example.net/sync"))
	assert.False(t, ok, "no caps announced")
	select {
	case q := <-queries:
		t.Fatalf("an extra lookup: %v", q.To)
	default:
	}
}

// Close while caps lookups wait for answers that never come: the lookups
// end with the stream, and no goroutine of theirs outlives Close. (Not
// parallel: it counts goroutines.)
func TestCapsLookupsEndWithTheStream(t *testing.T) {
	rec := newRecorder(&presence.Options{Caps: disco.NewCache(0), CapsLookups: 3}, nil)
	queries := make(chan struct{}, 16)
	s, p := dialScripted(t, rec, nil, func(_ *scripted.Peer, el *stanza.Raw) bool {
		if el.Name().Local != "iq" {
			return false
		}
		queries <- struct{}{}
		return true // and never answered
	})
	marker(t, s, p)
	for _, r := range []string{"r1", "r2", "r3", "r4"} {
		_, c := capsInfo(t, r)
		p.Send(capsPresence(t, "romeo@example.net/"+r, c))
	}
	for range 3 {
		select {
		case <-queries:
		case <-time.After(10 * time.Second):
			t.Fatal("no caps lookup")
		}
	}
	require.Equal(t, 3, lookupGoroutines(), "three lookups wait")
	require.NoError(t, s.Close(ctxT(t)))
	assert.Zero(t, lookupGoroutines(), "none outlives Close")
}

// lookupGoroutines counts the goroutines running caps lookups.
func lookupGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "presence.(*stream).work")
}

// The same Mux on a new stream after Close: the tracker starts empty (what
// it held is reported offline), the directed presence Close ended is not
// sent again, and initial presence is what the application last set.
func TestNewStream(t *testing.T) {
	t.Parallel()
	rec := newRecorder(nil, nil)
	s, p := dialScripted(t, rec, nil, nil)
	marker(t, s, p)
	p.Send("<presence from='romeo@example.net/orchard'/>")
	rec.waitEvents(t, 1)
	ctx := ctxT(t)
	require.NoError(t, rec.m.SetAvailable(ctx, s, presence.Available{Show: stanza.ShowXA, Status: "asleep"}))
	require.NoError(t, rec.m.SendDirected(ctx, s, nurse, presence.Available{}))
	p.Send("<presence type='subscribe' from='paris@example.org'/>")
	rec.waitFor(t, "the request", func() bool { return len(rec.requests) == 1 })
	require.NoError(t, s.Close(ctx))

	s2, p2 := dialScripted(t, rec, nil, nil)
	assert.Equal(t, []string{`<presence xmlns='jabber:client'><show>xa</show><status>asleep</status></presence>`}, marker(t, s2, p2))
	assert.Equal(t, []string{"online romeo@example.net/orchard /0/", "offline romeo@example.net/orchard /0/"}, rec.eventList())
	assert.Zero(t, rec.m.Tracker().Len())
	assert.Empty(t, rec.m.Directed())
	assert.Empty(t, rec.m.Pending(), "the server delivers pending requests again")
	assert.Equal(t, scripted.Account, rec.m.Tracker().Account())
}

package privacy_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/testkit/scripted"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/privacy"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// Tests against a scripted server: what the client asks for, to the byte,
// and what a real server would not send.

// server answers the iq gets and sets a client sends to a scripted peer
// and records them as "type payload".
type server struct {
	// answer returns the reply's payload to a request ("" for none), or
	// "error:condition" for an iq error.
	answer func(req string) string

	mu   sync.Mutex
	reqs []string
}

// setAnswer replaces answer while the peer serves.
func (sv *server) setAnswer(f func(string) string) {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	sv.answer = f
}

func (sv *server) requests() []string {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	return append([]string(nil), sv.reqs...)
}

// handle is the peer's Handler: it takes the client's iq gets and sets and
// leaves everything else (the answers to pushes) to Received.
func (sv *server) handle(p *scripted.Peer, el *stanza.Raw) bool {
	if el.Name().Local != "iq" {
		return false
	}
	iq, err := scripted.IQ(el)
	if err != nil || (iq.Type != stanza.IQGet && iq.Type != stanza.IQSet) {
		return false
	}
	raw, _ := iq.Raw()
	req := string(iq.Type) + " " + raw.String()
	sv.mu.Lock()
	sv.reqs = append(sv.reqs, req)
	answer := sv.answer
	sv.mu.Unlock()
	reply := ""
	if answer != nil {
		reply = answer(req)
	}
	from := ""
	if !iq.To.IsZero() {
		from = " from='" + iq.To.String() + "'"
	}
	if cond, ok := strings.CutPrefix(reply, "error:"); ok {
		p.Send("<iq type='error' id='" + iq.ID + "'" + from + "><error type='cancel'><" + cond + " xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>")
		return true
	}
	p.Send("<iq type='result' id='" + iq.ID + "'" + from + ">" + reply + "</iq>")
	return true
}

// dial logs a session with mux in to a scripted peer served by sv.
func dial(t *testing.T, mux *session.Mux, sv *server) (*session.Session, *scripted.Peer) {
	t.Helper()
	conn, p := scripted.Start(t, func(p *scripted.Peer) {
		p.Login()
		p.Serve(sv.handle)
	})
	if mux == nil {
		mux = session.NewMux()
	}
	cfg := &session.Config{TLSConfig: scripted.ClientTLS(t), Resource: "balcony", KeepAlive: -1, Mux: mux}
	s, err := session.New(ctxT(t), conn, scripted.Account, scripted.Password, cfg)
	require.NoError(t, err)
	closeAtEnd(t, s)
	return s, p
}

// answers maps requests to replies; an unknown request gets an empty
// result.
func answers(m map[string]string) func(string) string {
	return func(req string) string { return m[req] }
}

const (
	q      = `<query xmlns='jabber:iq:privacy'>`
	qEnd   = `</query>`
	names3 = q + `<active name='private'/><default name='public'/><list name='public'/><list name='private'/><list name='special'/>` + qEnd
)

var (
	romeo   = jid.MustParse("romeo@example.net")
	tybalt  = jid.MustParse("tybalt@example.com")
	special = privacy.List{Name: "special", Items: []privacy.Item{
		{Type: privacy.TypeJID, Value: "juliet@example.com", Action: privacy.Allow, Order: 6},
		{Type: privacy.TypeGroup, Value: "Friends", Action: privacy.Allow, Order: 7, Kinds: privacy.Message},
		{Type: privacy.TypeSubscription, Value: "none", Action: privacy.Deny, Order: 8, Kinds: privacy.PresenceIn | privacy.IQ},
		{Action: privacy.Deny, Order: 42},
	}}
	specialXML = `<list name='special'><item type='jid' value='juliet@example.com' action='allow' order='6'/>` +
		`<item type='group' value='Friends' action='allow' order='7'><message/></item>` +
		`<item type='subscription' value='none' action='deny' order='8'><iq/><presence-in/></item>` +
		`<item action='deny' order='42'/></list>`
)

func TestRequests(t *testing.T) {
	t.Parallel()
	sv := &server{answer: answers(map[string]string{
		"get " + q[:len(q)-1] + "/>":                 names3,
		"get " + q + "<list name='special'/>" + qEnd: q + specialXML + qEnd,
		"get <blocklist xmlns='urn:xmpp:blocking'/>": `<blocklist xmlns='urn:xmpp:blocking'><item jid='romeo@example.net'/><item jid='example.org'/></blocklist>`,
	})}
	s, _ := dial(t, nil, sv)
	ctx := ctxT(t)

	names, err := privacy.ListNames(ctx, s)
	require.NoError(t, err)
	assert.Equal(t, privacy.Names{Active: "private", Default: "public", Lists: []string{"public", "private", "special"}}, names)

	l, err := privacy.GetList(ctx, s, "special")
	require.NoError(t, err)
	assert.Equal(t, special, l)

	require.NoError(t, privacy.SetList(ctx, s, special))
	require.NoError(t, privacy.RemoveList(ctx, s, "old"))
	require.NoError(t, privacy.SetActive(ctx, s, "special"))
	require.NoError(t, privacy.DeclineActive(ctx, s))
	require.NoError(t, privacy.SetDefault(ctx, s, "public"))
	require.NoError(t, privacy.DeclineDefault(ctx, s))

	blocked, err := privacy.Blocklist(ctx, s)
	require.NoError(t, err)
	assert.Equal(t, []jid.JID{romeo, jid.MustParse("example.org")}, blocked)
	require.NoError(t, privacy.Block(ctx, s, romeo, tybalt))
	require.NoError(t, privacy.Unblock(ctx, s, romeo))
	require.NoError(t, privacy.UnblockAll(ctx, s))

	assert.Equal(t, []string{
		"get " + q[:len(q)-1] + "/>",
		"get " + q + "<list name='special'/>" + qEnd,
		"set " + q + specialXML + qEnd,
		"set " + q + "<list name='old'/>" + qEnd,
		"set " + q + "<active name='special'/>" + qEnd,
		"set " + q + "<active/>" + qEnd,
		"set " + q + "<default name='public'/>" + qEnd,
		"set " + q + "<default/>" + qEnd,
		"get <blocklist xmlns='urn:xmpp:blocking'/>",
		"set <block xmlns='urn:xmpp:blocking'><item jid='romeo@example.net'/><item jid='tybalt@example.com'/></block>",
		"set <unblock xmlns='urn:xmpp:blocking'><item jid='romeo@example.net'/></unblock>",
		"set <unblock xmlns='urn:xmpp:blocking'/>",
	}, sv.requests())
}

// What breaks a rule is refused before anything is sent.
func TestValidationSendsNothing(t *testing.T) {
	t.Parallel()
	sv := &server{}
	s, _ := dial(t, nil, sv)
	ctx := ctxT(t)
	item := func(it privacy.Item) privacy.List { return privacy.List{Name: "l", Items: []privacy.Item{it}} }
	tests := []struct {
		name string
		call func() error
		msg  string
	}{
		{"duplicate orders", func() error {
			return privacy.SetList(ctx, s, privacy.List{Name: "l", Items: []privacy.Item{{Order: 1}, {Action: privacy.Deny, Order: 1}}})
		}, "order 1 twice"},
		{"subscription remove", func() error {
			return privacy.SetList(ctx, s, item(privacy.Item{Type: privacy.TypeSubscription, Value: "remove"}))
		}, `subscription "remove"`},
		{"jid that does not parse", func() error {
			return privacy.SetList(ctx, s, item(privacy.Item{Type: privacy.TypeJID, Value: "a@b@c"}))
		}, `jid "a@b@c"`},
		{"empty group", func() error {
			return privacy.SetList(ctx, s, item(privacy.Item{Type: privacy.TypeGroup}))
		}, "empty group"},
		{"type out of range", func() error {
			return privacy.SetList(ctx, s, item(privacy.Item{Type: 7}))
		}, "type 7"},
		{"list without a name", func() error {
			return privacy.SetList(ctx, s, privacy.List{Items: []privacy.Item{{}}})
		}, "without a name"},
		{"list without items", func() error {
			return privacy.SetList(ctx, s, privacy.List{Name: "l"})
		}, "without items"},
		{"get without a name", func() error { _, err := privacy.GetList(ctx, s, ""); return err }, "without a name"},
		{"remove without a name", func() error { return privacy.RemoveList(ctx, s, "") }, "without a name"},
		{"active without a name", func() error { return privacy.SetActive(ctx, s, "") }, "without a name"},
		{"default without a name", func() error { return privacy.SetDefault(ctx, s, "") }, "without a name"},
		{"block nothing", func() error { return privacy.Block(ctx, s) }, "block without a JID"},
		{"block the zero JID", func() error { return privacy.Block(ctx, s, romeo, jid.JID{}) }, "zero JID"},
		{"unblock nothing", func() error { return privacy.Unblock(ctx, s) }, "unblock without a JID"},
		{"block contact zero", func() error { return privacy.BlockWithList(ctx, s, jid.JID{}) }, "zero JID"},
		{"unblock contact zero", func() error { return privacy.UnblockWithList(ctx, s, jid.JID{}) }, "zero JID"},
	}
	for _, tt := range tests {
		err := tt.call()
		require.ErrorIs(t, err, privacy.ErrInvalid, tt.name)
		assert.ErrorContains(t, err, tt.msg, tt.name)
	}
	// A request that is sent, to be sure the ones before would have been
	// seen.
	require.NoError(t, privacy.DeclineActive(ctx, s))
	assert.Equal(t, []string{"set " + q + "<active/>" + qEnd}, sv.requests())
}

// The server's errors come back as *stanza.Error; malformed results as
// ErrMalformed.
func TestServerErrors(t *testing.T) {
	t.Parallel()
	sv := &server{answer: answers(map[string]string{
		"get " + q[:len(q)-1] + "/>":                                                   "error:service-unavailable",
		"get " + q + "<list name='gone'/>" + qEnd:                                      "error:item-not-found",
		"get " + q + "<list name='other'/>" + qEnd:                                     q + "<list name='not-other'/>" + qEnd,
		"get " + q + "<list name='bad'/>" + qEnd:                                       q + "<list name='bad'><item action='maybe' order='1'/></list>" + qEnd,
		"set " + q + "<list name='inuse'/>" + qEnd:                                     "error:conflict",
		"set " + q + "<default name='x'/>" + qEnd:                                      "error:conflict",
		"set " + q + "<active name='gone'/>" + qEnd:                                    "error:item-not-found",
		"get <blocklist xmlns='urn:xmpp:blocking'/>":                                   "<block xmlns='urn:xmpp:blocking'/>",
		"set <block xmlns='urn:xmpp:blocking'><item jid='romeo@example.net'/></block>": "error:not-acceptable",
	})}
	s, _ := dial(t, nil, sv)
	ctx := ctxT(t)

	_, err := privacy.ListNames(ctx, s)
	assert.ErrorIs(t, err, stanza.ServiceUnavailable)
	var se *stanza.Error
	assert.ErrorAs(t, err, &se)
	_, err = privacy.GetList(ctx, s, "gone")
	assert.ErrorIs(t, err, stanza.ItemNotFound)
	_, err = privacy.GetList(ctx, s, "other")
	assert.ErrorIs(t, err, privacy.ErrMalformed)
	_, err = privacy.GetList(ctx, s, "bad")
	assert.ErrorIs(t, err, privacy.ErrMalformed)
	err = privacy.RemoveList(ctx, s, "inuse")
	assert.ErrorIs(t, err, stanza.Conflict)
	assert.ErrorAs(t, err, &se)
	assert.ErrorIs(t, privacy.SetDefault(ctx, s, "x"), stanza.Conflict)
	assert.ErrorIs(t, privacy.SetActive(ctx, s, "gone"), stanza.ItemNotFound)
	_, err = privacy.Blocklist(ctx, s)
	assert.ErrorIs(t, err, privacy.ErrMalformed)
	assert.ErrorIs(t, privacy.Block(ctx, s, romeo), stanza.NotAcceptable)
}

// pushes records what the Manager's callbacks receive.
type pushes struct {
	lists  chan string
	blocks chan privacy.Blocking
}

func newPushes(m *privacy.Manager) *pushes {
	p := &pushes{lists: make(chan string, 10), blocks: make(chan privacy.Blocking, 10)}
	m.HandleListPush(func(_ context.Context, _ *session.Session, name string) { p.lists <- name })
	m.HandleBlockingPush(func(_ context.Context, _ *session.Session, b privacy.Blocking) { p.blocks <- b })
	return p
}

// expectReply reads the client's answer to the push with id id.
func expectReply(t *testing.T, p *scripted.Peer, id string) *stanza.IQ {
	t.Helper()
	iq, err := scripted.IQ(p.Received())
	require.NoError(t, err)
	require.Equal(t, id, iq.ID)
	return iq
}

// Pushes are taken only from the account: a push from anyone else is
// refused and never delivered. Every refused push is followed by a good
// one, whose delivery shows by order that the refused one was not
// delivered.
func TestPushes(t *testing.T) {
	t.Parallel()
	mux := session.NewMux()
	m := privacy.Handle(mux)
	got := newPushes(m)
	s, p := dial(t, mux, &server{})
	require.Equal(t, "juliet@example.com/balcony", s.Addr().String())

	const listPush = `<query xmlns='jabber:iq:privacy'><list name='NAME'/></query>`
	const blockPush = `<block xmlns='urn:xmpp:blocking'><item jid='romeo@example.net'/></block>`
	const unblockAll = `<unblock xmlns='urn:xmpp:blocking'/>`
	for _, from := range []string{"", " from='juliet@example.com'"} {
		p.Send("<iq type='set' id='l1'" + from + ">" + strings.Replace(listPush, "NAME", "public", 1) + "</iq>")
		assert.Equal(t, stanza.IQResult, expectReply(t, p, "l1").Type)
		assert.Equal(t, "public", recv(t, got.lists))

		p.Send("<iq type='set' id='b1'" + from + ">" + blockPush + "</iq>")
		assert.Equal(t, stanza.IQResult, expectReply(t, p, "b1").Type)
		assert.Equal(t, privacy.Blocking{Command: privacy.CommandBlock, JIDs: []jid.JID{romeo}}, recv(t, got.blocks))

		p.Send("<iq type='set' id='u1'" + from + ">" + unblockAll + "</iq>")
		assert.Equal(t, stanza.IQResult, expectReply(t, p, "u1").Type)
		assert.Equal(t, privacy.Blocking{Command: privacy.CommandUnblock}, recv(t, got.blocks))
	}

	refused := []struct {
		name, from, payload string
		cond                stanza.Condition
	}{
		{"list push from a contact", "romeo@example.net", strings.Replace(listPush, "NAME", "evil", 1), stanza.ServiceUnavailable},
		{"list push from the domain", "example.com", strings.Replace(listPush, "NAME", "evil", 1), stanza.ServiceUnavailable},
		{"list push from another resource", "juliet@example.com/other", strings.Replace(listPush, "NAME", "evil", 1), stanza.ServiceUnavailable},
		{"list push from this session", "juliet@example.com/balcony", strings.Replace(listPush, "NAME", "evil", 1), stanza.ServiceUnavailable},
		{"block push from a contact", "romeo@example.net", blockPush, stanza.ServiceUnavailable},
		{"unblock push from a contact", "romeo@example.net", unblockAll, stanza.ServiceUnavailable},
		{"block push from this session", "juliet@example.com/balcony", blockPush, stanza.ServiceUnavailable},
		{"list push with two lists", "", q + "<list name='a'/><list name='b'/>" + qEnd, stanza.BadRequest},
		{"list push with active", "", q + "<active name='a'/>" + qEnd, stanza.BadRequest},
		{"list push malformed", "", q + "<list/>" + qEnd, stanza.BadRequest},
		{"empty block push", "", "<block xmlns='urn:xmpp:blocking'/>", stanza.BadRequest},
		{"malformed block push", "", "<block xmlns='urn:xmpp:blocking'><item jid='@'/></block>", stanza.BadRequest},
	}
	for _, tt := range refused {
		from := ""
		if tt.from != "" {
			from = " from='" + tt.from + "'"
		}
		p.Send("<iq type='set' id='bad'" + from + ">" + tt.payload + "</iq>")
		reply := expectReply(t, p, "bad")
		require.Equal(t, stanza.IQError, reply.Type, tt.name)
		assert.ErrorIs(t, reply.Error, tt.cond, tt.name)
		// The control: a good push on the same path arrives first.
		p.Send("<iq type='set' id='ok'>" + strings.Replace(listPush, "NAME", "control", 1) + "</iq>")
		expectReply(t, p, "ok")
		assert.Equal(t, "control", recv(t, got.lists), tt.name)
	}
	assert.Empty(t, got.blocks, "no refused blocking push was delivered")
}

func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("nothing delivered within 10s")
		var zero T
		return zero
	}
}

// The active list set through the Manager is set again on each new
// stream, before the hooks registered after it; declined, it is not.
func TestActiveListOnNewStream(t *testing.T) {
	t.Parallel()
	mux := session.NewMux()
	m := privacy.Handle(mux)
	type restore struct {
		name string
		err  error
	}
	restores := make(chan restore, 10)
	m.HandleRestore(func(_ context.Context, _ *session.Session, name string, err error) { restores <- restore{name, err} })
	var laterMu sync.Mutex
	var later [][]string // requests seen by a later start hook
	var current *server
	mux.HandleStart(func(context.Context, *session.Session, bool) {
		laterMu.Lock()
		defer laterMu.Unlock()
		later = append(later, current.requests())
	})

	current = &server{}
	s1, _ := dial(t, mux, current)
	ctx := ctxT(t)
	assert.Empty(t, current.requests(), "nothing to set on the first stream")
	require.NoError(t, m.SetActive(ctx, s1, "special"))
	assert.Equal(t, "special", m.Active())
	require.NoError(t, s1.Close(ctx))

	current = &server{}
	s2, _ := dial(t, mux, current)
	want := []string{"set " + q + "<active name='special'/>" + qEnd}
	assert.Equal(t, want, current.requests())
	assert.Equal(t, restore{"special", nil}, recv(t, restores))
	laterMu.Lock()
	assert.Equal(t, [][]string{nil, want}, later, "set before the later hooks ran")
	laterMu.Unlock()

	// A failed SetActive leaves the remembered list alone.
	current.setAnswer(answers(map[string]string{"set " + q + "<active name='other'/>" + qEnd: "error:item-not-found"}))
	assert.ErrorIs(t, m.SetActive(ctx, s2, "other"), stanza.ItemNotFound)
	assert.Equal(t, "special", m.Active())
	require.NoError(t, s2.Close(ctx))

	// The list is gone by the next stream: the error is reported and the
	// list forgotten.
	current = &server{answer: answers(map[string]string{"set " + q + "<active name='special'/>" + qEnd: "error:item-not-found"})}
	s3, _ := dial(t, mux, current)
	r := recv(t, restores)
	assert.Equal(t, "special", r.name)
	assert.ErrorIs(t, r.err, stanza.ItemNotFound)
	assert.Equal(t, "", m.Active())
	current.setAnswer(nil)
	require.NoError(t, m.SetActive(ctx, s3, "special"))
	require.NoError(t, m.DeclineActive(ctx, s3))
	assert.Equal(t, "", m.Active())
	require.NoError(t, s3.Close(ctx))

	current = &server{}
	dial(t, mux, current)
	assert.Empty(t, current.requests(), "a declined list is not set again")
	assert.Empty(t, restores)
}

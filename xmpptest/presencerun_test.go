package xmpptest_test

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
	"github.com/parleyim/parley/xmpptest"
)

// The runner of the subscription and presence table (presencecases_test.go):
// the steps, what a client sees, and how a step waits until everything it
// caused has arrived.
//
// A case has accounts {a}, {b} and {c}; a client is named after its
// account and a digit ("a1", "a2", "b1"), and its resource is its name, so
// that a1 is {a}/a1. Every client records what it receives, in the order
// its handlers see it, as one line per stanza:
//
//	subscribe {a}                     a presence: its type ("available" for none) and from,
//	available {b}/b1 show=away status="lunch" prio=5   then show, status and priority when set,
//	error {c} service-unavailable     and the condition of an error;
//	push {b} sub=to ask               a roster push, its item as rostercases_test.go renders it;
//	roster [{b} sub=both]             the result of the step's own roster get (fetch);
//	result / error item-not-found     the answer to the step's own roster set;
//	message {c}/c1 "hi"               a message (renderMessage: its type unless normal,
//	message chat {a}/a1 "hi" delay from={d} "Offline storage"    its extensions, delay and error).
//
// After each step, every client that is logged in must have received
// exactly the lines the step lists for it, in that order, and nothing
// else: the runner waits for the listed lines, then sends each client a
// message from itself and takes everything that arrives before it.
// Prosody and ejabberd route some stanzas between their internal
// processes after the sender's stanza has been handled, so against them
// the runner also waits a moment (presenceServer.settle) before that
// message.

// pop is what a step does.
type pop uint8

const (
	opLogin    pop = iota // log the client in: bind, no roster, no presence
	opFetch               // roster get
	opSend                // send the stanza xml
	opLogout              // close the session (unavailable first, when available)
	opVanish              // cut the connection, as a crash would
	opRemove              // roster set removing the item xml (a bare JID template)
	opFeatures            // record whether pre-approval is offered
	opIQ                  // send the iq xml and record the answer (renderAnswer)
)

// pstep is one step of a case.
type pstep struct {
	op    pop
	who   string
	xml   string
	want  map[string][]string            // client: the lines it receives
	alts  map[string]map[string][]string // server kind: client: the lines instead
	whys  map[string][]string            // server kind: why it differs
	quiet bool                           // a setup step: what arrives is not checked
}

// presenceCase is one case of the table. setup brings the accounts to
// the state the case starts from (its steps run quietly); steps are
// checked.
type presenceCase struct {
	name  string
	setup []pstep
	steps []pstep
}

func pLogin(who string) pstep        { return pstep{op: opLogin, who: who} }
func pFetch(who string) pstep        { return pstep{op: opFetch, who: who} }
func pLogout(who string) pstep       { return pstep{op: opLogout, who: who} }
func pVanish(who string) pstep       { return pstep{op: opVanish, who: who} }
func pFeatures(who string) pstep     { return pstep{op: opFeatures, who: who} }
func pSend(who, xml string) pstep    { return pstep{op: opSend, who: who, xml: xml} }
func pRemove(who, item string) pstep { return pstep{op: opRemove, who: who, xml: item} }
func pIQ(who, xml string) pstep      { return pstep{op: opIQ, who: who, xml: xml} }

// got says what client who receives, in order.
func (s pstep) got(who string, lines ...string) pstep {
	m := maps.Clone(s.want)
	if m == nil {
		m = map[string][]string{}
	}
	m[who] = append(slices.Clone(m[who]), lines...)
	s.want = m
	return s
}

// on says what client who receives on a server of the given kind instead
// (nothing when lines is empty), and why that server differs.
func (s pstep) on(kind, why, who string, lines ...string) pstep {
	alts := maps.Clone(s.alts)
	if alts == nil {
		alts = map[string]map[string][]string{}
	}
	m := maps.Clone(alts[kind])
	if m == nil {
		m = map[string][]string{}
	}
	m[who] = append(slices.Clone(m[who]), lines...)
	if lines == nil {
		m[who] = []string{}
	}
	alts[kind] = m
	s.alts = alts
	whys := maps.Clone(s.whys)
	if whys == nil {
		whys = map[string][]string{}
	}
	if why != "" && !slices.Contains(whys[kind], why) {
		whys[kind] = append(slices.Clone(whys[kind]), why)
	}
	s.whys = whys
	return s
}

// expected returns what each client receives on a server of kind.
func (s pstep) expected(kind string) map[string][]string {
	out := maps.Clone(s.want)
	if out == nil {
		out = map[string][]string{}
	}
	maps.Copy(out, s.alts[kind])
	return out
}

// steps joins steps and lists of steps into one list.
func steps(parts ...any) []pstep {
	var out []pstep
	for _, p := range parts {
		switch v := p.(type) {
		case pstep:
			out = append(out, v)
		case []pstep:
			out = append(out, v...)
		default:
			panic(fmt.Sprintf("steps: %T", p))
		}
	}
	return out
}

// presenceServer is a server the table runs against.
type presenceServer struct {
	kind   string
	domain string
	// dial logs user in with resource res and the Mux given, and returns
	// the session and its transport (closing it cuts the connection).
	dial func(t *testing.T, user, res string, mux *session.Mux) (*session.Session, net.Conn)
	// settle is how long to wait for stanzas a server routes
	// asynchronously before taking stock.
	settle time.Duration
}

// pclient is one logged-in client of a case.
type pclient struct {
	name   string
	s      *session.Session
	conn   net.Conn
	events chan string
	marks  int
}

// presenceUsers returns the accounts the presence table needs.
func presenceUsers() map[string]string { return caseUsers("pc", len(presenceCases)) }

// caseUsers returns the accounts a table of n cases needs: three per
// case, named after the table's prefix. Every password is "pw".
func caseUsers(prefix string, n int) map[string]string {
	users := map[string]string{}
	for i := range n {
		for _, l := range "abc" {
			users[caseUser(prefix, i, l)] = "pw"
		}
	}
	return users
}

func caseUser(prefix string, i int, letter rune) string {
	return fmt.Sprintf("%s%03d%c", prefix, i, letter)
}

// runPresenceCases runs the presence table against srv.
func runPresenceCases(t *testing.T, srv presenceServer) { runCases(t, srv, "pc", presenceCases) }

// runCases runs a table whose accounts are named after prefix (see
// caseUsers) against srv.
func runCases(t *testing.T, srv presenceServer, prefix string, cases []presenceCase) {
	for i, pc := range cases {
		t.Run(pc.name, func(t *testing.T) {
			newPresenceRun(t, srv, prefix, i).run(pc)
		})
	}
}

// presenceRun is one case being run.
type presenceRun struct {
	t       *testing.T
	srv     presenceServer
	prefix  string
	case_   int
	expand  *strings.Replacer
	shorten *strings.Replacer
	clients map[string]*pclient
	started time.Time // when the case began: no delay stamp is older
}

func newPresenceRun(t *testing.T, srv presenceServer, prefix string, i int) *presenceRun {
	var pairs, back []string
	for _, l := range "abc" {
		bare := caseUser(prefix, i, l) + "@" + srv.domain
		pairs = append(pairs, "{"+string(l)+"}", bare)
		back = append(back, bare, "{"+string(l)+"}")
	}
	pairs = append(pairs, "{d}", srv.domain)
	back = append(back, srv.domain, "{d}")
	return &presenceRun{t: t, srv: srv, prefix: prefix, case_: i, expand: strings.NewReplacer(pairs...), shorten: strings.NewReplacer(back...), clients: map[string]*pclient{}, started: time.Now()}
}

func (r *presenceRun) run(pc presenceCase) {
	t := r.t
	for n, st := range pc.setup {
		st.quiet = true
		r.step(fmt.Sprintf("setup %d", n), st)
	}
	for n, st := range pc.steps {
		r.step(fmt.Sprintf("step %d", n), st)
	}
	for _, c := range r.clients {
		_ = c.s.Close(ctxFor(t))
	}
}

// step runs one step and checks what every client received.
func (r *presenceRun) step(where string, st pstep) {
	t := r.t
	where = fmt.Sprintf("%s (%s %s %s)", where, opName(st.op), st.who, st.xml)
	first := map[string][]string{} // lines the step's own reply gives
	c := r.clients[st.who]
	if st.op != opLogin {
		require.NotNil(t, c, "%s: %s is not logged in", where, st.who)
	}
	switch st.op {
	case opLogin:
		require.Nil(t, c, "%s: %s is logged in already", where, st.who)
		r.login(st.who)
	case opFetch:
		first[st.who] = []string{r.fetch(where, c)}
	case opSend:
		require.NoError(t, c.s.Send(ctxFor(t), r.parse(where, st.xml)), where)
	case opLogout:
		require.NoError(t, c.s.Close(ctxFor(t)), where)
		delete(r.clients, st.who)
	case opVanish:
		_ = c.conn.Close()
		<-c.s.Done()
		delete(r.clients, st.who)
	case opRemove:
		first[st.who] = []string{r.remove(where, c, st.xml)}
	case opIQ:
		first[st.who] = []string{r.iq(where, c, st.xml)}
	case opFeatures:
		line := "no pre-approval"
		if c.s.Features().PreApproval {
			line = "pre-approval"
		}
		first[st.who] = []string{line}
	}
	want := st.expected(r.srv.kind)
	for name := range want {
		require.Contains(t, r.clients, name, "%s: the table expects stanzas for %s, which is not logged in", where, name)
	}
	// The step's own answer (first) is not among the events.
	waitFor := map[string]int{}
	for name, lines := range want {
		waitFor[name] = len(lines) - len(first[name])
	}
	got := r.collect(st.who, waitFor, st.quiet)
	if st.quiet {
		return
	}
	for name, lines := range first {
		got[name] = append(lines, got[name]...)
	}
	for _, name := range slices.Sorted(maps.Keys(r.clients)) {
		w := want[name]
		if w == nil {
			w = []string{}
		}
		g := got[name]
		if g == nil {
			g = []string{}
		}
		assert.Equal(t, w, g, "%s: what %s received on %s", where, name, r.srv.kind)
	}
}

func opName(op pop) string {
	return [...]string{"login", "fetch", "send", "logout", "vanish", "remove", "features", "iq"}[op]
}

// login connects client name with a Mux that records what it receives.
func (r *presenceRun) login(name string) {
	t := r.t
	c := &pclient{name: name, events: make(chan string, 256)}
	mux := session.NewMux()
	mux.HandlePresenceFunc(session.PresenceRoute{}, func(_ context.Context, _ *session.Session, p *stanza.Presence) {
		c.events <- r.shorten.Replace(renderPresence(p))
	})
	mux.HandleIQFunc(stanza.IQSet, xml.Name{Space: ns.Roster, Local: "query"}, func(_ context.Context, s *session.Session, iq *stanza.IQ) (stanza.Payload, error) {
		c.events <- r.shorten.Replace(renderPush(s.Addr().Bare(), iq))
		return nil, nil
	})
	// Privacy list and blocking pushes (privacycases_test.go), and the
	// probe iq one client sends another.
	mux.HandleIQFunc(stanza.IQSet, xml.Name{Space: nsPrivacy, Local: "query"}, func(_ context.Context, s *session.Session, iq *stanza.IQ) (stanza.Payload, error) {
		c.events <- r.shorten.Replace(renderPrivacyPush(s.Addr().Bare(), iq))
		return nil, nil
	})
	for _, local := range []string{"block", "unblock"} {
		mux.HandleIQFunc(stanza.IQSet, xml.Name{Space: nsBlocking, Local: local}, func(_ context.Context, s *session.Session, iq *stanza.IQ) (stanza.Payload, error) {
			c.events <- r.shorten.Replace(renderPrivacyPush(s.Addr().Bare(), iq))
			return nil, nil
		})
	}
	mux.HandleIQFunc(stanza.IQGet, xml.Name{Space: nsProbe, Local: "query"}, func(_ context.Context, _ *session.Session, iq *stanza.IQ) (stanza.Payload, error) {
		c.events <- r.shorten.Replace("iq get " + iq.From.String())
		return nil, nil
	})
	mux.HandleMessageFunc(session.MessageRoute{}, func(_ context.Context, _ *session.Session, m *stanza.Message) {
		if rest, ok := strings.CutPrefix(m.Body, "sync "); ok && m.From == c.s.Addr() {
			c.events <- "sync " + rest
			return
		}
		c.events <- r.shorten.Replace(renderMessage(m, r.started))
	})
	letter := rune(name[0])
	c.s, c.conn = r.srv.dial(t, caseUser(r.prefix, r.case_, letter), name, mux)
	r.clients[name] = c
}

// renderPresence writes p as a line of the table.
func renderPresence(p *stanza.Presence) string {
	typ := string(p.Type)
	if typ == "" {
		typ = "available"
	}
	var b strings.Builder
	b.WriteString(typ + " " + p.From.String())
	if p.Show != stanza.ShowNone {
		b.WriteString(" show=" + string(p.Show))
	}
	if p.Status != "" {
		fmt.Fprintf(&b, " status=%q", p.Status)
	}
	if p.Priority != 0 {
		fmt.Fprintf(&b, " prio=%d", p.Priority)
	}
	if p.Type == stanza.PresenceError && p.Error != nil {
		b.WriteString(" " + string(p.Error.Condition))
	}
	return b.String()
}

// nsArchived is the namespace of the <archived/> ejabberd's archive adds
// to messages; a message line leaves it out, as it leaves out the
// stanza-id (ns.SID) Prosody's archive adds.
const nsArchived = "urn:xmpp:mam:tmp"

// renderMessage writes m as a line of the table: its type unless normal,
// its from and its body; then the names of its extensions in brackets
// (leaving out what the servers' archives add), its delay (XEP-0203) as
// "delay from=…" with its text quoted when it has one, and the
// condition of an error (of which only the from and the condition are
// shown: whether a server copies the original's body is not the
// table's business). A delay stamp that is not a UTC time between
// notBefore and now is shown as "bad stamp".
func renderMessage(m *stanza.Message, notBefore time.Time) string {
	var b strings.Builder
	b.WriteString("message ")
	if m.Type != stanza.MessageNormal && m.Type != "" {
		b.WriteString(string(m.Type) + " ")
	}
	if m.Type == stanza.MessageError {
		b.WriteString(m.From.String())
		if m.Error != nil {
			b.WriteString(" " + string(m.Error.Condition))
		}
		return b.String()
	}
	fmt.Fprintf(&b, "%s %q", m.From, m.Body)
	var names []string
	var delay *stanza.Raw
	for _, e := range m.Extensions {
		raw, ok := e.(*stanza.Raw)
		switch {
		case !ok:
			names = append(names, fmt.Sprintf("%T", e))
		case raw.Name().Space == ns.Delay && raw.Name().Local == "delay":
			delay = raw
		case raw.Name().Space != ns.SID && raw.Name().Space != nsArchived:
			names = append(names, raw.Name().Local)
		}
	}
	if len(names) > 0 {
		b.WriteString(" [" + strings.Join(names, " ") + "]")
	}
	if delay != nil {
		b.WriteString(" delay from=" + delay.Attr("from"))
		if text := delay.Text(); text != "" {
			fmt.Fprintf(&b, " %q", text)
		}
		stamp := delay.Attr("stamp")
		at, err := time.Parse(time.RFC3339Nano, stamp)
		// A stamp in whole seconds may be up to a second early.
		if err != nil || !strings.HasSuffix(stamp, "Z") || at.Before(notBefore.Add(-time.Second)) || at.After(time.Now()) {
			fmt.Fprintf(&b, " bad stamp %q", stamp)
		}
	}
	return b.String()
}

// renderPush writes a roster push as a line of the table; a push from
// anyone but the account, or without exactly one item, is marked.
func renderPush(account jid.JID, iq *stanza.IQ) string {
	prefix := "push "
	if !iq.From.IsZero() && iq.From != account {
		prefix = "push from " + iq.From.String() + " "
	}
	raw, ok := iq.Raw()
	if !ok {
		return prefix + "without payload"
	}
	q, err := roster.ParseQuery(raw)
	if err != nil || len(q.Items) != 1 {
		return prefix + "unreadable: " + raw.String()
	}
	return prefix + render(q.Items[0])
}

// parse reads a stanza written in the table.
func (r *presenceRun) parse(where, text string) stanza.Stanza {
	text = r.expand.Replace(text)
	for _, kind := range []string{"<presence", "<message", "<iq"} {
		if rest, ok := strings.CutPrefix(text, kind); ok {
			text = kind + " xmlns='" + ns.Client + "'" + rest
		}
	}
	d := xml.NewDecoder(strings.NewReader(text))
	tok, err := d.Token()
	require.NoError(r.t, err, where)
	start, ok := tok.(xml.StartElement)
	require.True(r.t, ok, where)
	st, err := stanza.Decoder{}.Decode(d, start)
	require.NoError(r.t, err, where)
	return st
}

// fetch sends a roster get and returns the result as a line.
func (r *presenceRun) fetch(where string, c *pclient) string {
	q, err := stanza.ParseRaw([]byte("<query xmlns='jabber:iq:roster'/>"))
	require.NoError(r.t, err)
	reply, err := c.s.SendIQ(ctxFor(r.t), &stanza.IQ{Type: stanza.IQGet, Payload: q})
	require.NoError(r.t, err, where)
	raw, ok := reply.Raw()
	require.True(r.t, ok, "%s: a roster result", where)
	res, err := roster.ParseQuery(raw)
	require.NoError(r.t, err, where)
	items := make([]string, len(res.Items))
	for i, it := range res.Items {
		items[i] = r.shorten.Replace(render(it))
	}
	slices.Sort(items)
	return "roster [" + strings.Join(items, "; ") + "]"
}

// remove sends a roster set removing item and returns the answer as a line.
func (r *presenceRun) remove(where string, c *pclient, item string) string {
	q, err := stanza.ParseRaw([]byte("<query xmlns='jabber:iq:roster'><item jid='" + r.expand.Replace(item) + "' subscription='remove'/></query>"))
	require.NoError(r.t, err, where)
	_, err = c.s.SendIQ(ctxFor(r.t), &stanza.IQ{Type: stanza.IQSet, Payload: q})
	if se, ok := asStanzaError(err); ok {
		return "error " + string(se.Condition)
	}
	require.NoError(r.t, err, where)
	return "result"
}

func asStanzaError(err error) (*stanza.Error, bool) {
	var se *stanza.Error
	return se, errors.As(err, &se)
}

// collect waits until every client has received as many lines as want
// says (or a while has passed), then takes everything each has
// received, the step's actor first.
func (r *presenceRun) collect(actor string, want map[string]int, quiet bool) map[string][]string {
	got := map[string][]string{}
	deadline := time.After(5 * time.Second)
	if quiet {
		deadline = time.After(0)
	}
wait:
	for _, name := range slices.Sorted(maps.Keys(r.clients)) {
		c := r.clients[name]
		for len(got[name]) < want[name] {
			select {
			case e := <-c.events:
				got[name] = append(got[name], e)
			case <-deadline:
				break wait
			}
		}
	}
	if r.srv.settle > 0 {
		time.Sleep(r.srv.settle)
	}
	// The actor first: once its own stanza has come back, the server has
	// handled its step, so what the step sent the others is ahead of
	// their marks (xmpptest writes everything a stanza causes before it
	// reads the sender's next one).
	names := slices.Sorted(maps.Keys(r.clients))
	if i := slices.Index(names, actor); i > 0 {
		names = append([]string{actor}, slices.Delete(names, i, i+1)...)
	}
	for _, name := range names {
		got[name] = append(got[name], r.drain(r.clients[name])...)
	}
	return got
}

// drain sends c a message from itself and returns what c receives before
// it.
func (r *presenceRun) drain(c *pclient) []string {
	c.marks++
	mark := fmt.Sprintf("sync %d", c.marks)
	m := &stanza.Message{Header: stanza.Header{To: c.s.Addr()}, Type: stanza.MessageHeadline, Body: mark}
	require.NoError(r.t, c.s.Send(ctxFor(r.t), m), "%s: sync", c.name)
	var out []string
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-c.events:
			if e == mark {
				return out
			}
			out = append(out, e)
		case <-timeout:
			r.t.Fatalf("%s: the server did not echo %q; received %q", c.name, mark, out)
		}
	}
}

// TestPresenceCases runs the table against xmpptest.
func TestPresenceCases(t *testing.T) {
	srv := xmpptest.NewServer(t, nil)
	for user, pw := range presenceUsers() {
		_, err := srv.AddUser(user, pw)
		require.NoError(t, err)
	}
	runPresenceCases(t, pipeServer(srv))
}

package xmpptest_test

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
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

// The roster rules of RFC 6121 §2, as one table of cases that runs
// against xmpptest here and against Prosody and ejabberd in
// roster_interop_test.go (build tag interop), so that where xmpptest
// behaves unlike a real server a case fails.
//
// Each case runs on a fresh account, {owner}, whose resource r1 has logged
// in and fetched its (empty) roster before the first step: r1 is an
// interested resource (RFC 6121 §2.2). A step logs a resource in or out, or
// sends an iq from one and checks the reply and the roster pushes that
// every logged-in resource receives (none, where the outcome lists none).
// want is what RFC 6121 asks for and what xmpptest answers; on says what
// a server answers instead, and why. Every push must come from the account
// (no from, or its bare JID: RFC 6121 §2.1.6) and carry one item and a
// version.
//
// In the steps, {d} is the server's domain, {owner} the account's bare
// JID and {ver:NAME} a version saved by an earlier step.

// Server kinds, as the table names them (the xmppd.Kind strings).
const (
	kindXmpptest = "xmpptest"
	kindProsody  = "prosody"
	kindEjabberd = "ejabberd"
)

type rosterCase struct {
	name  string
	steps []rstep
}

// rstep is one step of a case.
type rstep struct {
	as     string // the resource: r1 when empty
	login  bool   // log the resource in (a fresh session; it has not fetched)
	logout bool   // close the resource's session
	typ    stanza.IQType
	toAddr string // the iq's to (a template), "" for none
	query  string // the payload (a template)
	save   string // keep the version of the result, or of the push, under this name
	expect routcome
	alts   map[string]routcome // what a server answers instead of expect
}

// routcome is what a step gets back.
type routcome struct {
	cond      stanza.Condition // an error with this condition; "" for a result
	errType   stanza.ErrorType // the error's type, when it matters
	isRoster  bool             // a result holding the roster: items
	items     []string
	noVer     bool                // a roster result without ver
	unchanged bool                // a result without payload (RFC 6121 §2.6.3)
	pushes    map[string][]string // resource: the items pushed to it, in order
	why       string              // for an on entry: why this server differs
}

const fetchQuery = "<query xmlns='jabber:iq:roster' ver=''/>"

func signIn(res string) rstep  { return rstep{as: res, login: true} }
func signOut(res string) rstep { return rstep{as: res, logout: true} }

// get sends a roster get with the query given.
func get(query string) rstep { return rstep{typ: stanza.IQGet, query: query} }

// fetch sends a roster get with ver=”.
func fetch() rstep { return get(fetchQuery) }

// set sends a roster set whose query holds items.
func set(items string) rstep {
	return rstep{typ: stanza.IQSet, query: "<query xmlns='jabber:iq:roster'>" + items + "</query>"}
}

func (s rstep) by(res string) rstep       { s.as = res; return s }
func (s rstep) to(addr string) rstep      { s.toAddr = addr; return s }
func (s rstep) saveVer(name string) rstep { s.save = name; return s }
func (s rstep) want(o routcome) rstep     { s.expect = o; return s }

// on records what server kind answers instead of want.
func (s rstep) on(kind string, o routcome) rstep {
	m := make(map[string]routcome, len(s.alts)+1)
	for k, v := range s.alts {
		m[k] = v
	}
	m[kind] = o
	s.alts = m
	return s
}

// ok is a result, with the pushes each resource receives.
func ok(pushes ...map[string][]string) routcome {
	o := routcome{pushes: map[string][]string{}}
	for _, p := range pushes {
		for res, items := range p {
			o.pushes[res] = append(o.pushes[res], items...)
		}
	}
	return o
}

// pushed says that each of resources receives a push of item.
func pushed(item string, resources ...string) map[string][]string {
	m := make(map[string][]string, len(resources))
	for _, r := range resources {
		m[r] = []string{item}
	}
	return m
}

// rosterOf is a result holding the roster items (written as render
// writes them), with a version.
func rosterOf(items ...string) routcome { return routcome{isRoster: true, items: items} }

// unchanged is the empty result to a roster get with the current version.
func unchanged() routcome { return routcome{unchanged: true} }

// fails is an error with cond; failsAs checks its type too.
func fails(cond stanza.Condition) routcome { return routcome{cond: cond} }
func failsAs(typ stanza.ErrorType, cond stanza.Condition) routcome {
	return routcome{cond: cond, errType: typ}
}

func (o routcome) withoutVer() routcome        { o.noVer = true; return o }
func (o routcome) because(why string) routcome { o.why = why; return o }

const ejabberdPushesAll = "ejabberd pushes to every resource of the account, interested or not (RFC 6121 §2.2: the interested ones)"

// rosterCases is the table.
var rosterCases = []rosterCase{
	{
		name: "get without ver: the roster, with a version",
		steps: []rstep{
			get("<query xmlns='jabber:iq:roster'/>").want(rosterOf()).
				on(kindEjabberd, rosterOf().withoutVer().because("ejabberd sends ver only to a get that has one; the RFC does not say")),
		},
	},
	{
		name: "add: a result, and a push to each interested resource only",
		steps: []rstep{
			signIn("r2"), fetch().by("r2").want(rosterOf()),
			signIn("r3"),
			set(`<item jid='bob@{d}' name='Bob'><group>Friends</group><group>Work</group></item>`).
				want(ok(pushed(`bob@{d} name="Bob" groups=["Friends" "Work"]`, "r1", "r2"))).
				on(kindEjabberd, ok(pushed(`bob@{d} name="Bob" groups=["Friends" "Work"]`, "r1", "r2", "r3")).because(ejabberdPushesAll)),
			fetch().want(rosterOf(`bob@{d} name="Bob" groups=["Friends" "Work"]`)),
		},
	},
	{
		name: "a set from a resource that has not fetched: pushes to the interested ones",
		steps: []rstep{
			signIn("r2"), fetch().by("r2").want(rosterOf()),
			signIn("r3"),
			set(`<item jid='sam@{d}'/>`).by("r3").want(ok(pushed(`sam@{d}`, "r1", "r2"))).
				on(kindEjabberd, ok(pushed(`sam@{d}`, "r1", "r2", "r3")).because(ejabberdPushesAll)),
		},
	},
	{
		name: "fetching makes a resource interested",
		steps: []rstep{
			signIn("r2"),
			set(`<item jid='a@{d}'/>`).want(ok(pushed(`a@{d}`, "r1"))).
				on(kindEjabberd, ok(pushed(`a@{d}`, "r1", "r2")).because(ejabberdPushesAll)),
			fetch().by("r2").want(rosterOf(`a@{d}`)),
			set(`<item jid='b@{d}'/>`).want(ok(pushed(`b@{d}`, "r1", "r2"))),
		},
	},
	{
		name: "update: the set replaces name and groups",
		steps: []rstep{
			set(`<item jid='u@{d}' name='U'><group>G1</group><group>G2</group></item>`).want(ok(pushed(`u@{d} name="U" groups=["G1" "G2"]`, "r1"))),
			set(`<item jid='u@{d}'/>`).want(ok(pushed(`u@{d}`, "r1"))),
			fetch().want(rosterOf(`u@{d}`)),
		},
	},
	{
		name: "a set that changes nothing is pushed again",
		steps: []rstep{
			set(`<item jid='j@{d}' name='J'/>`).want(ok(pushed(`j@{d} name="J"`, "r1"))),
			set(`<item jid='j@{d}' name='J'/>`).want(ok(pushed(`j@{d} name="J"`, "r1"))),
		},
	},
	{
		name: "remove: a push with subscription='remove'",
		steps: []rstep{
			set(`<item jid='bob@{d}' name='Bob'/>`).want(ok(pushed(`bob@{d} name="Bob"`, "r1"))),
			set(`<item jid='bob@{d}' subscription='remove'/>`).want(ok(pushed(`bob@{d} sub=remove`, "r1"))),
			fetch().want(rosterOf()),
		},
	},
	{
		name: "remove: name and groups are ignored",
		steps: []rstep{
			set(`<item jid='u@{d}'/>`).want(ok(pushed(`u@{d}`, "r1"))),
			set(`<item jid='u@{d}' name='Z' subscription='remove'><group>G</group></item>`).want(ok(pushed(`u@{d} sub=remove`, "r1"))),
		},
	},
	{
		name: "remove an item that is not in the roster: item-not-found (RFC 6121 §2.5.3)",
		steps: []rstep{
			set(`<item jid='nobody@{d}' subscription='remove'/>`).want(failsAs(stanza.ErrorCancel, stanza.ItemNotFound)).
				on(kindProsody, failsAs(stanza.ErrorModify, stanza.ItemNotFound).because("Prosody gives the type modify; RFC 6120 §8.3.3.7 says cancel")).
				on(kindEjabberd, ok(pushed(`nobody@{d} sub=remove`, "r1")).because("ejabberd answers a result and pushes the removal")),
		},
	},
	{
		name: "two items: bad-request (RFC 6121 §2.3.3)",
		steps: []rstep{
			set(`<item jid='x1@{d}'/><item jid='x2@{d}'/>`).want(fails(stanza.BadRequest)),
			fetch().want(rosterOf()),
		},
	},
	{
		name: "no item: bad-request (RFC 6121 §2.1.5: one and only one)",
		steps: []rstep{
			set(``).want(fails(stanza.BadRequest)).
				on(kindEjabberd, fails(stanza.ServiceUnavailable).because("ejabberd finds no module for a set without item")),
		},
	},
	{
		name: "a child that is not an item, and no item: bad-request",
		steps: []rstep{
			set(`<foo/>`).want(fails(stanza.BadRequest)).
				on(kindEjabberd, fails(stanza.ServiceUnavailable).because("ejabberd finds no module for a set without item")),
		},
	},
	{
		name:  "item without jid: bad-request",
		steps: []rstep{set(`<item name='x'/>`).want(fails(stanza.BadRequest))},
	},
	{
		name:  "item with an invalid jid: bad-request",
		steps: []rstep{set(`<item jid='a@b@c'/>`).want(fails(stanza.BadRequest))},
	},
	{
		name:  "item with an empty jid: bad-request",
		steps: []rstep{set(`<item jid=''/>`).want(fails(stanza.BadRequest))},
	},
	{
		name: "item with a full JID: bad-request",
		steps: []rstep{
			set(`<item jid='carol@{d}/res'/>`).want(fails(stanza.BadRequest)).
				on(kindEjabberd, ok(pushed(`carol@{d}/res`, "r1")).because("ejabberd keeps a full JID; the RFC does not say, Prosody refuses it")),
		},
	},
	{
		name: "item with the account's own JID: not-allowed",
		steps: []rstep{
			set(`<item jid='{owner}'/>`).want(fails(stanza.NotAllowed)).
				on(kindEjabberd, ok(pushed(`{owner}`, "r1")).because("ejabberd accepts it; the RFC does not say, Prosody refuses it")),
		},
	},
	{
		name:  "item with a domain JID",
		steps: []rstep{set(`<item jid='{d}'/>`).want(ok(pushed(`{d}`, "r1")))},
	},
	{
		name:  "item with another domain's JID",
		steps: []rstep{set(`<item jid='leo@example.net'/>`).want(ok(pushed(`leo@example.net`, "r1")))},
	},
	{
		name:  "the item's JID is normalised",
		steps: []rstep{set(`<item jid='KARL@{d}' name='K'/>`).want(ok(pushed(`karl@{d} name="K"`, "r1")))},
	},
	{
		name: "subscription other than remove is ignored: new item (RFC 6121 §2.1.2.5)",
		steps: []rstep{
			set(`<item jid='dave@{d}' subscription='both'/>`).want(ok(pushed(`dave@{d}`, "r1"))),
		},
	},
	{
		name: "subscription other than remove is ignored: existing item",
		steps: []rstep{
			set(`<item jid='bob@{d}' name='Bob'/>`).want(ok(pushed(`bob@{d} name="Bob"`, "r1"))),
			set(`<item jid='bob@{d}' name='Bob' subscription='from'/>`).want(ok(pushed(`bob@{d} name="Bob"`, "r1"))),
		},
	},
	{
		name: "subscription outside the RFC's schema: bad-request",
		steps: []rstep{
			set(`<item jid='erin@{d}' subscription='bogus'/>`).want(fails(stanza.BadRequest)).
				on(kindProsody, ok(pushed(`erin@{d}`, "r1")).because("Prosody ignores any subscription value but remove")),
		},
	},
	{
		name: "ask is the server's: bad-request (RFC 6121 §2.1.2.2: a client MUST NOT send it)",
		steps: []rstep{
			set(`<item jid='frank@{d}' ask='subscribe'/>`).want(fails(stanza.BadRequest)).
				on(kindProsody, ok(pushed(`frank@{d}`, "r1")).because("Prosody ignores ask")),
			set(`<item jid='frank@{d}' ask='unsubscribe'/>`).want(fails(stanza.BadRequest)).
				on(kindProsody, ok(pushed(`frank@{d}`, "r1")).because("Prosody ignores ask")),
		},
	},
	{
		name: "approved is ignored (RFC 6121 §2.1.2.1)",
		steps: []rstep{
			set(`<item jid='gus@{d}' approved='true'/>`).want(ok(pushed(`gus@{d}`, "r1"))),
		},
	},
	{
		name: "a group named twice: bad-request (RFC 6121 §2.3.3)",
		steps: []rstep{
			set(`<item jid='gina@{d}'><group>A</group><group>A</group></item>`).want(fails(stanza.BadRequest)).
				on(kindProsody, ok(pushed(`gina@{d} groups=["A"]`, "r1")).because("Prosody keeps one of them")),
		},
	},
	{
		name: "an empty group: not-acceptable (RFC 6121 §2.3.3)",
		steps: []rstep{
			set(`<item jid='hank@{d}'><group/></item>`).want(fails(stanza.NotAcceptable)).
				on(kindProsody, ok(pushed(`hank@{d} groups=[""]`, "r1")).because("Prosody stores a group named \"\"")).
				on(kindEjabberd, fails(stanza.BadRequest).because("ejabberd answers bad-request")),
		},
	},
	{
		name: "remove with an empty group: the set is checked whole",
		steps: []rstep{
			set(`<item jid='hank@{d}'/>`).want(ok(pushed(`hank@{d}`, "r1"))),
			set(`<item jid='hank@{d}' subscription='remove'><group/></item>`).want(fails(stanza.NotAcceptable)).
				on(kindProsody, ok(pushed(`hank@{d} sub=remove`, "r1")).because("Prosody does not look at the groups of a removal")).
				on(kindEjabberd, fails(stanza.BadRequest).because("ejabberd answers bad-request")),
		},
	},
	{
		name:  "a group of white space is kept",
		steps: []rstep{set(`<item jid='ivan@{d}'><group> </group></item>`).want(ok(pushed(`ivan@{d} groups=[" "]`, "r1")))},
	},
	{
		name:  "an empty name is no name",
		steps: []rstep{set(`<item jid='judy@{d}' name=''/>`).want(ok(pushed(`judy@{d}`, "r1")))},
	},
	{
		name: "a long name and a long group are kept (no server limit, RFC 6121 §2.3.3 allows one)",
		steps: []rstep{
			set(`<item jid='ned@{d}' name='` + strings.Repeat("n", 3000) + `'><group>` + strings.Repeat("g", 3000) + `</group></item>`).
				want(ok(pushed(`ned@{d} name="`+strings.Repeat("n", 3000)+`" groups=["`+strings.Repeat("g", 3000)+`"]`, "r1"))),
		},
	},
	{
		name:  "unknown attributes and children are ignored",
		steps: []rstep{set(`<item jid='mia@{d}' foo='bar'><x xmlns='urn:x'/><group>G</group></item>`).want(ok(pushed(`mia@{d} groups=["G"]`, "r1")))},
	},
	{
		name: "ver on a set is ignored",
		steps: []rstep{
			{typ: stanza.IQSet, query: "<query xmlns='jabber:iq:roster' ver='zzz'><item jid='olga@{d}'/></query>", expect: ok(pushed(`olga@{d}`, "r1"))},
		},
	},
	{
		name: "a set addressed to another account: forbidden (RFC 6121 §2.3.3)",
		steps: []rstep{
			set(`<item jid='pat@{d}'/>`).to("bob@{d}").want(fails(stanza.Forbidden)).
				on(kindProsody, fails(stanza.ServiceUnavailable).because("Prosody has no handler for another account's roster")),
			fetch().want(rosterOf()),
		},
	},
	{
		name: "a get addressed to another account: forbidden",
		steps: []rstep{
			fetch().to("bob@{d}").want(fails(stanza.Forbidden)).
				on(kindProsody, fails(stanza.ServiceUnavailable).because("Prosody has no handler for another account's roster")),
		},
	},
	{
		name: "a set or get addressed to the domain: service-unavailable",
		steps: []rstep{
			set(`<item jid='quin@{d}'/>`).to("{d}").want(fails(stanza.ServiceUnavailable)),
			fetch().to("{d}").want(fails(stanza.ServiceUnavailable)),
		},
	},
	{
		name: "a set or get addressed to the account's own bare JID",
		steps: []rstep{
			set(`<item jid='rita@{d}'/>`).to("{owner}").want(ok(pushed(`rita@{d}`, "r1"))),
			fetch().to("{owner}").want(rosterOf(`rita@{d}`)),
		},
	},
	{
		name: "a get with an item: bad-request (RFC 6121 §2.1.3)",
		steps: []rstep{
			get(`<query xmlns='jabber:iq:roster'><item jid='zed@{d}'/></query>`).want(fails(stanza.BadRequest)).
				on(kindProsody, rosterOf().because("Prosody ignores the item")),
		},
	},
	{
		name: "a get with the current version: an empty result (RFC 6121 §2.6.3)",
		steps: []rstep{
			set(`<item jid='bob@{d}'/>`).saveVer("v").want(ok(pushed(`bob@{d}`, "r1"))),
			get("<query xmlns='jabber:iq:roster' ver='{ver:v}'/>").want(unchanged()),
		},
	},
	{
		name: "a get with a version the server never gave: the roster",
		steps: []rstep{
			set(`<item jid='bob@{d}'/>`).want(ok(pushed(`bob@{d}`, "r1"))),
			get("<query xmlns='jabber:iq:roster' ver='garbage'/>").want(rosterOf(`bob@{d}`)),
		},
	},
	{
		name: "a get with a stale version (changed while offline): the whole roster",
		steps: []rstep{
			set(`<item jid='bob@{d}'/>`).saveVer("v1").want(ok(pushed(`bob@{d}`, "r1"))),
			signOut("r1"), signIn("r2"),
			set(`<item jid='carol@{d}'/>`).by("r2").want(ok()).
				on(kindEjabberd, ok(pushed(`carol@{d}`, "r2")).because(ejabberdPushesAll)),
			signOut("r2"), signIn("r1"),
			get("<query xmlns='jabber:iq:roster' ver='{ver:v1}'/>").want(rosterOf(`bob@{d}`, `carol@{d}`)),
		},
	},
	{
		name: "a get with the empty roster's version after a first change: the whole roster",
		steps: []rstep{
			fetch().saveVer("v0").want(rosterOf()),
			signOut("r1"), signIn("r2"),
			set(`<item jid='bob@{d}'/>`).by("r2").want(ok()).
				on(kindEjabberd, ok(pushed(`bob@{d}`, "r2")).because(ejabberdPushesAll)),
			signOut("r2"), signIn("r1"),
			get("<query xmlns='jabber:iq:roster' ver='{ver:v0}'/>").want(rosterOf(`bob@{d}`)).
				on(kindProsody, unchanged().because("Prosody 0.12 gives the empty roster and the roster after its first change the same version, 1: a client that cached the empty roster misses the first item")),
		},
	},
}

// rosterServer is a server the table runs against.
type rosterServer struct {
	kind   string
	domain string
	// dial logs user in with resource res and the Mux given.
	dial func(t *testing.T, user, res string, mux *session.Mux) *session.Session
}

// rosterUsers returns the accounts the table needs: one per case, and
// bob. Every password is "pw".
func rosterUsers() map[string]string {
	users := map[string]string{"bob": "pw"}
	for i := range rosterCases {
		users[caseOwner(i)] = "pw"
	}
	return users
}

func caseOwner(i int) string { return fmt.Sprintf("rc%02d", i) }

// rclient is one resource of a case's account.
type rclient struct {
	s      *session.Session
	pushes chan *stanza.IQ
}

// newRClient returns a client, without its session yet, and the Mux that
// records the roster pushes it receives (and answers them).
func newRClient() (*rclient, *session.Mux) {
	c := &rclient{pushes: make(chan *stanza.IQ, 256)}
	mux := session.NewMux()
	mux.HandleIQFunc(stanza.IQSet, xml.Name{Space: ns.Roster, Local: "query"}, func(_ context.Context, _ *session.Session, iq *stanza.IQ) (stanza.Payload, error) {
		c.pushes <- iq
		return nil, nil
	})
	return c, mux
}

// runRosterCases runs the table against srv.
func runRosterCases(t *testing.T, srv rosterServer) {
	for i, rc := range rosterCases {
		t.Run(rc.name, func(t *testing.T) {
			runRosterCase(t, srv, caseOwner(i), rc)
		})
	}
}

func runRosterCase(t *testing.T, srv rosterServer, user string, rc rosterCase) {
	owner, err := jid.New(user, srv.domain, "")
	require.NoError(t, err)
	vers := map[string]string{}
	expand := strings.NewReplacer("{d}", srv.domain, "{owner}", owner.String())
	template := func(s string) string {
		s = expand.Replace(s)
		for name, v := range vers {
			s = strings.ReplaceAll(s, "{ver:"+name+"}", v)
		}
		return s
	}
	clients := map[string]*rclient{}
	connect := func(res string) {
		c, mux := newRClient()
		c.s = srv.dial(t, user, res, mux)
		require.True(t, c.s.Features().RosterVersioning, "%s offers roster versioning", srv.kind)
		clients[res] = c
	}
	steps := append([]rstep{signIn("r1"), fetch().want(rosterOf())}, rc.steps...)
	for n, st := range steps {
		if st.as == "" {
			st.as = "r1"
		}
		where := fmt.Sprintf("step %d (%s)", n, st.as)
		switch {
		case st.login:
			connect(st.as)
			continue
		case st.logout:
			c := clients[st.as]
			require.NotNil(t, c, where)
			require.NoError(t, c.s.Close(ctxFor(t)), where)
			delete(clients, st.as)
			continue
		}
		want := st.expect
		if alt, ok := st.alts[srv.kind]; ok {
			want = alt
		}
		if want.pushes == nil {
			want.pushes = map[string][]string{}
		}
		c := clients[st.as]
		require.NotNil(t, c, "%s: %s is not logged in", where, st.as)
		iq := &stanza.IQ{Type: st.typ}
		if st.toAddr != "" {
			iq.To, err = jid.Parse(template(st.toAddr))
			require.NoError(t, err, where)
		}
		payload, err := stanza.ParseRaw([]byte(template(st.query)))
		require.NoError(t, err, where)
		iq.Payload = payload
		reply, err := c.s.SendIQ(ctxFor(t), iq)
		where += fmt.Sprintf(" %s %s", st.typ, template(st.query))
		if len(where) > 200 {
			where = where[:200] + "…"
		}
		checkReply(t, where, owner, template, want, reply, err, st.save, vers)
		for res, rcl := range clients {
			got := receivePushes(t, rcl, len(want.pushes[res]))
			wantItems := make([]string, len(want.pushes[res]))
			for i, it := range want.pushes[res] {
				wantItems[i] = template(it)
			}
			gotItems := []string{}
			for _, p := range got {
				item, ver := checkPush(t, where, owner, p)
				gotItems = append(gotItems, item)
				if st.save != "" {
					vers[st.save] = ver
				}
			}
			assert.Equal(t, wantItems, gotItems, "%s: pushes to %s", where, res)
		}
	}
}

// checkReply checks the reply to a step.
func checkReply(t *testing.T, where string, owner jid.JID, template func(string) string, want routcome, reply *stanza.IQ, err error, save string, vers map[string]string) {
	t.Helper()
	if want.cond != "" {
		var se *stanza.Error
		require.True(t, errors.As(err, &se), "%s: want error %s, got %v", where, want.cond, err)
		assert.Equal(t, want.cond, se.Condition, "%s: error condition", where)
		if want.errType != "" {
			assert.Equal(t, want.errType, se.Type, "%s: error type", where)
		}
		return
	}
	require.NoError(t, err, where)
	raw, hasPayload := reply.Raw()
	switch {
	case want.unchanged:
		assert.False(t, hasPayload, "%s: want an empty result, got %v", where, raw)
	case want.isRoster:
		require.True(t, hasPayload, "%s: want the roster, got an empty result", where)
		q, err := roster.ParseQuery(raw)
		require.NoError(t, err, where)
		wantItems := make([]string, len(want.items))
		for i, it := range want.items {
			wantItems[i] = template(it)
		}
		gotItems := make([]string, len(q.Items))
		for i, it := range q.Items {
			gotItems[i] = render(it)
		}
		slices.Sort(wantItems)
		slices.Sort(gotItems)
		assert.Equal(t, wantItems, gotItems, "%s: roster", where)
		if want.noVer {
			assert.False(t, q.Versioned, "%s: want no ver, got %q", where, q.Ver)
		} else {
			assert.NotEmpty(t, q.Ver, "%s: the roster's version", where)
		}
		if save != "" {
			vers[save] = q.Ver
		}
	}
}

// receivePushes waits for n pushes to c, then makes sure no other one
// comes: the server's answer to a ping sent afterwards would follow it.
func receivePushes(t *testing.T, c *rclient, n int) []*stanza.IQ {
	t.Helper()
	var got []*stanza.IQ
	timeout := time.After(5 * time.Second)
	for len(got) < n {
		select {
		case p := <-c.pushes:
			got = append(got, p)
		case <-timeout:
			return got // the comparison reports what is missing
		}
	}
	ping, err := stanza.ParseRaw([]byte("<ping xmlns='urn:xmpp:ping'/>"))
	require.NoError(t, err)
	_, err = c.s.SendIQ(ctxFor(t), &stanza.IQ{Header: stanza.Header{To: c.s.Addr().Domain()}, Type: stanza.IQGet, Payload: ping})
	require.NoError(t, err)
	for {
		select {
		case p := <-c.pushes:
			got = append(got, p)
		default:
			return got
		}
	}
}

// checkPush checks what every roster push must be (RFC 6121 §2.1.6: from
// the account, one item; §2.6: a version) and returns its item, rendered,
// and its version.
func checkPush(t *testing.T, where string, owner jid.JID, p *stanza.IQ) (string, string) {
	t.Helper()
	assert.True(t, p.From.IsZero() || p.From == owner, "%s: push from %s", where, p.From)
	raw, ok := p.Raw()
	require.True(t, ok, "%s: push without payload", where)
	q, err := roster.ParseQuery(raw)
	require.NoError(t, err, where)
	require.Len(t, q.Items, 1, "%s: a push has one item", where)
	assert.NotEmpty(t, q.Ver, "%s: a push has a version", where)
	return render(q.Items[0]), q.Ver
}

// render writes an item as the table does: the JID, then what is not the
// default (name, subscription, ask, approved, groups in sorted order).
func render(it roster.Item) string {
	var b strings.Builder
	b.WriteString(it.JID.String())
	if it.Name != "" {
		fmt.Fprintf(&b, " name=%q", it.Name)
	}
	if it.Subscription != roster.SubscriptionNone {
		b.WriteString(" sub=" + it.Subscription.String())
	}
	if it.Ask {
		b.WriteString(" ask")
	}
	if it.Approved {
		b.WriteString(" approved")
	}
	if len(it.Groups) > 0 {
		g := slices.Clone(it.Groups)
		slices.Sort(g)
		fmt.Fprintf(&b, " groups=%q", g)
	}
	return b.String()
}

func ctxFor(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return c
}

// TestRosterCases runs the table against xmpptest.
func TestRosterCases(t *testing.T) {
	srv := xmpptest.NewServer(t, nil)
	for user, pw := range rosterUsers() {
		_, err := srv.AddUser(user, pw)
		require.NoError(t, err)
	}
	runRosterCases(t, rosterServer{
		kind:   kindXmpptest,
		domain: srv.Domain().Domainpart(),
		dial: func(t *testing.T, user, res string, mux *session.Mux) *session.Session {
			addr, err := jid.New(user, srv.Domain().Domainpart(), res)
			require.NoError(t, err)
			s, err := srv.Connect(ctxFor(t), addr, "pw", &session.Config{Mux: mux, KeepAlive: -1})
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close(context.Background()) })
			return s
		},
	})
}

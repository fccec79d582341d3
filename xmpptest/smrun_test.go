package xmpptest_test

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/wire"
	"github.com/parleyim/parley/stanza"
	"github.com/parleyim/parley/xmpptest"
)

// The stream management table (smcases_test.go) runs with raw XML over
// TCP, on xmpptest (listening on 127.0.0.1) and, under the interop tag,
// on Prosody and ejabberd. Each case is a script of smClient calls; every
// element a client receives becomes a line of the case's log, written by
// renderSM:
//
//	a1: enabled resume max=300          <enabled/> (its id is kept, and checked to be there)
//	a1: a h=2                           an answer to <r/>
//	a1: message from={b}/b1 "hi" delay  a message: its type unless normal, body, a <delay/>
//	a1: message error from={b} service-unavailable
//	a1: presence from={b}/b1 unavailable
//	a1: iq result id=p1
//	a1: failed unexpected-request h=0   <failed/>: its condition, h when given
//	a2: resumed h=1 previd              <resumed/>: h, and previd when it is the id enabled gave
//	a1: stream-error undefined-condition handled-count-too-high h=9 send-count=1
//	a1: closed                          the server's </stream:stream> or the connection's end
//
// The <r/> a server sends to request an ack are not lines (when and how
// often they come differs): smClient counts them, and cases that care
// log the count themselves.

// smServer is a server the table runs against.
type smServer struct {
	kind   string
	domain string
	addr   string
	tls    *tls.Config
	// resume is the resumption timeout the server was started with.
	resume time.Duration
	// settle is how long a client waits to be sure nothing more comes.
	settle time.Duration
	// restart restarts the server (the restart table only).
	restart func() error
}

// smCase is one case: a script, and the log it must produce.
type smCase struct {
	name string
	run  func(r *smRun)
	want []string
	// on replaces want for one server kind, with the reason.
	on map[string]smDiff
	// ignoreDelay leaves the delays of messages out of the comparison.
	ignoreDelay bool
	// alt lists, by server kind, other logs the server may give where
	// timing decides what it does (the restart table only).
	alt map[string][][]string
}

type smDiff struct {
	why  string
	want []string
}

// smRun is one case being run.
type smRun struct {
	t      *testing.T
	srv    smServer
	i      int
	prefix string // of the case's accounts (caseUser)
	// closeTag: a connection's end says whether the server's
	// </stream:stream> came first (the restart table only).
	closeTag bool
	shorten  *strings.Replacer
	mu       sync.Mutex
	log      []string
	clients  []*smClient
}

func smUsers() map[string]string { return caseUsers("sm", len(smCases)) }

// runSMCases runs the table on srv.
func runSMCases(t *testing.T, srv smServer) {
	for i, c := range smCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := newSMRun(t, srv, i)
			c.run(r)
			want, why := c.want, ""
			if d, ok := c.on[srv.kind]; ok {
				want, why = d.want, d.why
			}
			if c.ignoreDelay {
				for i, l := range r.log {
					r.log[i] = strings.ReplaceAll(l, " delay", "")
				}
			}
			if os.Getenv("SMCASES_PRINT") != "" {
				t.Logf("%s on %s:\n\t%q", c.name, srv.kind, r.log)
			}
			assert.Equal(t, want, r.log, "%s on %s %s%s", c.name, srv.kind, why, r.ends())
		})
	}
}

// ends lists what ended each client's reading that has ended, for a
// failed case's message.
func (r *smRun) ends() string {
	r.mu.Lock()
	clients := slices.Clone(r.clients)
	r.mu.Unlock()
	var b strings.Builder
	for _, c := range clients {
		c.mu.Lock()
		if c.endErr != nil {
			fmt.Fprintf(&b, "\n\t%s ended on: %v", c.name, c.endErr)
		}
		c.mu.Unlock()
	}
	return b.String()
}

// newSMRun starts a run with the accounts of case i.
func newSMRun(t *testing.T, srv smServer, i int) *smRun {
	return newRun(t, srv, "sm", i)
}

// newRun starts a run with the accounts of case i of the table whose
// accounts are named after prefix.
func newRun(t *testing.T, srv smServer, prefix string, i int) *smRun {
	r := &smRun{t: t, srv: srv, i: i, prefix: prefix}
	var back []string
	for _, l := range "abc" {
		back = append(back, caseUser(prefix, i, l)+"@"+srv.domain, "{"+string(l)+"}")
	}
	back = append(back, srv.domain, "{d}")
	r.shorten = strings.NewReplacer(back...)
	t.Cleanup(func() {
		for _, c := range r.clients {
			c.conn.Close()
			<-c.done
		}
	})
	return r
}

// note adds a line to the log.
func (r *smRun) note(line string) {
	r.mu.Lock()
	r.log = append(r.log, line)
	r.mu.Unlock()
}

// smClient is one raw connection of a case.
type smClient struct {
	r     *smRun
	name  string // for the log: "a1", "a2", …
	user  string
	conn  net.Conn
	rd    *wire.Reader
	lines chan string
	done  chan struct{}

	mu      sync.Mutex
	h       uint32 // stanzas received since <enabled/> or <resumed/>
	counted bool
	rs      int // <r/> received
	smID    string
	endErr  error // what ended the reading, for a failed case's report
}

// dial opens a connection for letter's account and authenticates it
// (STARTTLS, PLAIN). name is the client's name in the log.
func (r *smRun) dial(name string) *smClient {
	t := r.t
	user := caseUser(r.prefix, r.i, rune(name[0]))
	conn, err := net.DialTimeout("tcp", r.srv.addr, 10*time.Second)
	require.NoError(t, err)
	c := &smClient{r: r, name: name, user: user, conn: conn, lines: make(chan string, 20000), done: make(chan struct{})}
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	c.rd = wire.NewReader(conn, wire.Limits{})
	c.open()
	c.xsend("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
	require.Equal(t, "proceed", c.xnext().Name().Local)
	tc := tls.Client(conn, r.srv.tls)
	require.NoError(t, tc.Handshake())
	c.conn = tc
	c.rd = wire.NewReader(tc, wire.Limits{})
	c.open()
	c.xsend("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
		base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00pw")) + "</auth>")
	require.Equal(t, "success", c.xnext().Name().Local)
	c.rd.Restart()
	features := c.open()
	require.Contains(t, features.String(), "'"+ns.SM+"'", "no stream management feature after authentication")
	return c
}

// login dials and binds resource name.
func (r *smRun) login(name string) *smClient {
	c := r.dial(name)
	c.xsend("<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>" + name + "</resource></bind></iq>")
	require.Contains(r.t, c.xnext().String(), "/"+name+"</jid>")
	c.start()
	return c
}

// start hands the connection to the reading goroutine.
func (c *smClient) start() {
	_ = c.conn.SetDeadline(time.Time{})
	c.r.mu.Lock()
	c.r.clients = append(c.r.clients, c)
	c.r.mu.Unlock()
	go c.read()
}

func (c *smClient) open() *stanza.Raw {
	c.xsend(string(wire.AppendHeader(nil, wire.Header{To: c.r.srv.domain, Version: "1.0"})))
	_, err := c.rd.ReadHeader()
	require.NoError(c.r.t, err)
	return c.xnext()
}

func (c *smClient) xsend(s string) {
	_, err := c.conn.Write([]byte(s))
	require.NoError(c.r.t, err)
}

func (c *smClient) xnext() *stanza.Raw {
	start, err := c.rd.NextElement()
	require.NoError(c.r.t, err)
	raw, err := stanza.ReadRaw(c.rd, start)
	require.NoError(c.r.t, err)
	return raw
}

// read renders what arrives, until the stream or connection ends.
func (c *smClient) read() {
	defer close(c.done)
	defer close(c.lines)
	for {
		start, err := c.rd.NextElement()
		if err != nil {
			c.mu.Lock()
			c.endErr = err
			c.mu.Unlock()
			if c.r.closeTag && !errors.Is(err, wire.ErrStreamClosed) {
				c.lines <- c.name + ": connection ended without </stream:stream>"
				return
			}
			c.lines <- c.name + ": closed"
			return
		}
		raw, err := stanza.ReadRaw(c.rd, start)
		if err != nil {
			c.mu.Lock()
			c.endErr = err
			c.mu.Unlock()
			c.lines <- c.name + ": closed"
			return
		}
		name := raw.Name()
		c.mu.Lock()
		switch {
		case name == xml.Name{Space: ns.SM, Local: "r"}:
			c.rs++
			c.mu.Unlock()
			continue
		case name.Space == ns.Client && c.counted:
			c.h++
		case name == xml.Name{Space: ns.SM, Local: "enabled"}:
			c.smID = raw.Attr("id")
			c.counted = true
		case name == xml.Name{Space: ns.SM, Local: "resumed"}:
			c.counted = true
		}
		c.mu.Unlock()
		c.lines <- c.r.shorten.Replace(c.render(raw))
	}
}

// render writes one received element as a line.
func (c *smClient) render(raw *stanza.Raw) string {
	var n smNode
	_ = raw.Decode(&n)
	line := raw.Name().Local
	switch raw.Name() {
	case xml.Name{Space: ns.SM, Local: "enabled"}:
		if raw.Attr("resume") == "true" || raw.Attr("resume") == "1" {
			line += " resume"
		}
		if m := raw.Attr("max"); m != "" {
			line += " max=" + m
		}
		if raw.Attr("id") == "" {
			line += " without id"
		}
	case xml.Name{Space: ns.SM, Local: "a"}:
		line += " h=" + raw.Attr("h")
	case xml.Name{Space: ns.SM, Local: "resumed"}:
		line += " h=" + raw.Attr("h")
		if raw.Attr("previd") != "" && raw.Attr("previd") == c.r.prevID() {
			line += " previd"
		}
	case xml.Name{Space: ns.SM, Local: "failed"}:
		for _, k := range n.Nodes {
			if k.XMLName.Local != "text" {
				line += " " + k.XMLName.Local
			}
		}
		if h := raw.Attr("h"); h != "" {
			line += " h=" + h
		}
	case xml.Name{Space: ns.Stream, Local: "error"}:
		line = "stream-error"
		for _, k := range n.Nodes {
			if k.XMLName.Local == "text" {
				continue
			}
			line += " " + k.XMLName.Local
			for _, a := range k.Attrs {
				if a.Name.Space == "" {
					line += " " + a.Name.Local + "=" + a.Value
				}
			}
		}
	case xml.Name{Space: ns.Client, Local: "message"}:
		if typ := raw.Attr("type"); typ != "" && typ != "normal" {
			line += " " + typ
		}
		line += " from=" + raw.Attr("from")
		delays := ""
		for _, k := range n.Nodes {
			switch k.XMLName.Local {
			case "body":
				line += " " + strconv.Quote(k.Text)
			case "delay":
				delays += " delay"
			case "error":
				line += " " + errorCond(k)
			}
		}
		line += delays
	case xml.Name{Space: ns.Client, Local: "presence"}:
		line += " from=" + raw.Attr("from")
		if typ := raw.Attr("type"); typ != "" {
			line += " " + typ
		}
	case xml.Name{Space: ns.Client, Local: "iq"}:
		line += " " + raw.Attr("type") + " id=" + raw.Attr("id")
		for _, k := range n.Nodes {
			if k.XMLName.Local == "error" {
				line += " " + errorCond(k)
			}
			line += renderPayload(k)
		}
	}
	return c.name + ": " + line
}

// renderPayload renders the roster items, blocked JIDs and privacy list
// items of an iq's payload (the restart table reads stored state with
// them).
func renderPayload(p smNode) string {
	var line string
	for _, k := range p.Nodes {
		switch {
		case p.XMLName.Space == ns.Roster && k.XMLName.Local == "item":
			line += " item=" + k.attr("jid") + " " + k.attr("subscription")
			if ask := k.attr("ask"); ask != "" {
				line += " ask=" + ask
			}
		case p.XMLName.Space == ns.Blocking && k.XMLName.Local == "item":
			line += " blocked=" + k.attr("jid")
		case p.XMLName.Space == ns.Privacy && k.XMLName.Local == "list":
			line += " list=" + k.attr("name")
			for _, it := range k.Nodes {
				line += " " + it.attr("action") + "=" + it.attr("value")
			}
		}
	}
	return line
}

// attr returns the value of the unqualified attribute name.
func (n smNode) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func errorCond(e smNode) string {
	for _, k := range e.Nodes {
		if k.XMLName.Space == ns.StanzaErrors && k.XMLName.Local != "text" {
			return k.XMLName.Local
		}
	}
	return "?"
}

// smNode is any element, for rendering.
type smNode struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []smNode   `xml:",any"`
	Text    string     `xml:",chardata"`
}

// prevID is the id the first client of the case was given.
func (r *smRun) prevID() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.clients {
		c.mu.Lock()
		id := c.smID
		c.mu.Unlock()
		if id != "" {
			return id
		}
	}
	return ""
}

// expand replaces {a}, {b}, {c} and {d} with the case's accounts and
// the domain.
func (c *smClient) expand(s string) string {
	var pairs []string
	for _, l := range "abc" {
		pairs = append(pairs, "{"+string(l)+"}", caseUser(c.r.prefix, c.r.i, l)+"@"+c.r.srv.domain)
	}
	pairs = append(pairs, "{d}", c.r.srv.domain)
	return strings.NewReplacer(pairs...).Replace(s)
}

// send writes XML ({a}, {b}, {c}, {d} expanded).
func (c *smClient) send(s string) {
	s = c.expand(s)
	_, err := c.conn.Write([]byte(s))
	require.NoError(c.r.t, err, "%s: sending %s", c.name, s)
}

// expect logs the next n lines the client receives (failing after 10 s).
func (c *smClient) expect(n int) {
	for range n {
		select {
		case l, ok := <-c.lines:
			if !ok {
				c.r.note(c.name + ": (nothing more: the connection ended)")
				return
			}
			c.r.note(l)
		case <-time.After(10 * time.Second):
			c.r.note(c.name + ": (nothing within 10 s)")
			return
		}
	}
}

// quiet logs whatever the client receives until nothing comes for the
// server's settle time.
func (c *smClient) quiet() {
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				return
			}
			c.r.note(l)
		case <-time.After(c.r.srv.settle):
			return
		}
	}
}

// until logs what the client receives up to and including a line
// starting with prefix (failing after wait).
func (c *smClient) until(prefix string, wait time.Duration) {
	deadline := time.After(wait)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				c.r.note(c.name + ": (nothing more: the connection ended)")
				return
			}
			c.r.note(l)
			if strings.HasPrefix(l, c.name+": "+prefix) {
				return
			}
		case <-deadline:
			c.r.note(c.name + ": (no " + prefix + " within " + wait.String() + ")")
			return
		}
	}
}

// ack sends <a/> with everything received so far.
func (c *smClient) ack() {
	c.mu.Lock()
	h := c.h
	c.mu.Unlock()
	c.send(fmt.Sprintf("<a xmlns='urn:xmpp:sm:3' h='%d'/>", h))
}

// handled returns the client's count of stanzas received.
func (c *smClient) handled() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.h
}

// requests returns how many <r/> the client received.
func (c *smClient) requests() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rs
}

// id returns the id <enabled/> gave.
func (c *smClient) id() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.smID
}

// cut closes the TCP connection without closing the stream.
func (c *smClient) cut() {
	c.conn.Close()
	<-c.done
}

// close closes the stream and waits for the server's close.
func (c *smClient) close() {
	c.send("</stream:stream>")
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		c.r.note(c.name + ": (the server did not close within 10 s)")
	}
	c.conn.Close()
}

// resume dials a new connection for name's account and asks to resume
// previd, having handled h.
func (r *smRun) resume(name, previd string, h uint32) *smClient {
	c := r.dial(name)
	c.start()
	c.send(fmt.Sprintf("<resume xmlns='urn:xmpp:sm:3' previd='%s' h='%d'/>", previd, h))
	return c
}

// presence sends initial presence and waits for its echo.
func (c *smClient) presence() {
	c.send("<presence/>")
	for l := range c.lines {
		if strings.HasPrefix(l, c.name+": presence from={") && strings.Contains(l, "/"+c.name) {
			return
		}
	}
}

// xmpptestSM is xmpptest, listening on TCP, for the table.
func xmpptestSM(t *testing.T, cfg *xmpptest.Config) smServer {
	_, srv := xmpptestSMServer(t, cfg)
	return srv
}

func xmpptestSMServer(t *testing.T, cfg *xmpptest.Config) (*xmpptest.Server, smServer) {
	cfg.Listen = true
	srv := xmpptest.NewServer(t, cfg)
	for u, pw := range smUsers() {
		_, err := srv.AddUser(u, pw)
		require.NoError(t, err)
	}
	return srv, smServer{kind: "xmpptest", domain: srv.Domain().String(), addr: srv.Addr(), tls: srv.TLSConfig(), resume: cfg.ResumeTimeout, settle: 100 * time.Millisecond}
}

// TestSMCases runs the table on xmpptest.
func TestSMCases(t *testing.T) {
	runSMCases(t, xmpptestSM(t, &xmpptest.Config{ResumeTimeout: smResume}))
}

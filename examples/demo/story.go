package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"mellium.im/xmlstream"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/ping"
	"github.com/parleyim/parley/presence"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// A step is one thing that must happen in the story. It returns an error
// saying what did not happen; ctx carries the step's timeout.
type step struct {
	name string
	run  func(ctx context.Context, st *story) error
}

// storySteps is the story, in order. Later features append their steps
// (messages with receipts, blocking) here.
func storySteps() []step {
	return []step{
		{"alice logs in", func(ctx context.Context, st *story) error { return st.login(ctx, st.alice) }},
		{"bob logs in", func(ctx context.Context, st *story) error { return st.login(ctx, st.bob) }},
		{"alice adds bob to her roster", addToRoster},
		{"alice asks to see bob's presence; bob approves", aliceSubscribes},
		{"bob asks to see alice's presence; alice approves", bobSubscribes},
		{"alice changes her status", aliceChangesStatus},
		{"bob changes his status", bobChangesStatus},
		{"alice starts a thread with bob", aliceWrites},
		{"bob answers in the same thread", bobAnswers},
		{"alice pings the server", pingServer},
		{"alice pings bob", pingBob},
		{"alice logs out; bob sees her go offline", aliceLogsOut},
		{"bob logs out", bobLogsOut},
	}
}

// actor is one of the two accounts and what it received.
type actor struct {
	name     string
	addr     jid.JID
	password string
	sess     *session.Session
	messages chan *stanza.Message
	roster   *roster.Roster
	pushes   chan roster.Item
	presence *presence.Manager
	events   chan presence.Event // what the broadcast callback saw of contacts
}

// story is the state the steps share.
type story struct {
	cfg        config
	out        *printer
	connect    func(ctx context.Context, who *actor, c *session.Config) (*session.Session, error)
	alice, bob *actor
	thread     stanza.Thread
}

// login connects who with a Mux that keeps the roster (fetched at login,
// before anything else happens on the stream) and presence (initial
// presence right after the roster; subscription requests from the other
// actor approved), records messages, roster pushes and presence events,
// and answers pings.
func (st *story) login(ctx context.Context, who *actor) error {
	who.messages = make(chan *stanza.Message, 16)
	who.pushes = make(chan roster.Item, 16)
	who.events = make(chan presence.Event, 64)
	mux := session.NewMux()
	who.roster = roster.Handle(mux)
	who.roster.HandlePush(func(_ context.Context, _ *session.Session, it roster.Item) {
		select {
		case who.pushes <- it:
		default:
		}
	})
	st.handlePresence(mux, who)
	mux.HandleMessageFunc(session.MessageRoute{}, func(_ context.Context, _ *session.Session, m *stanza.Message) {
		st.out.recv(who.name, m)
		select {
		case who.messages <- m:
		default:
		}
	})
	mux.HandleIQFunc(stanza.IQGet, xml.Name{Space: ping.NS, Local: "ping"},
		func(_ context.Context, _ *session.Session, iq *stanza.IQ) (stanza.Payload, error) {
			st.out.event(who.name, "answers a ping from %s", iq.From)
			return nil, nil
		})
	c := &session.Config{Mux: mux, Resource: "demo"}
	if st.cfg.xml {
		c.Trace = st.out.trace(who.name)
	}
	s, err := st.connect(ctx, who, c)
	if err != nil {
		return err
	}
	who.sess = s
	tlsInfo := "no TLS"
	if cs := s.TLS(); cs != nil {
		tlsInfo = tlsVersion(cs.Version)
	}
	st.out.event(who.name, "logged in as %s (%s)", s.Addr(), tlsInfo)
	st.out.event(who.name, "roster fetched: %d item(s); initial presence sent", who.roster.Cache().Len())
	return nil
}

// addToRoster has alice add bob to her roster with a name and a group,
// and waits for the server's push of the new item (RFC 6121 §2.3).
func addToRoster(ctx context.Context, st *story) error {
	want := roster.Item{JID: st.bob.addr.Bare(), Name: "Bob", Groups: []string{"Friends"}}
	st.out.event(st.alice.name, "adds %s as %q in group %q", want.JID, want.Name, want.Groups[0])
	if err := roster.Set(ctx, st.alice.sess, want); err != nil {
		return fmt.Errorf("alice could not add bob: %w", err)
	}
	it, err := waitPush(ctx, st.alice, want.JID.String(), func(it roster.Item) bool { return it.JID == want.JID })
	if err != nil {
		return err
	}
	st.out.event(st.alice.name, "roster push: %s %q %v, subscription %s", it.JID, it.Name, it.Groups, it.Subscription)
	if it.Name != want.Name || !slices.Equal(it.Groups, want.Groups) {
		return fmt.Errorf("the push has %q %v, want %q %v", it.Name, it.Groups, want.Name, want.Groups)
	}
	if _, ok := st.alice.roster.Cache().Item(want.JID); !ok {
		return errors.New("bob is not in alice's roster cache after the push")
	}
	st.out.event(st.alice.name, "roster now: %d item(s), groups %v", st.alice.roster.Cache().Len(), st.alice.roster.Cache().Groups())
	return nil
}

func aliceWrites(ctx context.Context, st *story) error {
	st.thread = stanza.Thread{ID: "demo-" + randomTag()}
	return st.chat(ctx, st.alice, st.bob, "Hi Bob! Shall we try Parley?")
}

func bobAnswers(ctx context.Context, st *story) error {
	return st.chat(ctx, st.bob, st.alice, "Hi Alice, it works: same thread, see?")
}

// chat sends a chat message in the story's thread to the peer's bare JID
// and waits until the peer has it.
func (st *story) chat(ctx context.Context, from, to *actor, body string) error {
	m := &stanza.Message{Header: stanza.Header{To: to.sess.Addr().Bare()}, Type: stanza.MessageChat, Body: body, Thread: st.thread}
	st.out.event(from.name, "→ %s: %q (thread %s)", m.To, body, st.thread.ID)
	if err := from.sess.Send(ctx, m); err != nil {
		return fmt.Errorf("%s could not send: %w", from.name, err)
	}
	for {
		select {
		case got := <-to.messages:
			if got.Type == stanza.MessageError {
				return fmt.Errorf("%s's message bounced: %w", from.name, got.Error)
			}
			if got.Body != body {
				continue // something else; keep waiting
			}
			if got.Thread.ID != st.thread.ID {
				return fmt.Errorf("%s got the message in thread %q, want %q", to.name, got.Thread.ID, st.thread.ID)
			}
			if got.From != from.sess.Addr() {
				return fmt.Errorf("%s got the message from %s, want %s", to.name, got.From, from.sess.Addr())
			}
			return nil
		case <-ctx.Done():
			return fmt.Errorf("%s did not receive %q: %w", to.name, body, ctx.Err())
		}
	}
}

func pingServer(ctx context.Context, st *story) error {
	return st.ping(ctx, st.alice, st.alice.sess.Addr().Domainpart(), st.alice.sess.Addr().Domain())
}

func pingBob(ctx context.Context, st *story) error {
	return st.ping(ctx, st.alice, st.bob.name, st.bob.sess.Addr())
}

// ping sends an XEP-0199 ping and waits for the answer.
func (st *story) ping(ctx context.Context, from *actor, label string, to jid.JID) error {
	st.out.event(from.name, "pings %s", to)
	start := nowFunc()
	if _, err := from.sess.SendIQ(ctx, pingIQ(to)); err != nil {
		return fmt.Errorf("no pong from %s: %w", label, err)
	}
	st.out.event(from.name, "pong from %s after %s", to, sinceRounded(start))
	return nil
}

// pingIQ is an XEP-0199 ping to to.
func pingIQ(to jid.JID) *stanza.IQ {
	payload := stanza.PayloadFunc(func(w xmlstream.TokenWriter) (int, error) {
		start := xml.StartElement{Name: xml.Name{Space: ping.NS, Local: "ping"}}
		if err := w.EncodeToken(start); err != nil {
			return 0, err
		}
		return 0, w.EncodeToken(start.End())
	})
	return &stanza.IQ{Header: stanza.Header{To: to}, Type: stanza.IQGet, Payload: payload}
}

// bobLogsOut closes bob's session.
func bobLogsOut(ctx context.Context, st *story) error {
	return st.logOut(ctx, st.bob)
}

// logOut closes who's session: the presence package sends unavailable
// presence first.
func (st *story) logOut(ctx context.Context, who *actor) error {
	if err := who.sess.Close(ctx); err != nil {
		return fmt.Errorf("%s: %w", who.name, err)
	}
	who.sess = nil
	st.out.event(who.name, "logged out")
	return nil
}

// closeAll ends the sessions a failed story left open.
func (st *story) closeAll() {
	for _, who := range []*actor{st.alice, st.bob} {
		if who != nil && who.sess != nil {
			_ = who.sess.Close(context.Background())
			who.sess = nil
		}
	}
}

// printer writes the transcript of the story, one line at a time.
type printer struct {
	mu sync.Mutex
	w  io.Writer
}

func newPrinter(w io.Writer) *printer { return &printer{w: w} }

func (p *printer) line(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.w, s)
}

func (p *printer) step(n int, name string) { p.line(fmt.Sprintf("\n== %d. %s", n, name)) }

func (p *printer) note(format string, args ...any) { p.line("   " + fmt.Sprintf(format, args...)) }

func (p *printer) event(who, format string, args ...any) {
	p.line(fmt.Sprintf("   [%-5s] %s", who, fmt.Sprintf(format, args...)))
}

func (p *printer) recv(who string, m *stanza.Message) {
	if m.Type == stanza.MessageError {
		p.event(who, "← error from %s: %v", m.From, m.Error)
		return
	}
	thread := ""
	if m.Thread.ID != "" {
		thread = " (thread " + m.Thread.ID + ")"
	}
	p.event(who, "← %s: %q%s", m.From, m.Body, thread)
}

// trace returns a writer for Config.Trace that prints each line of XML
// under the actor's name.
func (p *printer) trace(who string) io.Writer {
	return &traceWriter{p: p, who: who}
}

// traceWriter collects the trace's writes (a direction, a chunk, a
// newline) into lines.
type traceWriter struct {
	p   *printer
	who string
	buf []byte
}

func (t *traceWriter) Write(b []byte) (int, error) {
	t.buf = append(t.buf, b...)
	for {
		i := bytes.IndexByte(t.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		if line := strings.TrimSpace(string(t.buf[:i])); line != "" {
			t.p.line(fmt.Sprintf("          %-5s %s", t.who, line))
		}
		t.buf = t.buf[i+1:]
	}
}

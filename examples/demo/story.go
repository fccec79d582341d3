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

	"github.com/parleyim/parley/im"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/ping"
	"github.com/parleyim/parley/presence"
	"github.com/parleyim/parley/privacy"
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
		{"alice starts a conversation with bob, asking for a receipt", aliceWrites},
		{"bob's client acknowledges alice's message", bobAcknowledges},
		{"bob types; alice sees that he is composing", bobTypes},
		{"bob answers in the same thread, to alice's resource", bobAnswers},
		{"bob blocks alice; her next message does not reach him", bobBlocks},
		{"bob unblocks alice; her message now arrives", bobUnblocks},
		{"alice pings the server", pingServer},
		{"alice pings bob", pingBob},
		{"the server restarts; alice and bob log in again and see each other online", serverRestarts},
		{"alice logs out; bob sees her go offline", aliceLogsOut},
		{"bob logs out", bobLogsOut},
	}
}

// actor is one of the two accounts and what it received.
type actor struct {
	name     string
	addr     jid.JID
	password string
	// sess is the account's connection for the whole story: the steps
	// send through it (a session.Sender), and it logs in again when the
	// server ends the stream.
	sess     *session.Client
	stop     context.CancelFunc // ends sess's Run
	ran      chan error         // what Run returned
	conn     chan session.Event // sess's events, for the steps that wait for them
	messages chan *im.Message
	im       *im.Manager
	roster   *roster.Roster
	privacy  *privacy.Manager
	pushes   chan roster.Item
	presence *presence.Manager
	status   presence.Available // the presence the story set last
	events   chan seen          // what the broadcast callback saw of contacts
}

// story is the state the steps share.
type story struct {
	cfg config
	out *printer
	// reach sets what a session needs to reach the server (Addr,
	// DialContext, TLSConfig).
	reach func(c *session.Config)
	// restart restarts the server under the connected clients; nil when
	// the demo cannot (-server).
	restart    func() error
	alice, bob *actor
	lastID     string // the id of alice's first message, which bob acknowledges
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
	conv := st.alice.im.Conversation(st.bob.addr)
	id, err := st.send(ctx, st.alice, st.bob, "Hi Bob! Shall we try Parley?")
	if err != nil {
		return err
	}
	st.lastID = id
	got, err := st.wait(ctx, st.bob, "alice's message", func(m *im.Message) bool { return m.ID == id })
	if err != nil {
		return err
	}
	if got.Message.Thread.ID != conv.Thread() {
		return fmt.Errorf("bob got the message in thread %q, want %q", got.Message.Thread.ID, conv.Thread())
	}
	if !got.ReceiptRequest || got.ChatState != im.Active {
		return fmt.Errorf("bob got the message with receipt request %v and chat state %s, want true and active", got.ReceiptRequest, got.ChatState)
	}
	return nil
}

// bobAcknowledges waits for the receipt that bob's client sent on its own
// (alice may see bob's presence, so his client answers her request).
func bobAcknowledges(ctx context.Context, st *story) error {
	ack, err := st.wait(ctx, st.alice, "bob's receipt", func(m *im.Message) bool { return string(m.Receipt) == st.lastID })
	if err != nil {
		return err
	}
	st.out.event(st.alice.name, "her message %s was delivered to %s", st.lastID, ack.From)
	return nil
}

// bobTypes has bob's conversation say that he is composing: alice's message
// carried a chat state, so her client understands them (XEP-0085).
func bobTypes(ctx context.Context, st *story) error {
	st.out.event(st.bob.name, "starts typing")
	if err := st.bob.im.Conversation(st.alice.addr).SendState(ctx, st.bob.sess, im.Composing); err != nil {
		return fmt.Errorf("bob could not send his chat state: %w", err)
	}
	_, err := st.wait(ctx, st.alice, "bob's composing notification", func(m *im.Message) bool {
		return m.From.Bare() == st.bob.addr.Bare() && m.ChatState == im.Composing && m.Body == ""
	})
	return err
}

func bobAnswers(ctx context.Context, st *story) error {
	conv := st.bob.im.Conversation(st.alice.addr)
	if conv.To() != st.alice.sess.Addr() {
		return fmt.Errorf("bob's conversation goes to %s, want alice's resource %s, which wrote", conv.To(), st.alice.sess.Addr())
	}
	id, err := st.send(ctx, st.bob, st.alice, "Hi Alice, it works: same thread, see?")
	if err != nil {
		return err
	}
	got, err := st.wait(ctx, st.alice, "bob's answer", func(m *im.Message) bool { return m.ID == id })
	if err != nil {
		return err
	}
	if want := st.alice.im.Conversation(st.bob.addr).Thread(); got.Message.Thread.ID != want {
		return fmt.Errorf("alice got the answer in thread %q, want %q", got.Message.Thread.ID, want)
	}
	return nil
}

// blockedBody is what alice writes while bob blocks her.
const blockedBody = "Bob? Are you ignoring me?"

// bobBlocks has bob block alice (XEP-0191 when the server has it, else his
// default privacy list), then has alice write to him. Whether the server
// answers her with an error (ejabberd and xmpptest do, Prosody drops the
// message) the message must never reach bob: the next step shows it.
func bobBlocks(ctx context.Context, st *story) error {
	st.out.event(st.bob.name, "blocks %s", st.alice.addr.Bare())
	if err := privacy.BlockContact(ctx, st.bob.sess, st.alice.addr.Bare()); err != nil {
		return fmt.Errorf("bob could not block alice: %w", err)
	}
	if _, err := st.send(ctx, st.alice, st.bob, blockedBody); err != nil {
		return err
	}
	// A ping on alice's stream returns once the server has routed what she
	// sent before it: the message met the block, and unblocking next cannot
	// overtake it.
	if _, err := ping.Send(ctx, st.alice.sess, st.alice.addr.Domain()); err != nil {
		return fmt.Errorf("alice's ping after her message: %w", err)
	}
	return nil
}

// bobUnblocks has bob unblock alice and waits for her next message: it
// arrives, and the one she sent while blocked never did before it.
func bobUnblocks(ctx context.Context, st *story) error {
	st.out.event(st.bob.name, "unblocks %s", st.alice.addr.Bare())
	if err := privacy.UnblockContact(ctx, st.bob.sess, st.alice.addr.Bare()); err != nil {
		return fmt.Errorf("bob could not unblock alice: %w", err)
	}
	const body = "There you are again."
	if _, err := st.send(ctx, st.alice, st.bob, body); err != nil {
		return err
	}
	var leaked bool
	if _, err := st.wait(ctx, st.bob, "alice's message after the unblock", func(m *im.Message) bool {
		leaked = leaked || m.Body == blockedBody
		return m.Body == body
	}); err != nil {
		return err
	}
	if leaked {
		return errors.New("bob received the message alice sent while he blocked her")
	}
	st.out.event(st.bob.name, "got alice's new message; the blocked one never came")
	return nil
}

// send sends body in from's conversation with to and returns its id.
func (st *story) send(ctx context.Context, from, to *actor, body string) (string, error) {
	conv := from.im.Conversation(to.addr)
	st.out.event(from.name, "→ %s: %q (thread %s)", conv.To(), body, conv.Thread())
	id, err := conv.Send(ctx, from.sess, body)
	if err != nil {
		return "", fmt.Errorf("%s could not send: %w", from.name, err)
	}
	return id, nil
}

// wait waits until who receives a message that match accepts. An error
// message fails it.
func (st *story) wait(ctx context.Context, who *actor, what string, match func(*im.Message) bool) (*im.Message, error) {
	for {
		select {
		case got := <-who.messages:
			if got.Type == stanza.MessageError {
				return nil, fmt.Errorf("%s got an error from %s: %w", who.name, got.From, got.Error)
			}
			if match(got) {
				return got, nil
			}
		case <-ctx.Done():
			return nil, fmt.Errorf("%s did not receive %s: %w", who.name, what, ctx.Err())
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

func (p *printer) recv(who string, m *im.Message) {
	switch {
	case m.Type == stanza.MessageError:
		p.event(who, "← error from %s: %v", m.From, m.Error)
	case m.Receipt != "":
		p.event(who, "← %s received the message %s (receipt)", m.From, m.Receipt)
	case m.Body == "" && m.ChatState != im.NoChatState:
		p.event(who, "← %s is %s", m.From, m.ChatState)
	default:
		var extra []string
		if m.Message.Thread.ID != "" {
			extra = append(extra, "thread "+m.Message.Thread.ID)
		}
		if m.ChatState != im.NoChatState {
			extra = append(extra, m.ChatState.String())
		}
		if m.ReceiptRequest {
			extra = append(extra, "receipt requested")
		}
		p.event(who, "← %s: %q (%s)", m.From, m.Body, strings.Join(extra, ", "))
	}
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

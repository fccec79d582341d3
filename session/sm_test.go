package session

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/testkit/scripted"
	"github.com/parleyim/parley/stanza"
)

// Stream management against a scripted server: each connection the
// client makes (the first, and each one it dials to resume) is served by
// the next script.

const featSM = "<sm xmlns='" + ns.SM + "'/>"

// dialSM runs Dial against scripted peers, one per connection, in order.
// A connection beyond the scripts is refused.
func dialSM(t *testing.T, cfg *Config, scripts ...func(p *peer)) (*Session, error) {
	s, _, err := dialSMAddrs(t, cfg, scripts...)
	return s, err
}

// dialSMAddrs is dialSM, also returning the addresses dialled, in order.
func dialSMAddrs(t *testing.T, cfg *Config, scripts ...func(p *peer)) (*Session, func() []string, error) {
	t.Helper()
	var mu sync.Mutex
	next := 0
	var addrs []string
	c := *cfg
	c.Addr = "scripted:5222"
	c.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		defer mu.Unlock()
		addrs = append(addrs, addr)
		if next >= len(scripts) {
			return nil, errors.New("no more scripted connections")
		}
		conn, _ := scripted.Start(t, scripts[next])
		next++
		return conn, nil
	}
	s, err := Dial(context.Background(), juliet, scripted.Password, &c)
	return s, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), addrs...) }, err
}

// loginSM logs in, offers stream management and answers <enable/> with
// attrs (the <enabled/> element's attributes); it returns the enable
// element.
func loginSM(p *peer, attrs string) *stanza.Raw {
	p.ToBind("SCRAM-SHA-1")
	p.Features(featBind + featSM)
	p.Bind("")
	en := p.Expect("enable")
	p.Send("<enabled xmlns='" + ns.SM + "' " + attrs + "/>")
	return en
}

// resumeSM runs a resumption login and returns the <resume/> element; the
// script answers it.
func resumeSM(p *peer) *stanza.Raw {
	p.ToBind("SCRAM-SHA-1")
	p.Features(featBind + featSM)
	return p.Expect("resume")
}

// ackUntilClosed answers every <r/> as a server does, counting from
// handled, until the client closes its stream, and returns what else the
// client sent.
func ackUntilClosed(p *peer, handled int) (rest []string) {
	p.Serve(func(p *peer, el *stanza.Raw) bool {
		switch el.Name().Local {
		case "r":
			p.Send(fmt.Sprintf("<a xmlns='%s' h='%d'/>", ns.SM, handled))
			return true
		case "message", "presence", "iq":
			handled++
		}
		rest = append(rest, el.String())
		return true
	})
	return rest
}

func smConfig(t *testing.T) *Config {
	cfg := clientConfig(t)
	cfg.AckEvery = 1000
	cfg.AckDelay = time.Hour
	if os.Getenv("SMDEBUG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return cfg
}

func smChat(body string) *stanza.Message {
	return &stanza.Message{Header: stanza.Header{To: mustJID("romeo@example.com")}, Type: stanza.MessageChat, Body: body}
}

// bodyOf returns the body of a message the peer read.
func bodyOf(t testing.TB, r *stanza.Raw) string {
	tr := r.TokenReader()
	tok, err := tr.Token()
	require.NoError(t, err)
	st, err := stanza.Decoder{}.Decode(tr, tok.(xml.StartElement))
	require.NoError(t, err)
	m, ok := st.(*stanza.Message)
	require.True(t, ok, "not a message: %s", r)
	return m.Body
}

func TestSMEnable(t *testing.T) {
	got := make(chan string, 1)
	s, err := dialSM(t, smConfig(t), func(p *peer) {
		en := loginSM(p, "id='s-1' resume='true' max='60'")
		got <- en.String()
		p.ExpectClosed()
	})
	require.NoError(t, err)
	assert.Equal(t, "<enable xmlns='urn:xmpp:sm:3' resume='true'/>", <-got)
	assert.True(t, s.sm.on)
	assert.Equal(t, "s-1", s.sm.id)
	assert.Equal(t, 60*time.Second, s.sm.max)
	require.NoError(t, s.Close(context.Background()))
}

func TestSMEnableWithoutResumptionForNew(t *testing.T) {
	cfg := smConfig(t)
	s, err := dialPeer(t, cfg, func(p *peer) {
		en := loginSM(p, "id='s-1'")
		if en.Attr("resume") != "" {
			p.Fatalf("New asked for resumption: %s", en)
		}
		p.ExpectClosed()
	})
	require.NoError(t, err)
	assert.True(t, s.sm.on)
	assert.Empty(t, s.sm.id, "New cannot dial again, so it cannot resume")
	require.NoError(t, s.Close(context.Background()))
}

// TestSMNewEndsWithUnacked: a session from New cannot dial again, so a
// broken connection ends it, with what was not acknowledged handed back.
func TestSMNewEndsWithUnacked(t *testing.T) {
	s, err := dialPeer(t, smConfig(t), func(p *peer) {
		loginSM(p, "id='s-1'")
		p.Expect("message")
		p.Conn().Close()
	})
	require.NoError(t, err)
	require.NoError(t, s.Send(context.Background(), smChat("lost?")))
	select {
	case <-s.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the session did not end")
	}
	var ue *UnackedError
	require.ErrorAs(t, s.Err(), &ue)
	require.Len(t, ue.Stanzas, 1)
	assert.Equal(t, "lost?", ue.Stanzas[0].(*stanza.Message).Body)
	assert.Zero(t, s.Stats().Resumed)
}

func TestSMFailedEnableLeavesItOff(t *testing.T) {
	s, err := dialSM(t, smConfig(t), func(p *peer) {
		p.ToBind("SCRAM-SHA-1")
		p.Features(featBind + featSM)
		p.Bind("")
		p.Expect("enable")
		p.Send("<failed xmlns='" + ns.SM + "'><unexpected-request xmlns='" + ns.StanzaErrors + "'/></failed>")
		if b := bodyOf(t, p.Expect("message")); b != "plain" {
			p.Fatalf("got %q", b)
		}
		p.ExpectClosed()
	})
	require.NoError(t, err)
	assert.False(t, s.sm.on)
	require.NoError(t, s.Send(context.Background(), smChat("plain")))
	require.NoError(t, s.Close(context.Background()))
}

func TestSMNoStreamManagement(t *testing.T) {
	cfg := smConfig(t)
	cfg.NoStreamManagement = true
	s, err := dialSM(t, cfg, func(p *peer) {
		p.ToBind("SCRAM-SHA-1")
		p.Features(featBind + featSM)
		p.Bind("")
		if r := p.Next(); r.Name().Local != "message" {
			p.Fatalf("client sent %s, want the message (no <enable/>)", r)
		}
		p.ExpectClosed()
	})
	require.NoError(t, err)
	require.NoError(t, s.Send(context.Background(), smChat("x")))
	require.NoError(t, s.Close(context.Background()))
}

// TestSMAcks: the client answers <r/> with what it handled, asks for acks
// every AckEvery stanzas, and the server's <a/> empties its queue.
func TestSMAcks(t *testing.T) {
	cfg := smConfig(t)
	cfg.AckEvery = 3
	answered := make(chan string, 1)
	acked := make(chan struct{})
	s, err := dialSM(t, cfg, func(p *peer) {
		loginSM(p, "id='s-1' resume='true'")
		p.Send("<message from='romeo@example.com/x' type='chat'><body>1</body></message>")
		p.Send("<message from='romeo@example.com/x' type='chat'><body>2</body></message>")
		p.Send("<r xmlns='" + ns.SM + "'/>")
		answered <- p.Expect("a").Attr("h")
		for _, want := range []string{"message", "message", "message", "r"} {
			p.Expect(want)
		}
		p.Send("<a xmlns='" + ns.SM + "' h='2'/>")
		p.Send("<iq type='get' id='sync' from='example.com'><ping xmlns='urn:xmpp:ping'/></iq>")
		p.Expect("iq")
		close(acked)
		p.ExpectClosed()
	})
	require.NoError(t, err)
	assert.Equal(t, "2", <-answered)
	ctx := context.Background()
	for _, b := range []string{"a", "b", "c"} {
		require.NoError(t, s.Send(ctx, smChat(b)))
	}
	<-acked
	st := s.Stats()
	assert.Equal(t, uint32(4), st.Sent, "three messages and the ping's result")
	assert.Equal(t, uint32(2), st.Acked)
	assert.Equal(t, 2, st.Unacked)
	require.NoError(t, s.Close(ctx))
}

// TestSMAckTooHigh: an h above what was sent ends the stream with
// handled-count-too-high.
func TestSMAckTooHigh(t *testing.T) {
	sent := make(chan []string, 1)
	s, err := dialSM(t, smConfig(t), func(p *peer) {
		loginSM(p, "id='s-1' resume='true'")
		p.Expect("message")
		p.Send("<a xmlns='" + ns.SM + "' h='5'/>")
		sent <- p.ExpectClosed()
	})
	require.NoError(t, err)
	require.NoError(t, s.Send(context.Background(), smChat("one")))
	<-s.Done()
	var hc *handledCountError
	require.ErrorAs(t, s.Err(), &hc)
	assert.Equal(t, uint32(5), hc.h)
	assert.Equal(t, uint32(1), hc.sent)
	var ue *UnackedError
	require.ErrorAs(t, s.Err(), &ue, "the message was never acknowledged")
	require.Len(t, ue.Stanzas, 1)
	assert.Equal(t, "one", ue.Stanzas[0].(*stanza.Message).Body)
	got := strings.Join(<-sent, "")
	assert.Contains(t, got, "<handled-count-too-high xmlns='urn:xmpp:sm:3' h='5' send-count='1'/>")
}

func TestSMBadAck(t *testing.T) {
	for _, h := range []string{"", "x", "-1", "4294967296"} {
		t.Run(h, func(t *testing.T) {
			s, err := dialSM(t, smConfig(t), func(p *peer) {
				loginSM(p, "id='s-1' resume='true'")
				if h == "" {
					p.Send("<a xmlns='" + ns.SM + "'/>")
				} else {
					p.Send("<a xmlns='" + ns.SM + "' h='" + h + "'/>")
				}
				p.ExpectClosed()
			})
			require.NoError(t, err)
			<-s.Done()
			var se *stanza.StreamError
			require.ErrorAs(t, s.Err(), &se)
			assert.Equal(t, stanza.StreamInvalidXML, se.Condition)
		})
	}
}

// TestSMResume: the connection breaks; the client dials again, resumes
// with its h, drops what the server's h covers, writes the rest again in
// order — also what was sent while it was down — and reads on.
func TestSMResume(t *testing.T) {
	cfg := smConfig(t)
	var cut sync.WaitGroup
	cut.Add(1)
	resumeH := make(chan string, 1)
	second := make(chan []string, 1)
	var starts []bool
	var mu sync.Mutex
	mux := NewMux()
	mux.HandleStart(func(ctx context.Context, s *Session, resumed bool) {
		mu.Lock()
		starts = append(starts, resumed)
		mu.Unlock()
	})
	got := make(chan string, 4)
	mux.HandleMessage(MessageTypes(stanza.MessageChat), MessageHandlerFunc(func(ctx context.Context, s *Session, m *stanza.Message) {
		got <- m.Body
	}))
	cfg.Mux = mux
	s, err := dialSM(t, cfg, func(p *peer) {
		loginSM(p, "id='s-1' resume='true' max='30'")
		p.Send("<message from='romeo@example.com/x' type='chat'><body>in-1</body></message>")
		p.Expect("message")
		p.Expect("message")
		p.Send("<a xmlns='" + ns.SM + "' h='1'/>")
		p.Send("<iq type='get' id='sync' from='example.com'><ping xmlns='urn:xmpp:ping'/></iq>")
		p.Expect("iq")
		cut.Done()
		p.Conn().Close()
	}, func(p *peer) {
		r := resumeSM(p)
		if r.Attr("previd") != "s-1" {
			p.Fatalf("previd %q", r.Attr("previd"))
		}
		resumeH <- r.Attr("h")
		// The server handled the first message only: the second, and
		// the ping's result, are to come again.
		p.Send("<resumed xmlns='" + ns.SM + "' h='1' previd='s-1'/>")
		p.Send("<message from='romeo@example.com/x' type='chat'><body>in-2</body></message>")
		var bodies []string
		for len(bodies) < 2 {
			r := p.Next()
			if r.Name().Local == "message" {
				bodies = append(bodies, bodyOf(t, r))
			}
		}
		second <- bodies
		ackUntilClosed(p, 4)
	})
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, s.Send(ctx, smChat("out-1")))
	require.NoError(t, s.Send(ctx, smChat("out-2")))
	cut.Wait()
	require.NoError(t, s.Send(ctx, smChat("out-3")), "sent while the connection is down or being resumed")
	assert.Equal(t, []string{"out-2", "out-3"}, <-second)
	assert.Equal(t, "2", <-resumeH, "in-1 and the ping were handled")
	assert.Equal(t, "in-1", <-got)
	assert.Equal(t, "in-2", <-got)
	require.NoError(t, s.Err())
	assert.Equal(t, 1, s.Stats().Resumed)
	require.NoError(t, s.Close(ctx))
	mu.Lock()
	assert.Equal(t, []bool{false, true}, starts)
	mu.Unlock()
}

// TestSMResumeAtLocation: a server that named a location in <enabled/>
// is resumed there; when that fails, where Dial went.
func TestSMResumeAtLocation(t *testing.T) {
	cut := make(chan struct{})
	s, addrs, err := dialSMAddrs(t, smConfig(t), func(p *peer) {
		loginSM(p, "id='s-1' resume='true' location='[2001:db8::1]:5223'")
		close(cut)
		p.Conn().Close()
	}, func(p *peer) {
		resumeSM(p)
		p.Send("<resumed xmlns='" + ns.SM + "' h='0' previd='s-1'/>")
		ackUntilClosed(p, 0)
	})
	require.NoError(t, err)
	<-cut
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, s.SendAcked(ctx, smChat("after")))
	assert.Equal(t, []string{"scripted:5222", "[2001:db8::1]:5223"}, addrs())
	require.NoError(t, s.Close(ctx))
}

// TestSMKeepaliveResumes: a keepalive ping left unanswered drops the
// connection of a resumable session, which resumes instead of ending.
func TestSMKeepaliveResumes(t *testing.T) {
	cfg := smConfig(t)
	cfg.KeepAlive, cfg.KeepAliveTimeout = 100*time.Millisecond, 200*time.Millisecond
	cfg.Mux = NewMux()
	resumed := make(chan struct{}, 1)
	cfg.Mux.HandleStart(func(ctx context.Context, s *Session, r bool) {
		if r {
			resumed <- struct{}{}
		}
	})
	s, err := dialSM(t, cfg, func(p *peer) {
		loginSM(p, "id='s-1' resume='true'")
		p.Expect("iq") // the ping, never answered
		for {
			if _, err := p.TryNext(); err != nil {
				return // the client hung up
			}
		}
	}, func(p *peer) {
		r := resumeSM(p)
		p.Send("<resumed xmlns='" + ns.SM + "' h='" + r.Attr("h") + "' previd='s-1'/>")
		// The ping comes again (it was never acknowledged); answer it
		// and whatever follows.
		p.Serve(func(p *peer, el *stanza.Raw) bool {
			switch el.Name().Local {
			case "iq":
				p.Send("<iq type='result' id='" + el.Attr("id") + "' from='example.com'/>")
			case "r":
				p.Send("<a xmlns='" + ns.SM + "' h='1'/>")
			}
			return true
		})
	})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	select {
	case <-resumed:
	case <-s.Done():
		t.Fatalf("the session ended: %v", s.Err())
	case <-ctx.Done():
		t.Fatal("no resumption")
	}
	require.NoError(t, s.Err())
	assert.Equal(t, 1, s.Stats().Resumed)
	require.NoError(t, s.Close(ctx))
}

// TestSMResumeRefused: the server answers <failed/>; the session ends with
// the unacknowledged stanzas handed back.
func TestSMResumeRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		failedH string // the h attribute of <failed/>, if any
		bodies  []string
		stanzas int
	}{
		{name: "without h", bodies: []string{"out-2"}, stanzas: 2}, // out-2 and the ping's result
		{name: "h as acked", failedH: " h='1'", bodies: []string{"out-2"}, stanzas: 2},
		{name: "h covers out-2", failedH: " h='2'", stanzas: 1},                        // the ping's result alone
		{name: "h too high", failedH: " h='9'", bodies: []string{"out-2"}, stanzas: 2}, // ignored
	} {
		t.Run(tc.name, func(t *testing.T) {
			cut := make(chan struct{})
			s, err := dialSM(t, smConfig(t), func(p *peer) {
				loginSM(p, "id='s-1' resume='true'")
				p.Expect("message")
				p.Expect("message")
				p.Send("<a xmlns='" + ns.SM + "' h='1'/>")
				p.Send("<iq type='get' id='sync' from='example.com'><ping xmlns='urn:xmpp:ping'/></iq>")
				p.Expect("iq")
				close(cut)
				p.Conn().Close()
			}, func(p *peer) {
				resumeSM(p)
				p.Send("<failed xmlns='" + ns.SM + "'" + tc.failedH + "><item-not-found xmlns='" + ns.StanzaErrors + "'/></failed>")
				p.ExpectClosed()
			})
			require.NoError(t, err)
			ctx := context.Background()
			require.NoError(t, s.Send(ctx, smChat("out-1")))
			require.NoError(t, s.Send(ctx, smChat("out-2")))
			<-cut
			select {
			case <-s.Done():
			case <-time.After(10 * time.Second):
				t.Fatal("session did not end")
			}
			require.ErrorIs(t, s.Err(), ErrResumeRefused)
			var ue *UnackedError
			require.ErrorAs(t, s.Err(), &ue)
			var bodies []string
			for _, st := range ue.Stanzas {
				if m, ok := st.(*stanza.Message); ok {
					bodies = append(bodies, m.Body)
				}
			}
			assert.Equal(t, tc.bodies, bodies)
			assert.Len(t, ue.Stanzas, tc.stanzas)
			require.ErrorIs(t, s.Send(ctx, smChat("late")), ErrClosed)
		})
	}
}

// TestSMResumeLies: a <resumed/> for another stream, or with an h above
// what was sent, ends the session: the new stream is failed with a
// stream error and the message is handed back.
func TestSMResumeLies(t *testing.T) {
	for _, tc := range []struct {
		name, resumed, sent string
		check               func(t *testing.T, err error)
	}{
		{"wrong previd", "h='0' previd='s-2'", "undefined-condition", func(t *testing.T, err error) {
			assert.ErrorContains(t, err, `resumed stream "s-2", not "s-1"`)
		}},
		{"h too high", "h='7' previd='s-1'", "handled-count-too-high", func(t *testing.T, err error) {
			var hc *handledCountError
			assert.ErrorAs(t, err, &hc)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cut := make(chan struct{})
			closed := make(chan []string, 1)
			s, err := dialSM(t, smConfig(t), func(p *peer) {
				loginSM(p, "id='s-1' resume='true'")
				p.Expect("message")
				close(cut)
				p.Conn().Close()
			}, func(p *peer) {
				resumeSM(p)
				p.Send("<resumed xmlns='" + ns.SM + "' " + tc.resumed + "/>")
				closed <- p.ExpectClosed()
			})
			require.NoError(t, err)
			require.NoError(t, s.Send(context.Background(), smChat("out-1")))
			<-cut
			<-s.Done()
			tc.check(t, s.Err())
			var ue *UnackedError
			require.ErrorAs(t, s.Err(), &ue)
			assert.Len(t, ue.Stanzas, 1)
			assert.Contains(t, strings.Join(<-closed, ""), tc.sent)
		})
	}
}

// TestSMResumeRetries: attempts that fail on the network are repeated
// until one resumes; the time allowed bounds them.
func TestSMResumeTimeout(t *testing.T) {
	cfg := smConfig(t)
	cfg.ResumeTimeout = 300 * time.Millisecond
	cut := make(chan struct{})
	s, err := dialSM(t, cfg, func(p *peer) {
		loginSM(p, "id='s-1' resume='true' max='600'")
		p.Expect("message")
		close(cut)
		p.Conn().Close()
	}) // no script for any later connection: every attempt fails
	require.NoError(t, err)
	require.NoError(t, s.Send(context.Background(), smChat("out-1")))
	<-cut
	select {
	case <-s.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("session did not give up")
	}
	assert.ErrorContains(t, s.Err(), "not resumed within 300ms")
	var ue *UnackedError
	require.ErrorAs(t, s.Err(), &ue)
	assert.Len(t, ue.Stanzas, 1)
}

// TestSMQueueFull: a server that never acknowledges cannot make the queue
// grow past its bound: Send asks for an ack and waits within its ctx.
func TestSMQueueFull(t *testing.T) {
	cfg := smConfig(t)
	cfg.MaxUnackedBytes = 300
	release := make(chan struct{})
	s, err := dialSM(t, cfg, func(p *peer) {
		loginSM(p, "id='s-1' resume='true'")
		p.Expect("message")
		p.Expect("message")
		p.Expect("r")
		<-release
		p.Send("<a xmlns='" + ns.SM + "' h='2'/>")
		// The client may ask again before the ack arrives.
		if rest := ackUntilClosed(p, 2); len(rest) != 2 || !strings.Contains(rest[0], "dddd") {
			p.TB.Errorf("after the ack the client sent %q, want the last message", rest)
		}
	})
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, s.Send(ctx, smChat(strings.Repeat("a", 60))))
	require.NoError(t, s.Send(ctx, smChat(strings.Repeat("b", 60))))
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	err = s.Send(short, smChat(strings.Repeat("c", 60)))
	require.ErrorIs(t, err, ErrQueueFull)
	require.NoError(t, s.Err(), "the stream goes on")
	assert.LessOrEqual(t, s.Stats().UnackedBytes, 300)
	close(release)
	require.NoError(t, s.Send(ctx, smChat(strings.Repeat("d", 60))), "room after the ack")
	require.NoError(t, s.Close(ctx))
}

func TestSMSendAcked(t *testing.T) {
	s, err := dialSM(t, smConfig(t), func(p *peer) {
		loginSM(p, "id='s-1' resume='true'")
		p.Expect("message")
		p.Expect("r")
		p.Send("<a xmlns='" + ns.SM + "' h='1'/>")
		p.ExpectClosed()
	})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, s.SendAcked(ctx, smChat("sure")))
	assert.Equal(t, uint32(1), s.Stats().Acked)
	require.NoError(t, s.Close(ctx))
}

// TestSMCloseSendsHandled: Close tells the server what it handled with
// its close tag; the server's close answers for what it was sent.
func TestSMCloseSendsHandled(t *testing.T) {
	closed := make(chan []string, 1)
	cfg := smConfig(t)
	cfg.Mux = NewMux()
	handled := make(chan struct{})
	cfg.Mux.HandleMessageFunc(MessageTypes(stanza.MessageChat), func(ctx context.Context, s *Session, m *stanza.Message) { close(handled) })
	s, err := dialSM(t, cfg, func(p *peer) {
		loginSM(p, "id='s-1' resume='true'")
		p.Send("<message from='romeo@example.com/x' type='chat'><body>in</body></message>")
		p.Expect("message")
		closed <- p.ExpectClosed()
	})
	require.NoError(t, err)
	require.NoError(t, s.Send(context.Background(), smChat("x")))
	<-handled
	require.NoError(t, s.Close(context.Background()))
	assert.Equal(t, ErrClosed, s.Err())
	assert.Equal(t, []string{"<a xmlns='urn:xmpp:sm:3' h='1'/>"}, <-closed)
}

// TestSMCloseHandsBack: a server that neither acknowledges nor answers
// the close before Close's ctx ends gets its stanzas handed back by Close.
func TestSMCloseHandsBack(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	s, err := dialSM(t, smConfig(t), func(p *peer) {
		loginSM(p, "id='s-1' resume='true'")
		p.Expect("message")
		for {
			if _, err := p.TryNext(); err != nil {
				break // the client's close, left unanswered
			}
		}
		<-release
		p.Conn().Close()
	})
	require.NoError(t, err)
	require.NoError(t, s.Send(context.Background(), smChat("x")))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err = s.Close(ctx)
	var ue *UnackedError
	require.ErrorAs(t, err, &ue)
	require.ErrorIs(t, err, ErrClosed)
	assert.Len(t, ue.Stanzas, 1)
}

// TestSMCloseAnsweredAcks: a server that answers the close tag has read,
// and so handled, everything before it: nothing is handed back even
// without an <a/>.
func TestSMCloseAnsweredAcks(t *testing.T) {
	s, err := dialSM(t, smConfig(t), func(p *peer) {
		loginSM(p, "id='s-1' resume='true'")
		p.Expect("message")
		p.ExpectClosed() // no <a/>, but the close is answered
	})
	require.NoError(t, err)
	require.NoError(t, s.Send(context.Background(), smChat("x")))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	require.NoError(t, s.Close(ctx))
	assert.Equal(t, ErrClosed, s.Err())
}

func TestDecodeSent(t *testing.T) {
	for _, st := range []stanza.Stanza{
		smChat("héllo <&>"),
		&stanza.Presence{Show: stanza.ShowAway, Status: "x"},
		&stanza.IQ{Header: stanza.Header{ID: "1", To: mustJID("example.com")}, Type: stanza.IQGet, Payload: emptyElement{ns.Ping, "ping"}},
	} {
		b, err := st.AppendXML(nil)
		require.NoError(t, err)
		got, err := decodeSent(b)
		require.NoError(t, err)
		again, err := got.AppendXML(nil)
		require.NoError(t, err)
		assert.Equal(t, string(b), string(again), fmt.Sprintf("%T", st))
	}
}

// TestSMAckAnsweredWhileHandlerBlocks: a handler that blocks does not
// stop the stream from being read: the server's <r/> that follows is
// answered while the handler still blocks (the reader ran the handler
// itself and hands the reading over after inlineBudget), and what came
// meanwhile reaches the handlers afterwards, in order. The second case
// blocks in a handler that begins after the inlineBudget timer went off
// with no handler running, which leaves the timer off until a handler
// sets it again (inlineWatch).
func TestSMAckAnsweredWhileHandlerBlocks(t *testing.T) {
	t.Run("first stanza", func(t *testing.T) { ackWhileHandlerBlocks(t, false) })
	t.Run("after the watch went off", func(t *testing.T) { ackWhileHandlerBlocks(t, true) })
}

func ackWhileHandlerBlocks(t *testing.T, quietFirst bool) {
	cfg := smConfig(t)
	cfg.Mux = NewMux()
	release := make(chan struct{})
	handled := make(chan string, 4)
	cfg.Mux.HandleMessageFunc(MessageRoute{}, func(_ context.Context, _ *Session, m *stanza.Message) {
		if m.Body == "block" {
			<-release
		}
		handled <- m.Body
	})
	next := make(chan struct{})
	answered := make(chan string, 1)
	s, err := dialSM(t, cfg, func(p *peer) {
		loginSM(p, "id='s-1' resume='true'")
		if quietFirst {
			p.Send("<message from='romeo@example.com/x' type='chat'><body>quiet</body></message>")
			<-next
		}
		p.Send("<message from='romeo@example.com/x' type='chat'><body>block</body></message>")
		p.Send("<message from='romeo@example.com/x' type='chat'><body>2</body></message>")
		p.Send("<message from='romeo@example.com/x' type='chat'><body>3</body></message>")
		p.Send("<r xmlns='" + ns.SM + "'/>")
		answered <- p.Expect("a").Attr("h")
		p.ExpectClosed()
	})
	require.NoError(t, err)
	want := "3"
	if quietFirst {
		require.Equal(t, "quiet", <-handled)
		require.Eventually(t, func() bool { return !s.inline.armed.Load() }, 10*time.Second, time.Millisecond,
			"the inlineBudget timer did not go off after the handler returned")
		close(next)
		want = "4"
	}
	select {
	case h := <-answered:
		assert.Equal(t, want, h)
	case <-time.After(10 * time.Second):
		t.Fatal("the server's <r/> went unanswered while a handler blocked")
	}
	close(release)
	for _, want := range []string{"block", "2", "3"} {
		assert.Equal(t, want, <-handled)
	}
	require.NoError(t, s.Close(context.Background()))
}

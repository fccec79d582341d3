package session

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/stanza"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// establish logs a client in against a peer and hands the peer to the
// test, which then plays the server.
func establish(t *testing.T, cfg *Config) (*Session, *peer) {
	t.Helper()
	return establishWith(t, cfg, (*peer).Login)
}

// establishWith is establish with the peer's login script.
func establishWith(t *testing.T, cfg *Config, login func(*peer)) (*Session, *peer) {
	t.Helper()
	var p *peer
	s, wait, err := dialPeerWait(t, juliet, cfg, func(pp *peer) {
		login(pp)
		p = pp
	})
	require.NoError(t, err)
	wait()
	require.NotNil(t, p)
	t.Cleanup(func() {
		closed := p.AwaitClose()
		closeSession(t, s)
		<-closed
	})
	return s, p
}

func waitEnd(t *testing.T, s *Session) error {
	t.Helper()
	select {
	case <-s.Done():
		return s.Err()
	case <-time.After(10 * time.Second):
		t.Fatal("session did not end")
		return nil
	}
}

func TestDispatchOrderAndFanOut(t *testing.T) {
	cfg := clientConfig(t)
	cfg.Mux = NewMux()
	var mu sync.Mutex
	var seen []string
	record := func(tag string) MessageHandlerFunc {
		return func(_ context.Context, _ *Session, m *stanza.Message) {
			mu.Lock()
			seen = append(seen, tag+":"+m.Body)
			mu.Unlock()
		}
	}
	cfg.Mux.HandleMessage(MessageRoute{}, record("a"))
	cfg.Mux.HandleMessage(MessageRoute{Types: []stanza.MessageType{stanza.MessageChat}}, record("chat"))
	cfg.Mux.HandleMessage(MessageRoute{Payload: xmlName("urn:xmpp:receipts", "request")}, record("receipt"))
	done := make(chan struct{})
	cfg.Mux.HandleMessageFunc(MessageRoute{}, func(_ context.Context, _ *Session, m *stanza.Message) {
		if m.Body == "3" {
			close(done)
		}
	})
	s, p := establish(t, cfg)
	p.Send("<message from='romeo@example.net/a' type='chat'><body>1</body></message>")
	p.Send("<message from='romeo@example.net/a'><body>2</body><request xmlns='urn:xmpp:receipts'/></message>")
	p.Send("<message from='romeo@example.net/a' type='chat'><body>3</body></message>")
	<-done
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"a:1", "chat:1", "a:2", "receipt:2", "a:3", "chat:3"}, seen)
	assert.Equal(t, uint64(3), s.Stats().Received)
}

func TestIQRouting(t *testing.T) {
	const ns = "urn:example:test"
	cfg := clientConfig(t)
	cfg.Mux = NewMux()
	cfg.Mux.HandleIQFunc(stanza.IQGet, xmlName(ns, "exact"), func(context.Context, *Session, *stanza.IQ) (stanza.Payload, error) {
		r, err := stanza.ParseRaw([]byte("<answer xmlns='urn:example:test'>exact</answer>"))
		return r, err
	})
	cfg.Mux.HandleIQFunc(stanza.IQGet, xmlName(ns, ""), func(context.Context, *Session, *stanza.IQ) (stanza.Payload, error) {
		return nil, nil
	})
	cfg.Mux.HandleIQFunc(stanza.IQSet, xmlName(ns, "exact"), func(context.Context, *Session, *stanza.IQ) (stanza.Payload, error) {
		return nil, stanza.ItemNotFound
	})
	cfg.Mux.HandleIQFunc(stanza.IQSet, xmlName(ns, "boom"), func(context.Context, *Session, *stanza.IQ) (stanza.Payload, error) {
		panic("handler bug")
	})
	_, p := establish(t, cfg)

	tests := []struct {
		name, typ, payload string
		want               []string
	}{
		{"exact name wins", "get", "<exact xmlns='urn:example:test'/>", []string{"type='result'", "<answer", ">exact<"}},
		{"namespace fallback", "get", "<other xmlns='urn:example:test'/>", []string{"type='result'"}},
		{"handler error", "set", "<exact xmlns='urn:example:test'/>", []string{"type='error'", "item-not-found", "type='cancel'"}},
		{"no handler", "get", "<query xmlns='urn:example:unknown'/>", []string{"type='error'", "service-unavailable"}},
		{"wrong type", "set", "<other xmlns='urn:example:test'/>", []string{"service-unavailable"}},
		{"handler panics", "set", "<boom xmlns='urn:example:test'/>", []string{"internal-server-error"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("q%d", i)
			p.Send(fmt.Sprintf("<iq type='%s' id='%s' from='romeo@example.net/a'>%s</iq>", tt.typ, id, tt.payload))
			reply := elemString(p.Expect("iq"))
			assert.Contains(t, reply, "id='"+id+"'")
			assert.Contains(t, reply, "to='romeo@example.net/a'")
			for _, w := range tt.want {
				assert.Contains(t, reply, w)
			}
		})
	}
	assert.Equal(t, []string{ns}, cfg.Mux.Features())
}

func TestSendIQReplyMatching(t *testing.T) {
	s, p := establish(t, clientConfig(t))
	romeo := mustJID("romeo@example.net/orchard")

	type result struct {
		iq  *stanza.IQ
		err error
	}
	ask := func(to string) <-chan result {
		ch := make(chan result, 1)
		go func() {
			req := &stanza.IQ{Type: stanza.IQGet, Payload: emptyElement{"urn:example:q", "q"}}
			if to != "" {
				req.To = mustJID(to)
			}
			iq, err := s.SendIQ(context.Background(), req)
			ch <- result{iq, err}
		}()
		return ch
	}

	t.Run("spoofed reply is ignored", func(t *testing.T) {
		ch := ask(romeo.String())
		req := p.Expect("iq")
		id := req.Attr("id")
		assert.GreaterOrEqual(t, len(id), 16, "ids are unguessable")
		p.Send(fmt.Sprintf("<iq type='result' id='%s' from='mallory@evil.example/x'><q xmlns='urn:example:q'>spoofed</q></iq>", id))
		p.Send(fmt.Sprintf("<iq type='result' id='%s'><q xmlns='urn:example:q'>no from</q></iq>", id))
		p.Send(fmt.Sprintf("<iq type='result' id='%s' from='romeo@example.net/orchard'><q xmlns='urn:example:q'>real</q></iq>", id))
		r := <-ch
		require.NoError(t, r.err)
		raw, ok := r.iq.Payload.(*stanza.Raw)
		require.True(t, ok)
		assert.Contains(t, elemString(raw), "real")
	})
	t.Run("error reply", func(t *testing.T) {
		ch := ask(romeo.String())
		id := p.Expect("iq").Attr("id")
		p.Send(fmt.Sprintf("<iq type='error' id='%s' from='romeo@example.net/orchard'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>", id))
		r := <-ch
		assert.ErrorIs(t, r.err, stanza.ItemNotFound)
		require.NotNil(t, r.iq)
	})
	for _, from := range []string{"", "juliet@example.com", "juliet@example.com/generated"} {
		t.Run("to the account, reply from "+from, func(t *testing.T) {
			ch := ask("")
			id := p.Expect("iq").Attr("id")
			fromAttr := ""
			if from != "" {
				fromAttr = " from='" + from + "'"
			}
			p.Send(fmt.Sprintf("<iq type='result' id='%s'%s/>", id, fromAttr))
			r := <-ch
			assert.NoError(t, r.err)
		})
	}
	t.Run("to the account, reply from the domain is refused", func(t *testing.T) {
		ch := ask("juliet@example.com")
		id := p.Expect("iq").Attr("id")
		p.Send(fmt.Sprintf("<iq type='result' id='%s' from='example.com'/>", id))
		p.Send(fmt.Sprintf("<iq type='result' id='%s' from='juliet@example.com'><q xmlns='urn:example:q'>real</q></iq>", id))
		r := <-ch
		require.NoError(t, r.err)
		assert.NotNil(t, r.iq.Payload, "the second, right reply")
	})
}

func TestSendIQCancel(t *testing.T) {
	s, p := establish(t, clientConfig(t))
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := s.SendIQ(ctx, pingIQ())
		errc <- err
	}()
	id := p.Expect("iq").Attr("id")
	cancel()
	assert.ErrorIs(t, <-errc, context.Canceled)
	assert.False(t, s.pending.waiting(), "the waiter is removed")
	// A late reply is dropped without harm.
	p.Send(fmt.Sprintf("<iq type='result' id='%s' from='example.com'/>", id))
	pingRoundTrip(t, s, p)
}

// pingRoundTrip checks that the session still works.
func pingRoundTrip(t *testing.T, s *Session, p *peer) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		_, err := s.SendIQ(context.Background(), pingIQ())
		errc <- err
	}()
	id := p.Expect("iq").Attr("id")
	p.Send(fmt.Sprintf("<iq type='result' id='%s' from='example.com'/>", id))
	require.NoError(t, <-errc)
}

func TestSendIQFromHandlerWithFullQueue(t *testing.T) {
	cfg := clientConfig(t)
	cfg.QueueBytes = 512
	cfg.Mux = NewMux()
	got := make(chan error, 1)
	var count int
	cfg.Mux.HandleMessageFunc(MessageRoute{}, func(ctx context.Context, s *Session, m *stanza.Message) {
		count++
		if m.Body == "ask" {
			_, err := s.SendIQ(ctx, pingIQ())
			got <- err
		}
	})
	s, p := establish(t, cfg)
	p.Send("<message from='romeo@example.net/a'><body>ask</body></message>")
	id := p.Expect("iq").Attr("id")
	// Many times the queue bound arrives before the reply; the reader
	// must read past them to find it.
	for i := 0; i < 20; i++ {
		p.Send(fmt.Sprintf("<message from='romeo@example.net/a'><body>filler %d</body></message>", i))
	}
	p.Send(fmt.Sprintf("<iq type='result' id='%s' from='example.com'/>", id))
	select {
	case err := <-got:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("SendIQ from a handler deadlocked")
	}
	assert.NoError(t, s.Err())
}

func TestHardCapEndsSession(t *testing.T) {
	cfg := clientConfig(t)
	cfg.QueueBytes = 256
	cfg.Mux = NewMux()
	release := make(chan struct{})
	cfg.Mux.HandleMessageFunc(MessageRoute{}, func(ctx context.Context, s *Session, m *stanza.Message) {
		<-release
	})
	s, p := establish(t, cfg)
	defer close(release)
	// A request waits for its reply, so the reader keeps reading past the
	// bound while the handler blocks, up to the hard cap.
	go func() {
		_, _ = s.SendIQ(context.Background(), pingIQ())
	}()
	p.Expect("iq")
	go func() {
		for i := 0; i < 100; i++ {
			if _, err := io.WriteString(p.Conn(), fmt.Sprintf("<message from='romeo@example.net/a'><body>filler %d</body></message>", i)); err != nil {
				return
			}
		}
	}()
	err := waitEnd(t, s)
	assert.ErrorIs(t, err, ErrHandlerBlocked)
	sent := p.ExpectClosed()
	require.NotEmpty(t, sent)
	assert.Contains(t, sent[0], "resource-constraint")
}

func TestBackPressure(t *testing.T) {
	cfg := clientConfig(t)
	cfg.QueueBytes = 1024
	cfg.Mux = NewMux()
	release := make(chan struct{})
	var handled int
	cfg.Mux.HandleMessageFunc(MessageRoute{}, func(ctx context.Context, s *Session, m *stanza.Message) {
		<-release
		handled++
	})
	s, p := establish(t, cfg)
	const n = 2000
	writeDone := make(chan struct{})
	go func() {
		defer close(writeDone)
		for i := 0; i < n; i++ {
			if _, err := io.WriteString(p.Conn(), fmt.Sprintf("<message from='romeo@example.net/a'><body>message number %d</body></message>", i)); err != nil {
				return
			}
		}
	}()
	time.Sleep(200 * time.Millisecond)
	queued := s.queue.size()
	assert.LessOrEqual(t, queued, cfg.QueueBytes+200, "the queue stays near its bound while the handler blocks")
	close(release)
	<-writeDone
	require.Eventually(t, func() bool { return s.Stats().Received == n }, 10*time.Second, 10*time.Millisecond, "nothing is lost")
	assert.NoError(t, s.Err())
}

func TestCloseSendsUnavailableAndWaits(t *testing.T) {
	s, p := establish(t, clientConfig(t))
	require.NoError(t, s.Send(context.Background(), &stanza.Presence{}))
	p.Expect("presence")
	closed := p.AwaitClose()
	require.NoError(t, s.Close(context.Background()))
	sent := <-closed
	require.Len(t, sent, 1)
	assert.Contains(t, sent[0], "unavailable")
	assert.ErrorIs(t, s.Err(), ErrClosed)
	err := s.Send(context.Background(), &stanza.Message{Body: "late"})
	assert.ErrorIs(t, err, ErrClosed)
	_, err = s.SendIQ(context.Background(), &stanza.IQ{Type: stanza.IQGet, Payload: emptyElement{ns.Ping, "ping"}})
	assert.ErrorIs(t, err, ErrClosed)
	assert.NoError(t, s.Close(context.Background()), "a second Close is harmless")
}

func TestCloseWithoutAnswer(t *testing.T) {
	s, p := establish(t, clientConfig(t))
	_ = p
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	require.NoError(t, s.Close(ctx))
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.ErrorIs(t, s.Err(), ErrClosed)
}

func TestServerClosesStream(t *testing.T) {
	s, p := establish(t, clientConfig(t))
	p.Send("</stream:stream>")
	err := waitEnd(t, s)
	require.Error(t, err)
	assert.ErrorContains(t, err, "server closed the stream")
	sendErr := s.Send(context.Background(), &stanza.Message{Body: "x"})
	assert.ErrorIs(t, sendErr, ErrClosed)
	assert.ErrorContains(t, sendErr, "server closed the stream", "the cause is wrapped too")
}

func TestServerStreamError(t *testing.T) {
	s, p := establish(t, clientConfig(t))
	p.Send("<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>")
	err := waitEnd(t, s)
	assert.ErrorIs(t, err, stanza.StreamConflict)
}

func TestHostileInput(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  stanza.StreamCondition
	}{
		{"DOCTYPE", "<!DOCTYPE x [<!ENTITY a 'aaaa'>]>", stanza.StreamRestrictedXML},
		{"comment", "<!-- hi -->", stanza.StreamRestrictedXML},
		{"comment inside a stanza", "<message><!-- hi --></message>", stanza.StreamRestrictedXML},
		{"processing instruction", "<?foo bar?>", stanza.StreamRestrictedXML},
		// RFC 6120 §4.9.3.18: an entity reference is restricted XML.
		{"undeclared entity", "<message><body>&a;</body></message>", stanza.StreamRestrictedXML},
		{"oversized stanza", "<message><body>" + strings.Repeat("x", 8192) + "</body></message>", stanza.StreamPolicyViolation},
		{"deep nesting", "<message>" + strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100) + "</message>", stanza.StreamPolicyViolation},
		{"invalid UTF-8", "<message><body>\xff\xfe</body></message>", stanza.StreamNotWellFormed},
		{"garbage", "\x00\x01\x02garbage<message/>", stanza.StreamNotWellFormed},
		{"mismatched tags", "<message><body></message>", stanza.StreamNotWellFormed},
		{"text between stanzas", "hello<message/>", stanza.StreamNotWellFormed},
		{"unknown top-level element", "<foo/>", stanza.StreamUnsupportedStanzaType},
		{"stanza in another namespace", "<message xmlns='jabber:server'/>", stanza.StreamInvalidNamespace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := clientConfig(t)
			cfg.MaxStanzaBytes = 4096
			s, p := establish(t, cfg)
			p.Send(tt.input)
			err := waitEnd(t, s)
			var se *stanza.StreamError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tt.want, se.Condition)
			sent := p.ExpectClosed()
			require.NotEmpty(t, sent, "the stream error is sent to the server")
			assert.Contains(t, sent[0], string(tt.want))
		})
	}
}

func TestHalfClosedConnection(t *testing.T) {
	s, p := establish(t, clientConfig(t))
	p.Send("<message><body>partial")
	require.NoError(t, p.Conn().(interface{ CloseWrite() error }).CloseWrite())
	err := waitEnd(t, s)
	require.Error(t, err)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

func TestHugeBodyIsNotBuffered(t *testing.T) {
	s, p := establish(t, clientConfig(t))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	go func() {
		chunk := strings.Repeat("x", 64<<10)
		if _, err := io.WriteString(p.Conn(), "<message><body>"); err != nil {
			return
		}
		for i := 0; i < 1024; i++ { // 64 MiB
			if _, err := io.WriteString(p.Conn(), chunk); err != nil {
				return
			}
		}
	}()
	err := waitEnd(t, s)
	runtime.ReadMemStats(&after)
	var se *stanza.StreamError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, stanza.StreamPolicyViolation, se.Condition)
	allocated := after.TotalAlloc - before.TotalAlloc
	assert.Less(t, allocated, uint64(24<<20), "the client stopped at the 1 MiB limit instead of buffering 64 MiB")
}

func TestFloodOfUnknownReplies(t *testing.T) {
	s, p := establish(t, clientConfig(t))
	for i := 0; i < 10000; i++ {
		p.Send(fmt.Sprintf("<iq type='result' id='unknown%d' from='example.com'/>", i))
	}
	pingRoundTrip(t, s, p)
	assert.False(t, s.pending.waiting())
	assert.Zero(t, s.queue.size(), "replies never enter the handler queue")
}

func TestInvalidStanzasAreAnswered(t *testing.T) {
	s, p := establish(t, clientConfig(t))
	p.Send("<iq type='get' from='romeo@example.net/a'><query xmlns='urn:example:q'/></iq>") // no id: dropped
	p.Send("<iq type='get' id='bad1' from='@example.net'><query xmlns='urn:example:q'/></iq>")
	reply := elemString(p.Expect("iq"))
	assert.Contains(t, reply, "bad1")
	assert.Contains(t, reply, "jid-malformed")
	p.Send("<presence from='romeo@example.net/a' id='bad2'><priority>1000</priority></presence>")
	reply = elemString(p.Expect("presence"))
	assert.Contains(t, reply, "bad-request")
	pingRoundTrip(t, s, p)
	assert.NoError(t, s.Err())
}

func TestKeepalive(t *testing.T) {
	t.Run("answered", func(t *testing.T) {
		cfg := clientConfig(t)
		cfg.KeepAlive = 100 * time.Millisecond
		cfg.KeepAliveTimeout = time.Second
		s, p := establish(t, cfg)
		for i := 0; i < 3; i++ {
			iq := p.Expect("iq")
			assert.Contains(t, elemString(iq), "urn:xmpp:ping")
			p.Send(fmt.Sprintf("<iq type='result' id='%s' from='example.com'/>", iq.Attr("id")))
		}
		assert.NoError(t, s.Err())
	})
	t.Run("silent server", func(t *testing.T) {
		cfg := clientConfig(t)
		cfg.KeepAlive = 100 * time.Millisecond
		cfg.KeepAliveTimeout = 200 * time.Millisecond
		s, p := establish(t, cfg)
		p.Expect("iq")
		err := waitEnd(t, s)
		assert.ErrorIs(t, err, ErrKeepaliveTimeout)
		sent := p.ExpectClosed()
		require.NotEmpty(t, sent)
		assert.Contains(t, sent[0], "connection-timeout")
	})
	t.Run("traffic postpones it", func(t *testing.T) {
		cfg := clientConfig(t)
		cfg.KeepAlive = 300 * time.Millisecond
		s, p := establish(t, cfg)
		deadline := time.Now().Add(600 * time.Millisecond)
		for time.Now().Before(deadline) {
			p.Send("<message from='romeo@example.net/a'><body>hi</body></message>")
			time.Sleep(50 * time.Millisecond)
		}
		_ = p.Conn().SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		_, err := p.Reader().NextElement()
		var ne net.Error
		assert.True(t, errors.As(err, &ne) && ne.Timeout(), "no ping while the server talks: %v", err)
		assert.NoError(t, s.Err())
	})
}

func TestSendRespectsContext(t *testing.T) {
	s, p := establish(t, clientConfig(t))
	// Another writer holds the stream: Send must give up when ctx ends
	// instead of waiting for it.
	s.write.sem <- struct{}{}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.Send(ctx, &stanza.Message{Body: "x"})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second)
	s.release()
	assert.NoError(t, s.Err(), "giving up before writing leaves the stream intact")
	pingRoundTrip(t, s, p)
}

func TestMuxRegistrationPanics(t *testing.T) {
	m := NewMux()
	assert.Panics(t, func() { m.HandleIQ(stanza.IQResult, xml.Name{Space: "x"}, nil) })
	assert.Panics(t, func() { m.HandleIQ(stanza.IQGet, xml.Name{Local: "x"}, nil) })
}

func pingIQ() *stanza.IQ {
	return &stanza.IQ{Header: stanza.Header{To: mustJID("example.com")}, Type: stanza.IQGet, Payload: emptyElement{ns.Ping, "ping"}}
}

func TestCloseWithBlockedHandlerAndFullQueue(t *testing.T) {
	cfg := clientConfig(t)
	cfg.QueueBytes = 256
	cfg.Mux = NewMux()
	release := make(chan struct{})
	var handled int
	cfg.Mux.HandleMessageFunc(MessageRoute{}, func(ctx context.Context, s *Session, m *stanza.Message) {
		<-release
		handled++
	})
	s, p := establish(t, cfg)
	for i := 0; i < 20; i++ {
		p.Send(fmt.Sprintf("<message from='romeo@example.net/a'><body>filler %d</body></message>", i))
	}
	closed := p.AwaitClose()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := s.Close(ctx)
	assert.ErrorContains(t, err, "handlers still running")
	<-closed // the reader read on to the server's close despite the full queue
	close(release)
	require.NoError(t, s.Close(context.Background()), "once the handler returns, Close completes")
	assert.Equal(t, 20, handled, "what arrived before the close is still delivered")
}

func TestStanzasInheritTheStreamLanguage(t *testing.T) {
	cfg := clientConfig(t)
	cfg.Mux = NewMux()
	got := make(chan *stanza.Message, 2)
	cfg.Mux.HandleMessageFunc(MessageRoute{}, func(_ context.Context, _ *Session, m *stanza.Message) { got <- m })
	_, p := establish(t, cfg) // the peer's header says xml:lang='en'
	p.Send("<message from='romeo@example.net/a'><body xml:lang='fr'>salut</body><body xml:lang='en'>hi</body></message>")
	p.Send("<message from='romeo@example.net/a' xml:lang='de'><body>hallo</body><body xml:lang='en'>hi</body></message>")
	m := <-got
	assert.Equal(t, "en", m.Lang)
	assert.Equal(t, "hi", m.Body)
	assert.Equal(t, []stanza.Text{{Lang: "fr", Value: "salut"}}, m.AltBodies)
	m = <-got
	assert.Equal(t, "de", m.Lang, "a stanza's own xml:lang wins")
	assert.Equal(t, "hallo", m.Body)
	assert.Equal(t, []stanza.Text{{Lang: "en", Value: "hi"}}, m.AltBodies)
}

func TestKeepaliveEndsSessionWhileAWriteIsStuck(t *testing.T) {
	cfg := clientConfig(t)
	cfg.KeepAlive = 100 * time.Millisecond
	cfg.KeepAliveTimeout = 200 * time.Millisecond
	s, _ := establish(t, cfg) // the peer reads nothing from now on
	big := strings.Repeat("x", 512<<10)
	sendErr := make(chan error, 1)
	go func() {
		for {
			// No deadline: only the session's end can stop this.
			if err := s.Send(context.Background(), &stanza.Message{Body: big}); err != nil {
				sendErr <- err
				return
			}
		}
	}()
	err := waitEnd(t, s)
	assert.ErrorIs(t, err, ErrKeepaliveTimeout)
	select {
	case err := <-sendErr:
		assert.ErrorIs(t, err, ErrClosed)
	case <-time.After(5 * time.Second):
		t.Fatal("the stuck Send did not return")
	}
}

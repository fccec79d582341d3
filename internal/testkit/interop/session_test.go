//go:build interop

package interop_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/testkit/faultproxy"
	"github.com/parleyim/parley/internal/testkit/xmppd"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// conflictPolicy is what a server does when a second session binds a
// resource that is in use (RFC 6120 §7.7.2.2 lets it choose).
type conflictPolicy string

const (
	// kickOld: the new session gets the resource; the old one is ended
	// with a <conflict/> stream error.
	kickOld conflictPolicy = "kick old"
	// refuseNew: the new bind fails with a conflict stanza error.
	refuseNew conflictPolicy = "refuse new"
)

// behaviour is what a server does where the RFCs leave a choice.
type behaviour struct {
	conflict conflictPolicy
	// unknownIQ is the error condition for an iq get to the server in a
	// namespace it does not know.
	unknownIQ stanza.Condition
	// newCodePoint is what the server does with a requested resource that
	// holds a character Unicode 3.2 did not have: both servers still
	// prepare resources with RFC 3920's stringprep, where such a character
	// is prohibited, while RFC 7622's PRECIS allows it.
	newCodePoint resourceOutcome
	// smResendInOrder: after a resumption the server sends the stanzas
	// the client had not acknowledged before those routed to it since.
	// ejabberd 23.01 does not: what arrives while the session is being
	// resumed overtakes what it sends again (seen as, say, 62–67 before
	// 52–61); nothing is lost or duplicated, and a client cannot restore
	// an order it never saw.
	smResendInOrder bool
}

// resourceOutcome is the result of asking for a resource at bind.
type resourceOutcome string

const (
	honoured      resourceOutcome = "honoured"
	otherAssigned resourceOutcome = "another resource assigned"
	refusedBadReq resourceOutcome = "refused with bad-request"
)

var behaviours = map[xmppd.Kind]behaviour{
	xmppd.Prosody:  {conflict: kickOld, unknownIQ: stanza.ServiceUnavailable, newCodePoint: otherAssigned, smResendInOrder: true},
	xmppd.Ejabberd: {conflict: kickOld, unknownIQ: stanza.ServiceUnavailable, newCodePoint: refusedBadReq, smResendInOrder: false},
}

// sessionCase is one behaviour of an established session, checked against
// the hashed-password server over STARTTLS with TLS 1.3 and the default
// mechanisms.
type sessionCase struct {
	name string
	run  func(t *testing.T, e *env, want behaviour)
}

var sessionCases = []sessionCase{
	{name: "bind/server-assigned", run: testBindServerAssigned},
	{name: "bind/requested", run: testBindRequested},
	{name: "bind/requested-new-code-point", run: testBindNewCodePoint},
	{name: "bind/conflict", run: testBindConflict},
	{name: "ping", run: testPing},
	{name: "iq/unknown-namespace", run: testUnknownIQ},
	{name: "close", run: testClose},
	{name: "keepalive/ping", run: testKeepAlive(false)},
	{name: "keepalive/whitespace", run: testKeepAlive(true)},
	{name: "idle/wake-up/tls1.3", run: testWakeUp(dialSpec{})},
	{name: "idle/wake-up/tls1.2", run: testWakeUp(dialSpec{tls: tls12})},
	{name: "idle/wake-up/direct-tls", run: testWakeUp(dialSpec{direct: true})},
	{name: "sm/resume-after-cut", run: testSMResume(func(c *faultproxy.Conn) { c.Cut() })},
	{name: "sm/resume-after-cut-mid-record", run: testSMResume(func(c *faultproxy.Conn) { c.CutAfter(faultproxy.ToClient, 37) })},
}

func runSessionCases(t *testing.T, e *env) {
	want, ok := behaviours[e.kind]
	require.True(t, ok, "no behaviour listed for %s", e.kind)
	for _, tt := range sessionCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, e, want)
		})
	}
}

func testBindServerAssigned(t *testing.T, e *env, _ behaviour) {
	s, trace, err := e.dial(t, dialSpec{})
	require.NoError(t, err)
	// Both servers mark the RFC 3921 session iq optional, so it is not sent.
	assert.True(t, s.Features().Bind)
	assert.True(t, s.Features().Session)
	assert.True(t, s.Features().SessionOptional)
	assert.NotContains(t, sentOnly(trace.String()), "urn:ietf:params:xml:ns:xmpp-session", "no session iq")
	assert.NotEmpty(t, s.Addr().Resourcepart(), "server-assigned resource")
	assert.Equal(t, "alice", s.Addr().Localpart())
	assert.Equal(t, e.servers[hashed].Domain, s.Addr().Domainpart())

	// A second session gets another resource.
	s2, _, err := e.dial(t, dialSpec{})
	require.NoError(t, err)
	assert.NotEqual(t, s.Addr().Resourcepart(), s2.Addr().Resourcepart())
	assert.NoError(t, s.Err(), "the first session is not disturbed")
}

func testBindRequested(t *testing.T, e *env, _ behaviour) {
	const resource = "Parley requested é"
	s, _, err := e.dial(t, dialSpec{user: "bob", resource: resource})
	require.NoError(t, err)
	assert.Equal(t, resource, s.Addr().Resourcepart())
	assert.Equal(t, "bob", s.Addr().Localpart())
	assert.NoError(t, ping(t, s))
}

func testBindNewCodePoint(t *testing.T, e *env, want behaviour) {
	const resource = "parley ☕" // U+2615 arrived in Unicode 4.0
	s, _, err := e.dial(t, dialSpec{user: "bob", resource: resource})
	t.Logf("%s binding %q: %s", e.kind, resource, bindResult(s, err))
	switch want.newCodePoint {
	case honoured:
		require.NoError(t, err)
		assert.Equal(t, resource, s.Addr().Resourcepart())
	case otherAssigned:
		require.NoError(t, err)
		assert.NotEqual(t, resource, s.Addr().Resourcepart())
		assert.NotEmpty(t, s.Addr().Resourcepart())
		assert.NoError(t, ping(t, s))
	case refusedBadReq:
		var be *session.BindError
		require.ErrorAs(t, err, &be)
		assert.ErrorIs(t, err, stanza.BadRequest)
		assert.Equal(t, resource, be.Resource)
	default:
		t.Fatalf("unknown outcome %q", want.newCodePoint)
	}
}

// bindResult describes a bind for the log.
func bindResult(s *session.Session, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return "bound " + s.Addr().String()
}

func testBindConflict(t *testing.T, e *env, want behaviour) {
	const resource = "parley-conflict"
	first, _, err := e.dial(t, dialSpec{user: "carol", resource: resource})
	require.NoError(t, err)
	require.Equal(t, resource, first.Addr().Resourcepart())

	second, _, err := e.dial(t, dialSpec{user: "carol", resource: resource})
	switch want.conflict {
	case kickOld:
		require.NoError(t, err, "the second bind succeeds")
		assert.Equal(t, resource, second.Addr().Resourcepart())
		select {
		case <-first.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("the first session was not ended")
		}
		var se *stanza.StreamError
		require.ErrorAs(t, first.Err(), &se)
		t.Logf("%s: the first session ended with %v", e.kind, first.Err())
		assert.ErrorIs(t, first.Err(), stanza.StreamConflict)
		assert.NoError(t, second.Err(), "the second session lives on")
		assert.NoError(t, ping(t, second))
	case refuseNew:
		require.Error(t, err)
		var be *session.BindError
		require.ErrorAs(t, err, &be)
		assert.ErrorIs(t, err, stanza.Conflict)
		assert.Equal(t, resource, be.Resource)
		assert.NoError(t, first.Err(), "the first session lives on")
		assert.NoError(t, ping(t, first))
	default:
		t.Fatalf("unknown policy %q", want.conflict)
	}
}

func testPing(t *testing.T, e *env, _ behaviour) {
	s, _, err := e.dial(t, dialSpec{})
	require.NoError(t, err)
	for range 3 {
		assert.NoError(t, ping(t, s))
	}
}

func testUnknownIQ(t *testing.T, e *env, want behaviour) {
	s, _, err := e.dial(t, dialSpec{})
	require.NoError(t, err)
	payload, err := stanza.ParseRaw([]byte(`<query xmlns='urn:parley:interop:unknown'><x/></query>`))
	require.NoError(t, err)
	domain := jid.MustParse(e.servers[hashed].Domain)
	reply, err := s.SendIQ(ctxFor(t), &stanza.IQ{
		Header:  stanza.Header{To: domain},
		Type:    stanza.IQGet,
		Payload: payload,
	})
	require.Error(t, err)
	t.Logf("unknown namespace: %s answers %v", e.kind, err)
	assert.ErrorIs(t, err, want.unknownIQ)
	var se *stanza.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, stanza.ErrorCancel, se.Type)
	require.NotNil(t, reply, "the error reply is returned")
	assert.Equal(t, stanza.IQError, reply.Type)
	assert.True(t, reply.From.Equal(domain), "reply from %v", reply.From)
	assert.NoError(t, s.Err(), "an iq error does not end the stream")
	assert.NoError(t, ping(t, s))
}

func testClose(t *testing.T, e *env, _ behaviour) {
	s, trace, err := e.dial(t, dialSpec{})
	require.NoError(t, err)
	require.NoError(t, ping(t, s))
	established := len(trace.String())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, s.Close(ctx))
	select {
	case <-s.Done():
	default:
		t.Fatal("Done is not closed after Close")
	}
	assert.ErrorIs(t, s.Err(), session.ErrClosed)
	closing := trace.String()[established:]
	// With stream management each side may say what it handled (<a/>)
	// in the same write as its close tag.
	assert.Regexp(t, `(?m)^SEND .*</stream:stream>$`, closing, "the client closes the stream")
	assert.Regexp(t, `(?m)^RECV .*</stream:stream>$`, closing, "the server closed its side before Close returned")
	assert.NoError(t, s.Close(ctx), "a second Close is a no-op")
	err = ping(t, s)
	assert.ErrorIs(t, err, session.ErrClosed, "SendIQ after Close")
	// goleak in TestMain checks that the session's goroutines are gone.
}

func testKeepAlive(whitespace bool) func(t *testing.T, e *env, _ behaviour) {
	return func(t *testing.T, e *env, _ behaviour) {
		const interval, idle = 2 * time.Second, 5 * time.Second
		s, trace, err := e.dial(t, dialSpec{tune: func(c *session.Config) {
			c.KeepAlive = interval
			c.KeepAliveTimeout = 3 * time.Second
			c.WhitespaceKeepAlive = whitespace
		}})
		require.NoError(t, err)
		established := len(trace.String())

		select {
		case <-s.Done():
			t.Fatalf("the session ended while idle: %v", s.Err())
		case <-time.After(idle):
		}
		assert.NoError(t, s.Err())
		sent := trace.String()[established:]
		if whitespace {
			assert.Contains(t, sent, "SEND  \n", "a whitespace keepalive was sent")
			assert.NotContains(t, sent, "urn:xmpp:ping", "no ping was sent")
		} else {
			assert.GreaterOrEqual(t, strings.Count(sent, "SEND <iq"), 1, "a keepalive ping was sent")
			assert.Contains(t, sent, "urn:xmpp:ping")
		}
		assert.NoError(t, ping(t, s), "ping after idling")
	}
}

// testWakeUp checks that a session whose reader has gone idle (letting go
// of its buffer and parser, and waiting on the socket in a new goroutine)
// wakes up for what the server sends: messages to itself that the server
// routes back, one at a time with pauses, and a ping reply.
func testWakeUp(spec dialSpec) func(t *testing.T, e *env, _ behaviour) {
	return func(t *testing.T, e *env, _ behaviour) {
		bodies := make(chan string, 8)
		mux := session.NewMux()
		mux.HandleMessageFunc(session.MessageRoute{}, func(_ context.Context, _ *session.Session, m *stanza.Message) {
			bodies <- m.Body
		})
		spec.tune = func(c *session.Config) { c.Mux = mux }
		s, _, err := e.dial(t, spec)
		require.NoError(t, err)
		for _, body := range []string{"one", "two", "three"} {
			time.Sleep(300 * time.Millisecond)
			require.NoError(t, s.Send(ctxFor(t), &stanza.Message{
				Header: stanza.Header{To: s.Addr()},
				Type:   stanza.MessageChat,
				Body:   body,
			}))
			select {
			case got := <-bodies:
				assert.Equal(t, body, got)
			case <-time.After(10 * time.Second):
				t.Fatalf("message %q did not come back", body)
			}
		}
		time.Sleep(300 * time.Millisecond)
		assert.NoError(t, ping(t, s))
	}
}

// sentOnly keeps the lines of a trace that the client sent.
func sentOnly(trace string) string {
	var b strings.Builder
	for line := range strings.Lines(trace) {
		if strings.HasPrefix(line, "SEND ") {
			b.WriteString(line)
		}
	}
	return b.String()
}

// ping sends an XEP-0199 ping to the server's domain and checks the reply
// is a result.
func ping(t *testing.T, s *session.Session) error {
	t.Helper()
	payload, err := stanza.ParseRaw([]byte(`<ping xmlns='urn:xmpp:ping'/>`))
	require.NoError(t, err)
	reply, err := s.SendIQ(ctxFor(t), &stanza.IQ{
		Header:  stanza.Header{To: s.Addr().Domain()},
		Type:    stanza.IQGet,
		Payload: payload,
	})
	if err != nil {
		return err
	}
	if reply.Type != stanza.IQResult {
		return errors.New("ping: reply of type " + string(reply.Type))
	}
	return nil
}

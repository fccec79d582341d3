package session

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

// rosterItems returns about n bytes of roster items: what makes a roster
// result large.
func rosterItems(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "<item jid='contact%06d@example.net' name='Contact %d' subscription='both'><group>Friends</group></item>", i, i)
	}
	return b.String()
}

// bigIQ is an iq of about 3 MiB: type typ, with id, from from (none when
// empty), a roster query full of items, and for an error the error.
func bigIQ(typ, id, from string) string {
	fromAttr := ""
	if from != "" {
		fromAttr = " from='" + from + "'"
	}
	errorChild := ""
	if typ == "error" {
		errorChild = "<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>"
	}
	return "<iq type='" + typ + "' id='" + id + "'" + fromAttr + "><query xmlns='jabber:iq:roster'>" +
		rosterItems(3<<20) + "</query>" + errorChild + "</iq>"
}

// rosterGet is a request to the account itself, as a roster get is.
func rosterGet() *stanza.IQ {
	return &stanza.IQ{Type: stanza.IQGet, Payload: emptyElement{"jabber:iq:roster", "query"}}
}

type iqResult struct {
	iq  *stanza.IQ
	err error
}

// A request with WithReplyLimit accepts one larger element: its own reply
// (a result or error with its id from an address that may answer it).
// Everything else keeps the session's limit, and an element over it ends
// the stream with policy-violation.
func TestReplyLimit(t *testing.T) {
	const allowed = 8 << 20
	big := func(typ, from string) func(id string) []string {
		return func(id string) []string { return []string{bigIQ(typ, id, from)} }
	}
	realReply := func(id string) string { return "<iq type='result' id='" + id + "'/>" }
	tests := []struct {
		name string
		// limit is given to WithReplyLimit; zero: the option is not used.
		limit int
		// send is what the server sends once the request is out.
		send func(id string) []string
		// wantReply: SendIQ returns the large reply.
		wantReply bool
		// wantEnd: the stream ends with policy-violation and this text.
		wantEnd string
	}{
		{"a 3 MiB result arrives whole", allowed, big("result", ""), true, ""},
		{"from the bare JID", allowed, big("result", "juliet@example.com"), true, ""},
		{"from the full JID", allowed, big("result", "juliet@example.com/generated"), true, ""},
		{"an error reply too", allowed, big("error", ""), true, ""},
		{"without the option", 0, big("result", ""), false, "element larger than 1048576 bytes"},
		{"a limit below the session's changes nothing", 1000, big("result", ""), false, "element larger than 1048576 bytes"},
		{"over the limit the request allowed", 2 << 20, big("result", ""), false, "element larger than 2097152 bytes"},
		// The real reply comes next: it is never confused with the
		// element that ended the stream.
		{"the right id from another user", allowed, func(id string) []string {
			return []string{bigIQ("result", id, "romeo@example.net/orchard"), realReply(id)}
		}, false, "element larger than 1048576 bytes"},
		{"the right id from the server's domain", allowed, func(id string) []string {
			return []string{bigIQ("result", id, "example.com"), realReply(id)}
		}, false, "element larger than 1048576 bytes"},
		{"an iq set with the right id", allowed, func(id string) []string {
			return []string{bigIQ("set", id, ""), realReply(id)}
		}, false, "element larger than 1048576 bytes"},
		{"a message while the request waits", allowed, func(id string) []string {
			return []string{chat(rosterItems(3 << 20)), realReply(id)}
		}, false, "element larger than 1048576 bytes"},
		{"an iq result with another id", allowed, func(id string) []string {
			return []string{bigIQ("result", "x"+id, ""), realReply(id)}
		}, false, "element larger than 1048576 bytes"},
		// A reply the decoder refuses (a result with two payloads) is
		// dropped and the request waits on, but the allowance is used.
		{"one element only, even one that is dropped", allowed, func(id string) []string {
			invalid := strings.Replace(bigIQ("result", id, ""), "</iq>", "<other xmlns='urn:example:x'/></iq>", 1)
			return []string{invalid, bigIQ("result", id, "")}
		}, false, "element larger than 1048576 bytes"},
		{"only the reply: the next large element fails", allowed, func(id string) []string {
			return []string{bigIQ("result", id, ""), bigIQ("result", id, "")}
		}, true, "element larger than 1048576 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, p := establish(t, clientConfig(t))
			ctx := context.Background()
			if tt.limit != 0 {
				ctx = WithReplyLimit(ctx, tt.limit)
			}
			got := make(chan iqResult, 1)
			go func() {
				iq, err := s.SendIQ(ctx, rosterGet())
				got <- iqResult{iq, err}
			}()
			id := p.Expect("iq").Attr("id")
			// The client may end the stream while this is written; it
			// reads on (linger), but the write's errors do not matter.
			go func() {
				for _, el := range tt.send(id) {
					if _, err := io.WriteString(p.Conn(), el); err != nil {
						return
					}
				}
			}()

			var r iqResult
			select {
			case r = <-got:
			case <-time.After(30 * time.Second):
				t.Fatal("SendIQ did not return")
			}
			if tt.wantReply {
				require.NotNil(t, r.iq, "the reply: %v", r.err)
				assert.Equal(t, id, r.iq.ID)
				require.NotNil(t, r.iq.Payload)
				assert.Greater(t, len(r.iq.Payload.(*stanza.Raw).String()), 3<<20, "the payload is whole")
				if r.iq.Type == stanza.IQError {
					assert.ErrorIs(t, r.err, stanza.ItemNotFound)
				} else {
					assert.NoError(t, r.err)
				}
			} else {
				assert.Nil(t, r.iq, "no reply is taken for the request")
				assert.ErrorIs(t, r.err, ErrClosed)
			}
			assert.Zero(t, s.pending.large.Load(), "no allowance is left behind")

			if tt.wantEnd == "" {
				pingRoundTrip(t, s, p)
				assert.NoError(t, s.Err())
				return
			}
			err := waitEnd(t, s)
			var se *stanza.StreamError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, stanza.StreamPolicyViolation, se.Condition)
			assert.Equal(t, tt.wantEnd, se.Text)
			sent := p.ExpectClosed()
			require.NotEmpty(t, sent, "the stream error is sent to the server")
			assert.Contains(t, sent[0], "policy-violation")
		})
	}
}

// Two requests wait; only the one that allowed a large reply gets it, and
// each allowance serves its own reply.
func TestReplyLimitIsPerRequest(t *testing.T) {
	tests := []struct {
		name    string
		limits  [2]int // of the two requests
		wantEnd bool   // the second reply ends the stream
	}{
		{"both allowed", [2]int{8 << 20, 8 << 20}, false},
		{"the second not allowed", [2]int{8 << 20, 0}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, p := establish(t, clientConfig(t))
			var got [2]chan iqResult
			var ids [2]string
			for i, limit := range tt.limits {
				ctx := context.Background()
				if limit != 0 {
					ctx = WithReplyLimit(ctx, limit)
				}
				got[i] = make(chan iqResult, 1)
				go func() {
					iq, err := s.SendIQ(ctx, rosterGet())
					got[i] <- iqResult{iq, err}
				}()
				ids[i] = p.Expect("iq").Attr("id")
			}
			// The second request's reply first: the first request's
			// allowance must not serve it.
			go func() {
				for _, id := range []string{ids[1], ids[0]} {
					if _, err := io.WriteString(p.Conn(), bigIQ("result", id, "")); err != nil {
						return
					}
				}
			}()
			second := <-got[1]
			if !tt.wantEnd {
				require.NoError(t, second.err)
				first := <-got[0]
				require.NoError(t, first.err)
				assert.Equal(t, ids[0], first.iq.ID)
				pingRoundTrip(t, s, p)
				return
			}
			assert.ErrorIs(t, second.err, ErrClosed)
			assert.ErrorIs(t, (<-got[0]).err, ErrClosed)
			var se *stanza.StreamError
			require.ErrorAs(t, waitEnd(t, s), &se)
			assert.Equal(t, stanza.StreamPolicyViolation, se.Condition)
			p.ExpectClosed()
		})
	}
}

// A request that no longer waits leaves no allowance behind: the reader's
// check costs nothing again.
func TestReplyLimitForgotten(t *testing.T) {
	s, p := establish(t, clientConfig(t))
	ctx, cancel := context.WithCancel(WithReplyLimit(context.Background(), 8<<20))
	errc := make(chan error, 1)
	go func() {
		_, err := s.SendIQ(ctx, rosterGet())
		errc <- err
	}()
	id := p.Expect("iq").Attr("id")
	assert.Equal(t, int32(1), s.pending.large.Load(), "the request holds an allowance")
	cancel()
	assert.ErrorIs(t, <-errc, context.Canceled)
	assert.Zero(t, s.pending.large.Load())
	// Its late reply gets the session's limit.
	go func() { _, _ = io.WriteString(p.Conn(), bigIQ("result", id, "")) }()
	var se *stanza.StreamError
	require.ErrorAs(t, waitEnd(t, s), &se)
	assert.Equal(t, stanza.StreamPolicyViolation, se.Condition)
	p.ExpectClosed()
}

func TestPendingGrant(t *testing.T) {
	// grant applies the reply rule: spot-check it through the table.
	var tab pendingTable
	tab.m = make(map[string]*pendingIQ)
	account := jid.MustParse("juliet@example.com/balcony")
	_, err := tab.add("a", jid.JID{}, 10, 5000)
	require.NoError(t, err)
	assert.Zero(t, tab.grant("a", jid.MustParse("example.com"), account), "the domain may not answer a request to the account")
	assert.Zero(t, tab.grant("b", jid.JID{}, account), "no request with that id")
	assert.Equal(t, 5000, tab.grant("a", account.Bare(), account))
	assert.Zero(t, tab.grant("a", account.Bare(), account), "granted once")
	assert.Zero(t, tab.large.Load())
}

package session

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/stanza"
)

// Stanzas the server routes to the bound resource before negotiation
// is over (before the session iq's reply, before <enabled/>) reach the
// handlers once the session starts, in order, after the start hooks;
// those after <enable/> count towards h.
func TestEarlyStanzas(t *testing.T) {
	cfg := smConfig(t)
	mux := NewMux()
	var order []string
	got := make(chan struct{}, 8)
	mux.HandleStart(func(context.Context, *Session, bool) { order = append(order, "start hook") })
	mux.HandleMessageFunc(MessageTypes(stanza.MessageChat), func(_ context.Context, _ *Session, m *stanza.Message) {
		order = append(order, m.Body)
		got <- struct{}{}
	})
	mux.HandleIQFunc(stanza.IQGet, xmlName("urn:xmpp:ping", "ping"), func(context.Context, *Session, *stanza.IQ) (stanza.Payload, error) {
		order = append(order, "ping")
		return nil, nil
	})
	cfg.Mux = mux
	hs := make(chan string, 1)
	answered := make(chan string, 1)
	s, err := dialPeer(t, cfg, func(p *peer) {
		p.ToBind("SCRAM-SHA-1")
		p.Features(featBind + "<session xmlns='urn:ietf:params:xml:ns:xmpp-session'/>" + featSM)
		p.Bind("")
		sess := p.Expect("iq")
		p.Send("<message from='romeo@example.net/a' type='chat'><body>before the session reply</body></message>")
		p.Send("<iq type='get' id='p1' from='example.com'><ping xmlns='urn:xmpp:ping'/></iq>")
		p.Send("<iq type='result' id='" + sess.Attr("id") + "'/>")
		p.Expect("enable")
		p.Send("<message from='romeo@example.net/a' type='chat'><body>before enabled</body></message>")
		p.Send("<message from='romeo@example.net/a' type='chat'><body>before enabled 2</body></message>")
		p.Send("<enabled xmlns='" + ns.SM + "'/>")
		answered <- p.Expect("iq").Attr("id")
		p.Send("<r xmlns='" + ns.SM + "'/>")
		for {
			el := p.Next()
			if el.Name().Local == "a" {
				hs <- el.Attr("h")
				break
			}
		}
		p.ExpectClosed()
	})
	require.NoError(t, err)
	for range 3 {
		<-got
	}
	assert.Equal(t, "p1", <-answered, "the early ping is answered")
	assert.Equal(t, "2", <-hs, "the two messages after <enable/> count")
	require.NoError(t, s.Close(context.Background()))
	assert.Equal(t, []string{"start hook", "before the session reply", "ping", "before enabled", "before enabled 2"}, order)
}

// TestEarlyStanzasBounded: a server that floods the resource before
// negotiation ends is refused (with resource-constraint, which the
// server may not get to read: the client hangs up with its input
// unread).
func TestEarlyStanzasBounded(t *testing.T) {
	cfg := smConfig(t)
	cfg.QueueBytes = 4096
	_, err := dialPeer(t, cfg, func(p *peer) {
		p.ToBind("SCRAM-SHA-1")
		p.Features(featBind + featSM)
		p.Bind("")
		p.Expect("enable")
		var flood strings.Builder
		body := strings.Repeat("x", 500)
		for i := range 20 {
			fmt.Fprintf(&flood, "<message from='romeo@example.net/a' type='chat'><body>%d %s</body></message>", i, body)
		}
		p.Send(flood.String()) // one write: nothing is written after the client hangs up
		for {
			if _, err := p.TryNext(); err != nil {
				return
			}
		}
	})
	require.ErrorContains(t, err, "more stanzas during negotiation than the queue holds")
}

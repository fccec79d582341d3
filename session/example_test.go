package session_test

import (
	"context"
	"encoding/xml"
	"errors"
	"log"
	"time"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/sasl"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// An echo bot: it answers every chat message with the same text.
func Example() {
	mux := session.NewMux()
	mux.HandleMessageFunc(session.MessageTypes(stanza.MessageChat),
		func(ctx context.Context, s *session.Session, m *stanza.Message) {
			if m.Body == "" {
				return // a chat state or receipt, not text
			}
			if err := s.Send(ctx, m.Reply(m.Body)); err != nil {
				log.Printf("echo to %s: %v", m.From, err)
			}
		})

	ctx := context.Background()
	s, err := session.Dial(ctx, jid.MustParse("echo@example.com"), "secret", &session.Config{Mux: mux})
	if err != nil {
		log.Fatal(err)
	}
	// Available presence, so that messages to the bare JID reach the bot.
	if err := s.Send(ctx, &stanza.Presence{}); err != nil {
		log.Fatal(err)
	}
	<-s.Done()
	log.Printf("stream ended: %v", s.Err())
}

// Answering an iq: the handler returns the result payload or an error,
// and the session sends the reply.
func ExampleMux_HandleIQFunc() {
	mux := session.NewMux()
	mux.HandleIQFunc(stanza.IQGet, xml.Name{Space: "jabber:iq:version", Local: "query"},
		func(ctx context.Context, s *session.Session, iq *stanza.IQ) (stanza.Payload, error) {
			return stanza.Marshal(struct {
				XMLName xml.Name `xml:"jabber:iq:version query"`
				Name    string   `xml:"name"`
				Version string   `xml:"version"`
			}{Name: "Parley bot", Version: "1.0"})
		})
	// Every other iq get or set is answered service-unavailable.
	_ = mux.Features() // [jabber:iq:version]: what service discovery will announce
}

// Sending a request and reading the reply; an iq error is a *stanza.Error.
func ExampleSession_SendIQ() {
	var s *session.Session // from Dial
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	query, err := stanza.ParseRaw([]byte("<query xmlns='jabber:iq:version'/>"))
	if err != nil {
		log.Fatal(err)
	}
	reply, err := s.SendIQ(ctx, &stanza.IQ{
		Header:  stanza.Header{To: jid.MustParse("example.com")},
		Type:    stanza.IQGet,
		Payload: query,
	})
	switch {
	case errors.Is(err, stanza.ServiceUnavailable):
		log.Print("not supported there")
	case err != nil:
		log.Print(err)
	default:
		if raw, ok := reply.Raw(); ok {
			var v struct {
				Name string `xml:"name"`
			}
			_ = raw.Decode(&v)
		}
	}
}

// Fetching a roster that may be larger than the session's element limit
// (Config.MaxStanzaBytes, 1 MiB by default): the reply to this request,
// and only it, may take up to 16 MiB.
func ExampleWithReplyLimit() {
	var s session.Sender // a *Session from Dial, or the reconnecting client
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	query, err := stanza.ParseRaw([]byte("<query xmlns='jabber:iq:roster'/>"))
	if err != nil {
		log.Fatal(err)
	}
	reply, err := s.SendIQ(session.WithReplyLimit(ctx, 16<<20), &stanza.IQ{Type: stanza.IQGet, Payload: query})
	if err != nil {
		log.Fatal(err)
	}
	_ = reply.Payload // the items
}

// Pinning the login to SCRAM with channel binding where possible, and
// never PLAIN.
func ExampleConfig_mechanisms() {
	cfg := &session.Config{
		Mechanisms: []sasl.Mechanism{sasl.ScramSHA256Plus, sasl.ScramSHA256, sasl.ScramSHA1Plus, sasl.ScramSHA1},
		Resource:   "laptop",
	}
	s, err := session.Dial(context.Background(), jid.MustParse("juliet@example.com"), "secret", cfg)
	var failure *sasl.Failure
	switch {
	case errors.As(err, &failure):
		log.Printf("login refused: %s (%s)", failure.Condition, failure.Text)
	case errors.Is(err, sasl.ErrNoMechanism):
		log.Print("the server offers none of the mechanisms we accept")
	case err != nil:
		log.Print(err)
	default:
		log.Printf("logged in as %s", s.Addr())
	}
}

package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	goxmpp "github.com/xmppo/go-xmpp"
	gosrc "gosrc.io/xmpp"
	gsstanza "gosrc.io/xmpp/stanza"
	msasl "mellium.im/sasl"
	"mellium.im/xmlstream"
	mxmpp "mellium.im/xmpp"
	mjid "mellium.im/xmpp/jid"
	mstanza "mellium.im/xmpp/stanza"

	"github.com/parleyim/parley/im"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// A live client is logged in to a real server: it sends the chat message
// of the encode benchmark to a full JID, one message per write, and calls
// its onMessage for every chat message with a body it receives, once the
// library has handed the message to the application.
type liveClient struct {
	jid   string // bound full JID
	send  func(to string) error
	close func()
}

type liveLib struct {
	name string
	// login logs user in to the server at addr, over STARTTLS or, if
	// !useTLS, in the clear (the server then offers no TLS).
	login func(ctx context.Context, addr, domain, user string, useTLS bool, onMessage func()) (*liveClient, error)
}

const liveResource = "bench"

// liveLibs are the libraries of the CPU and memory comparisons; the floor
// is not a library but a bare connection.
var liveLibs = []liveLib{
	{"parley", liveParley},
	{"mellium", liveMellium},
	{"gosrc", liveGosrc},
	{"go-xmpp", liveGoXMPP},
}

var floorLib = liveLib{floorName, liveFloor}

var liveTLS = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}

func liveTLSFor(domain string) *tls.Config {
	c := liveTLS.Clone()
	c.ServerName = domain
	return c
}

func liveParley(ctx context.Context, addr, domain, user string, useTLS bool, onMessage func()) (*liveClient, error) {
	mux := session.NewMux()
	mux.HandleMessageFunc(session.MessageRoute{}, func(_ context.Context, _ *session.Session, m *stanza.Message) {
		if m.Body != "" {
			onMessage()
		}
	})
	s, err := session.Dial(ctx, jid.MustParse(user+"@"+domain), password, &session.Config{
		Addr: addr, TLSConfig: liveTLSFor(domain), NoTLS: !useTLS, Resource: liveResource, Mux: mux,
	})
	if err != nil {
		return nil, err
	}
	return &liveClient{
		jid: s.Addr().String(),
		send: func(to string) error {
			t, err := jid.Parse(to)
			if err != nil {
				return err
			}
			return s.Send(context.Background(), &stanza.Message{
				Header:     stanza.Header{ID: stanza.NewID(), To: t},
				Type:       stanza.MessageChat,
				Body:       encBody,
				Thread:     stanza.Thread{ID: encThread},
				Extensions: []stanza.Payload{im.Active, im.ReceiptRequest{}},
			})
		},
		close: func() { _ = s.Close(context.Background()) },
	}, nil
}

// melliumLogin logs in as the library's documentation shows.
func melliumLogin(ctx context.Context, addr, domain, user string, useTLS bool) (*mxmpp.Session, net.Conn, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	features := []mxmpp.StreamFeature{
		mxmpp.SASL("", password, msasl.ScramSha256Plus, msasl.ScramSha256, msasl.ScramSha1Plus, msasl.ScramSha1),
		mxmpp.BindCustom(func(mjid.JID, string) (mjid.JID, error) {
			return mjid.MustParse(user + "@" + domain + "/" + liveResource), nil
		}),
	}
	var s *mxmpp.Session
	if useTLS {
		features = append([]mxmpp.StreamFeature{mxmpp.StartTLS(liveTLSFor(domain))}, features...)
		s, err = mxmpp.NewClientSession(ctx, mjid.MustParse(user+"@"+domain), conn, features...)
	} else {
		// Its SASL needs a secure stream; the session state says the
		// stream is one, which is how it is told so for a transport it
		// does not know.
		s, err = mxmpp.NewSession(ctx, mjid.MustParse(domain), mjid.MustParse(user+"@"+domain), conn, mxmpp.Secure,
			mxmpp.NewNegotiator(func(*mxmpp.Session, *mxmpp.StreamConfig) mxmpp.StreamConfig {
				return mxmpp.StreamConfig{Features: features}
			}))
	}
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return s, conn, nil
}

func liveMellium(ctx context.Context, addr, domain, user string, useTLS bool, onMessage func()) (*liveClient, error) {
	s, conn, err := melliumLogin(ctx, addr, domain, user, useTLS)
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Serve(mxmpp.HandlerFunc(func(t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
			if start.Name.Local != "message" {
				return nil
			}
			var m mMessage
			if err := xml.NewTokenDecoder(xmlstream.MultiReader(xmlstream.Token(*start), t)).Decode(&m); err != nil {
				return err
			}
			if m.Body != "" {
				onMessage()
			}
			return nil
		}))
	}()
	return &liveClient{
		jid: s.LocalAddr().String(),
		send: func(to string) error {
			t, err := mjid.Parse(to)
			if err != nil {
				return err
			}
			msg := mstanza.Message{ID: mxmppID(), To: t, Type: mstanza.ChatMessage}
			return s.Send(context.Background(), msg.Wrap(xmlstream.MultiReader(
				xmlstream.Wrap(xmlstream.Token(xml.CharData(encBody)), xml.StartElement{Name: xml.Name{Local: "body"}}),
				xmlstream.Wrap(xmlstream.Token(xml.CharData(encThread)), xml.StartElement{Name: xml.Name{Local: "thread"}}),
				xmlstream.Wrap(nil, xml.StartElement{Name: chatStatesActive}),
				xmlstream.Wrap(nil, xml.StartElement{Name: receiptsRequest}),
			)))
		},
		close: func() {
			_ = s.Close()
			conn.Close()
			<-done
		},
	}, nil
}

// mxmppID gives mellium's messages an id as Parley's get one (mellium's
// Message has no default).
func mxmppID() string { return stanza.NewID() }

func liveGosrc(ctx context.Context, addr, domain, user string, useTLS bool, onMessage func()) (*liveClient, error) {
	router := gosrc.NewRouter()
	router.HandleFunc("message", func(_ gosrc.Sender, p gsstanza.Packet) {
		if m, ok := p.(gsstanza.Message); ok && m.Body != "" {
			onMessage()
		}
	})
	c, err := gosrc.NewClient(&gosrc.Config{
		TransportConfiguration: gosrc.TransportConfiguration{Address: addr, Domain: domain, TLSConfig: liveTLSFor(domain)},
		Jid:                    user + "@" + domain + "/" + liveResource,
		Credential:             gosrc.Password(password),
		Insecure:               !useTLS,
		KeepaliveInterval:      time.Minute,
	}, router, func(error) {})
	if err != nil {
		return nil, err
	}
	connected := make(chan error, 1)
	go func() { connected <- c.Connect() }()
	select {
	case err := <-connected:
		if err != nil {
			return nil, err
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return &liveClient{
		jid: c.Session.BindJid,
		send: func(to string) error {
			return c.Send(gsstanza.Message{
				Attrs:      gsstanza.Attrs{Type: gsstanza.MessageTypeChat, Id: stanza.NewID(), To: to},
				Body:       encBody,
				Thread:     encThread,
				Extensions: []gsstanza.MsgExtension{gsstanza.StateActive{}, gsstanza.ReceiptRequest{}},
			})
		},
		close: func() { _ = c.Disconnect() },
	}, nil
}

func liveGoXMPP(_ context.Context, addr, domain, user string, useTLS bool, onMessage func()) (*liveClient, error) {
	c, err := goxmpp.Options{
		Host:                         addr,
		User:                         user + "@" + domain,
		Password:                     password,
		Resource:                     liveResource,
		NoTLS:                        true,
		StartTLS:                     useTLS,
		InsecureAllowUnencryptedAuth: !useTLS,
		TLSConfig:                    liveTLSFor(domain),
		// Its SCRAM-SHA-1 fails against Prosody under TLS 1.3 ("Invalid
		// channel binding value"); how it logs in does not matter here.
		Mechanism: "PLAIN",
	}.NewClient()
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			v, err := c.Recv()
			if err != nil {
				return
			}
			if chat, ok := v.(goxmpp.Chat); ok && chat.Text != "" {
				onMessage()
			}
		}
	}()
	return &liveClient{
		jid: c.JID(),
		send: func(to string) error {
			_, _, err := c.Send(goxmpp.Chat{Remote: to, Type: "chat", Text: encBody, Thread: encThread})
			return err
		},
		close: func() {
			_ = c.Close()
			<-done
		},
	}, nil
}

// liveFloor logs in with mellium.im/xmpp, then uses the bare connection:
// receiving reads and discards bytes, counting the ends of messages;
// sending writes the same pre-encoded message each time. What is left is
// what every library pays: the system calls, the TLS records, the
// wake-ups.
func liveFloor(ctx context.Context, addr, domain, user string, useTLS bool, onMessage func()) (*liveClient, error) {
	s, conn, err := melliumLogin(ctx, addr, domain, user, useTLS)
	if err != nil {
		return nil, err
	}
	raw := s.Conn()
	done := make(chan struct{})
	go func() {
		defer close(done)
		end := []byte("</message>")
		buf := make([]byte, 64<<10)
		var carry []byte
		for {
			n, err := raw.Read(buf)
			if n > 0 {
				// Ends split across two reads: look at the tail of the
				// previous read too.
				chunk := buf[:n]
				if len(carry) > 0 {
					chunk = append(carry, buf[:n]...)
				}
				for range bytes.Count(chunk, end) {
					onMessage()
				}
				keep := min(len(end)-1, len(chunk))
				carry = append(carry[:0], chunk[len(chunk)-keep:]...)
			}
			if err != nil {
				return
			}
		}
	}()
	var msg []byte
	return &liveClient{
		jid: s.LocalAddr().String(),
		send: func(to string) error {
			if msg == nil || !bytes.Contains(msg, []byte(to)) {
				var b strings.Builder
				fmt.Fprintf(&b, "<message to='%s' type='chat' id='%s'><body>", to, encID)
				_ = xml.EscapeText(&b, []byte(encBody))
				fmt.Fprintf(&b, "</body><thread>%s</thread><active xmlns='http://jabber.org/protocol/chatstates'/><request xmlns='urn:xmpp:receipts'/></message>", encThread)
				msg = []byte(b.String())
			}
			_, err := raw.Write(msg)
			return err
		},
		close: func() {
			_, _ = io.WriteString(raw, "</stream:stream>")
			raw.Close()
			conn.Close()
			<-done
		},
	}, nil
}

// counter counts received messages and tells when a target is reached.
type counter struct {
	mu     sync.Mutex
	n      int
	target int
	hit    chan struct{}
}

func (c *counter) inc() {
	c.mu.Lock()
	c.n++
	if c.hit != nil && c.n >= c.target {
		close(c.hit)
		c.hit = nil
	}
	c.mu.Unlock()
}

// expect returns a channel closed once n more messages have arrived.
func (c *counter) expect(n int) <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan struct{})
	c.target = c.n + n
	if c.n >= c.target {
		close(ch)
		return ch
	}
	c.hit = ch
	return ch
}

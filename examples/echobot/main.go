// Command echobot is an XMPP bot: it answers every chat message with the
// same text in the same thread, accepts every subscription request and
// subscribes back, answers pings (XEP-0199) and prints who of its contacts
// comes online and goes offline. It stays connected: when the server ends
// the stream (a restart, a network failure) it logs in again. Its core,
// run, is the program README.md shows under "Using it" (a test keeps the
// two the same).
//
//	ECHOBOT_PASSWORD=secret go run ./examples/echobot -jid bot@example.org
//
// The password comes from the environment variable ECHOBOT_PASSWORD, never
// from the command line, where other users of the machine could read it.
// The flags, each but -xml, -insecure and -reconnect-wait with an
// environment variable that is read when the flag is not given:
//
//	-jid bot@example.org   the bot's account (required; ECHOBOT_JID)
//	-server host:port      connect there instead of looking up the domain's
//	                       SRV records (ECHOBOT_SERVER)
//	-ca file.pem           trust the certificates in this PEM file instead of
//	                       the system's roots (a server with a self-signed
//	                       certificate); the certificate must still be valid
//	                       for the JID's domain (ECHOBOT_CA)
//	-insecure              do not verify the server's certificate at all
//	                       (a local test server only: anyone on the path
//	                       could read and change the stream); logged as a
//	                       warning at start
//	-reconnect-wait 1m     after the stream ended, wait a random time up to
//	                       this before logging in again (RFC 6120 §3.3: the
//	                       clients of a restarted server do not all come
//	                       back at once); 0 logs in again at once
//	-xml                   print the XML of the stream on stderr (SASL
//	                       payloads redacted)
//
// The server's certificate is verified against the JID's domain unless
// -insecure is given; -ca and -insecure exclude each other.
//
// The bot logs each change of its connection: "connected as" its full JID,
// "disconnected:" and why, "reconnecting in" how long. When stream
// management (XEP-0198) resumes a broken connection nothing is lost
// ("connected (resumed)"); otherwise it logs in on a new stream, where
// the roster is fetched and its presence sent again. An attempt that
// fails for a reason that can pass (the server is still down) is followed
// by waits of about 5 seconds, doubling up to 5 minutes; a server that is
// down when the bot starts is waited for the same way.
//
// Ctrl-C (SIGINT) or SIGTERM sends unavailable presence, closes the stream
// politely, within 5 seconds, and exits 0; while the bot waits to
// reconnect it exits 0 at once. The command exits 1 when it stops for a
// reason that would not pass by trying again — a wrong password, a
// certificate that is not trusted, a domain the server does not serve,
// another client taking the bot's resource — after logging "gave up:"
// and why, and 2 for bad flags.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/ping"
	"github.com/parleyim/parley/presence"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// The environment variables: the password's, and those read when a flag
// is not given.
const (
	passwordEnv = "ECHOBOT_PASSWORD"
	jidEnv      = "ECHOBOT_JID"
	serverEnv   = "ECHOBOT_SERVER"
	caEnv       = "ECHOBOT_CA"
)

// options are the command line's.
type options struct {
	jid      string
	server   string
	caFile   string
	insecure bool
	wait     time.Duration // -reconnect-wait
	trace    io.Writer     // -xml: os.Stderr
}

func main() {
	var o options
	var showXML bool
	flag.StringVar(&o.jid, "jid", "", "the bot's JID, e.g. bot@example.org (required; default $"+jidEnv+")")
	flag.StringVar(&o.server, "server", "", "host:port of the server (default $"+serverEnv+", else the JID domain's SRV records)")
	flag.StringVar(&o.caFile, "ca", "", "PEM file with the certificates to trust instead of the system's (self-signed servers; default $"+caEnv+")")
	flag.BoolVar(&o.insecure, "insecure", false, "do not verify the server's certificate (local test servers only)")
	flag.DurationVar(&o.wait, "reconnect-wait", time.Minute, "after the stream ended, wait a random time up to this before logging in again (0: at once)")
	flag.BoolVar(&showXML, "xml", false, "print the XML of the stream on stderr (SASL payloads redacted)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: %s=… echobot -jid bot@example.org [-server host:port] [-ca file.pem | -insecure] [-reconnect-wait 1m] [-xml]\n", passwordEnv)
		flag.PrintDefaults()
	}
	flag.Parse()
	if showXML {
		o.trace = os.Stderr
	}
	logger := log.Default()
	addr, password, cfg, err := setup(o, os.Getenv, logger)
	if err != nil {
		fmt.Fprintln(os.Stderr, "echobot:", err)
		flag.Usage()
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, addr, password, cfg, logger)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "echobot:", err)
		os.Exit(1)
	}
}

// setup turns the options and the environment into what run needs. Every
// input is checked here, with an error that names the flag or variable it
// came from: nothing from the user reaches jid.MustParse. -insecure is
// logged to logger, loudly. The Client's other waits keep their defaults:
// about 5 seconds after a failed attempt, doubling up to 5 minutes, which
// suit a bot no one watches — it comes back soon after a short outage and
// polls a long one gently.
func setup(o options, getenv func(string) string, logger *log.Logger) (addr jid.JID, password string, cfg session.ClientConfig, err error) {
	jidFrom, caFrom := "-jid", "-ca"
	if o.jid == "" {
		o.jid, jidFrom = getenv(jidEnv), jidEnv
	}
	if o.server == "" {
		o.server = getenv(serverEnv)
	}
	if o.caFile == "" {
		o.caFile, caFrom = getenv(caEnv), caEnv
	}
	if o.jid == "" {
		return addr, "", cfg, fmt.Errorf("no JID: give -jid or set %s", jidEnv)
	}
	addr, err = jid.Parse(o.jid)
	if err != nil {
		return addr, "", cfg, fmt.Errorf("%s: %w", jidFrom, err)
	}
	if addr.Localpart() == "" {
		return addr, "", cfg, fmt.Errorf("%s %s: an account is name@domain", jidFrom, o.jid)
	}
	password = getenv(passwordEnv)
	if password == "" {
		return addr, "", cfg, fmt.Errorf("no password: set the environment variable %s", passwordEnv)
	}
	sc := &session.Config{Addr: o.server, Trace: o.trace}
	cfg = session.ClientConfig{Session: sc, FirstDelay: o.wait}
	if o.wait <= 0 {
		cfg.FirstDelay = -1 // at once: the Client's zero is its default
	}
	switch {
	case o.insecure && o.caFile != "":
		return addr, "", cfg, fmt.Errorf("-insecure and %s exclude each other: -insecure verifies nothing", caFrom)
	case o.insecure:
		sc.TLSConfig = &tls.Config{InsecureSkipVerify: true}
		logger.Printf("echobot: WARNING: -insecure: the server's certificate is NOT verified; " +
			"anyone between the bot and the server can read and change the stream. Use it for a local test server only.")
	case o.caFile != "":
		if sc.TLSConfig, err = session.TrustCAFile(o.caFile); err != nil {
			return addr, "", cfg, fmt.Errorf("%s: %w", caFrom, err)
		}
	}
	return addr, password, cfg, nil
}

// run logs in as addr and stays connected — when the stream ends, a
// server restart, say, it logs in again — until ctx ends (then it closes
// the stream and returns nil) or a reason that would not pass stops it (a
// wrong password: it returns why). Meanwhile it echoes chat messages,
// accepts subscription requests and subscribes back, answers pings and
// logs who comes online and goes offline.
func run(ctx context.Context, addr jid.JID, password string, cfg session.ClientConfig, logger *log.Logger) error {
	mux := session.NewMux()
	ping.Handle(mux)
	contacts := roster.Handle(mux)              // fetched on each new stream…
	pres := presence.Handle(mux, contacts, nil) // …then available presence is sent
	pres.HandleRequest(func(ctx context.Context, s *session.Session, req presence.Request) presence.Decision {
		if !subscribedTo(contacts.Cache(), req.From) {
			if err := pres.Subscribe(ctx, s, req.From); err != nil {
				logger.Printf("echobot: subscribing to %s: %v", req.From, err)
			}
		}
		return presence.Approve // the Manager sends subscribed
	})
	pres.HandleBroadcast(func(_ context.Context, s *session.Session, e presence.Event) {
		if e.Resource.JID.Bare() != s.Addr().Bare() && e.Op != presence.Changed {
			logger.Printf("echobot: %s is %s", e.Resource.JID, e.Op) // online or offline
		}
	})
	mux.HandleMessageFunc(session.MessageTypes(stanza.MessageChat),
		func(ctx context.Context, s *session.Session, m *stanza.Message) {
			if m.Body == "" {
				return // a chat state or a receipt: nothing to answer
			}
			if err := s.Send(ctx, m.Reply(m.Body)); err != nil {
				logger.Printf("echobot: answering %s: %v", m.From, err)
			}
		})
	sc := *cfg.Session // the server, TLS and tracing (setup's)
	sc.Mux = mux       // serves every stream the Client dials
	cfg.Session = &sc
	cfg.Events = func(e session.Event) {
		logger.Printf("echobot: %v", e) // connected as …, disconnected: why, reconnecting in …, gave up: why
	}

	err := session.NewClient(addr, password, &cfg).Run(ctx)
	if ctx.Err() != nil {
		return nil // SIGINT or SIGTERM: Run closed the stream politely
	}
	return err // a wrong password, say: trying again would not help
}

// subscribedTo reports whether the roster shows the bot subscribed to the
// presence of contact, or asking to be.
func subscribedTo(c *roster.Cache, contact jid.JID) bool {
	it, ok := c.Item(contact)
	return ok && (it.Ask || it.Subscription == roster.SubscriptionTo || it.Subscription == roster.SubscriptionBoth)
}

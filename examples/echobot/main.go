// Command echobot is an XMPP bot that answers every chat message with
// "you said: " and the message's text. Its core, run, is the program
// README.md shows under "Using it" (a test keeps the two the same).
//
//	ECHOBOT_PASSWORD=secret go run ./examples/echobot -jid bot@example.org
//
// The password comes from the environment variable ECHOBOT_PASSWORD, never
// from the command line, where other users of the machine could read it.
// The flags:
//
//	-jid bot@example.org   the bot's account (required)
//	-server host:port      connect there instead of looking up the domain's
//	                       SRV records
//	-ca file.pem           trust the certificates in this PEM file instead of
//	                       the system's roots (a server with a self-signed
//	                       certificate); the certificate must still be valid
//	                       for the JID's domain
//	-xml                   print the XML of the stream on stderr (SASL
//	                       payloads redacted)
//
// Ctrl-C (SIGINT) or SIGTERM closes the stream politely, within 5 seconds,
// and exits 0. The command exits 1 when the login fails or the server ends
// the stream, and 2 for bad flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// passwordEnv names the environment variable that holds the password.
const passwordEnv = "ECHOBOT_PASSWORD"

// options are the command line's.
type options struct {
	jid    string
	server string
	caFile string
	trace  io.Writer // -xml: os.Stderr
}

func main() {
	var o options
	var showXML bool
	flag.StringVar(&o.jid, "jid", "", "the bot's JID, e.g. bot@example.org (required)")
	flag.StringVar(&o.server, "server", "", "host:port of the server (default: the JID domain's SRV records)")
	flag.StringVar(&o.caFile, "ca", "", "PEM file with the certificates to trust instead of the system's (self-signed servers)")
	flag.BoolVar(&showXML, "xml", false, "print the XML of the stream on stderr (SASL payloads redacted)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: %s=… echobot -jid bot@example.org [-server host:port] [-ca file.pem] [-xml]\n", passwordEnv)
		flag.PrintDefaults()
	}
	flag.Parse()
	if showXML {
		o.trace = os.Stderr
	}
	addr, password, cfg, err := setup(o, os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "echobot:", err)
		flag.Usage()
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, addr, password, cfg)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "echobot:", err)
		os.Exit(1)
	}
}

// setup turns the options and the environment into what run needs. Every
// input is checked here, with an error that names the flag or variable:
// nothing from the user reaches jid.MustParse.
func setup(o options, getenv func(string) string) (addr jid.JID, password string, cfg session.Config, err error) {
	if o.jid == "" {
		return addr, "", cfg, errors.New("-jid is required")
	}
	addr, err = jid.Parse(o.jid)
	if err != nil {
		return addr, "", cfg, fmt.Errorf("-jid: %w", err)
	}
	if addr.Localpart() == "" {
		return addr, "", cfg, fmt.Errorf("-jid %s: an account is name@domain", o.jid)
	}
	password = getenv(passwordEnv)
	if password == "" {
		return addr, "", cfg, fmt.Errorf("no password: set the environment variable %s", passwordEnv)
	}
	cfg = session.Config{Addr: o.server, Trace: o.trace}
	if o.caFile != "" {
		if cfg.TLSConfig, err = session.TrustCAFile(o.caFile); err != nil {
			return addr, "", cfg, fmt.Errorf("-ca: %w", err)
		}
	}
	return addr, password, cfg, nil
}

// run logs in as addr and answers chat messages until ctx ends (then it
// closes the stream and returns nil) or the server ends the stream.
func run(ctx context.Context, addr jid.JID, password string, cfg session.Config) error {
	mux := session.NewMux()
	mux.HandleMessageFunc(session.MessageTypes(stanza.MessageChat),
		func(ctx context.Context, s *session.Session, m *stanza.Message) {
			if m.Body == "" {
				return // a chat state or a receipt: nothing to answer
			}
			if err := s.Send(ctx, m.Reply("you said: "+m.Body)); err != nil {
				log.Printf("echobot: answering %s: %v", m.From, err)
			}
		})
	cfg.Mux = mux

	s, err := session.Dial(ctx, addr, password, &cfg)
	if err != nil {
		return err
	}
	log.Printf("echobot: online as %s", s.Addr())
	// Available presence: until it is sent, the server does not deliver
	// messages sent to the bot's bare JID (RFC 6121 §8.5.2).
	if err := s.Send(ctx, &stanza.Presence{}); err == nil {
		select {
		case <-ctx.Done(): // SIGINT or SIGTERM
		case <-s.Done(): // the server ended the stream
		}
	}
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	closeErr := s.Close(closeCtx)
	if err := s.Err(); !errors.Is(err, session.ErrClosed) {
		return err // why the server ended the stream
	}
	return closeErr
}

// Command demo tells a short story with two Parley clients, alice and bob,
// and prints what each side did and received.
//
// With no flags it starts Parley's in-memory test server (xmpptest) and
// needs nothing installed:
//
//	go run ./examples/demo
//	go run ./examples/demo -xml     # also print the XML of both streams
//
// Against a real server, give two accounts:
//
//	go run ./examples/demo -server host:5222 \
//	    -jid alice@example.org -password secret \
//	    -peer bob@example.org -peer-password secret2
//
// The server's certificate is verified against the JIDs' domain. For a
// server with a self-signed certificate, pass its certificate (or the CA
// that signed it) with -ca file.pem, or turn verification off with
// -insecure (for local test servers only).
//
// Alice and bob are session.Clients: near the end the in-memory server
// restarts under them and they log in again on their own (a real server
// is not the demo's to restart: with -server that step is skipped).
//
// The story is a list of steps; each waits for what it expects with a
// timeout. The command exits 0 when every step happened, and 1 with the
// reason when one did not.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/xmpptest"
)

// config is what the flags say.
type config struct {
	server       string // host:port of a real server; empty: xmpptest
	jid, peer    string
	password     string
	peerPassword string
	insecure     bool
	caFile       string
	xml          bool
	timeout      time.Duration // per step
}

func main() {
	var cfg config
	flag.StringVar(&cfg.server, "server", "", "host:port of a real XMPP server (default: an in-memory xmpptest server)")
	flag.StringVar(&cfg.jid, "jid", "", "alice's JID on the real server")
	flag.StringVar(&cfg.password, "password", "", "alice's password")
	flag.StringVar(&cfg.peer, "peer", "", "bob's JID on the real server")
	flag.StringVar(&cfg.peerPassword, "peer-password", "", "bob's password")
	flag.BoolVar(&cfg.insecure, "insecure", false, "do not verify the server's certificate (local test servers only)")
	flag.StringVar(&cfg.caFile, "ca", "", "PEM file with the certificate or CA to trust for the real server")
	flag.BoolVar(&cfg.xml, "xml", false, "also print the XML of both streams")
	flag.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "how long each step may take")
	flag.Parse()

	if err := run(context.Background(), cfg, os.Stdout, storySteps()); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

// run sets up the two accounts (in memory or on the real server), plays
// the steps in order and tears everything down.
func run(ctx context.Context, cfg config, out io.Writer, steps []step) error {
	if cfg.timeout <= 0 {
		cfg.timeout = 10 * time.Second
	}
	p := newPrinter(out)
	st := &story{cfg: cfg, out: p}
	if cfg.server == "" {
		srv, err := xmpptest.Start(&xmpptest.Config{Domain: "parley.example"})
		if err != nil {
			return err
		}
		defer srv.Close()
		for _, u := range embeddedAccounts {
			if _, err := srv.AddUser(u.name, u.password); err != nil {
				return err
			}
		}
		p.note("started an in-memory xmpptest server for %s", srv.Domain())
		st.reach = func(c *session.Config) {
			c.Addr, c.DialContext, c.TLSConfig = "pipe", srv.DialContext, srv.TLSConfig()
		}
		st.restart = srv.Restart
		st.alice = &actor{name: "alice", addr: jid.MustParse("alice@parley.example"), password: "alice-secret"}
		st.bob = &actor{name: "bob", addr: jid.MustParse("bob@parley.example"), password: "bob-secret"}
	} else {
		if cfg.jid == "" || cfg.peer == "" {
			return errors.New("-server needs -jid, -password, -peer and -peer-password")
		}
		a, err := jid.Parse(cfg.jid)
		if err != nil {
			return fmt.Errorf("-jid: %w", err)
		}
		b, err := jid.Parse(cfg.peer)
		if err != nil {
			return fmt.Errorf("-peer: %w", err)
		}
		tc, err := realTLS(cfg)
		if err != nil {
			return err
		}
		st.reach = func(c *session.Config) { c.Addr, c.TLSConfig = cfg.server, tc }
		st.alice = &actor{name: "alice", addr: a, password: cfg.password}
		st.bob = &actor{name: "bob", addr: b, password: cfg.peerPassword}
	}
	defer st.closeAll()
	for i, s := range steps {
		p.step(i+1, s.name)
		sctx, cancel := context.WithTimeout(ctx, cfg.timeout)
		err := s.run(sctx, st)
		cancel()
		if err != nil {
			p.note("FAILED: %v", err)
			return fmt.Errorf("step %d (%s): %w", i+1, s.name, err)
		}
	}
	p.note("all %d steps done", len(steps))
	return nil
}

// realTLS is the TLS configuration for a real server: the system's roots,
// or those of -ca; -insecure turns verification off.
func realTLS(cfg config) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.caFile != "" {
		var err error
		if tc, err = session.TrustCAFile(cfg.caFile); err != nil {
			return nil, fmt.Errorf("-ca: %w", err)
		}
	}
	tc.InsecureSkipVerify = cfg.insecure
	return tc, nil
}

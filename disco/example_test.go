package disco_test

import (
	"context"
	"fmt"
	"log"

	"github.com/parleyim/parley/disco"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/ping"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// A client answers disco#info from what it registered on its Mux, and
// announces its capabilities in presence.
func ExampleHandle() {
	mux := session.NewMux()
	r := disco.Handle(mux, disco.Identity{Category: "client", Type: "bot", Name: "Echo"})
	ping.Handle(mux)

	for _, f := range r.Info().Features {
		fmt.Println(f)
	}

	// Before sending available presence (with a session s):
	p := &stanza.Presence{}
	if err := r.Attach(p); err != nil {
		log.Fatal(err)
	}
	c, _ := disco.FindCaps(p)
	fmt.Println(c.Hash, c.Node)
	// Output:
	// http://jabber.org/protocol/caps
	// http://jabber.org/protocol/disco#info
	// urn:xmpp:ping
	// sha-1 https://github.com/parleyim/parley
}

// The simple example of XEP-0115 §5.2.
func ExampleVer() {
	info := &disco.Info{
		Identities: []disco.Identity{{Category: "client", Type: "pc", Name: "Exodus 0.9.1"}},
		Features: []string{
			"http://jabber.org/protocol/caps",
			"http://jabber.org/protocol/disco#info",
			"http://jabber.org/protocol/disco#items",
			"http://jabber.org/protocol/muc",
		},
	}
	ver, err := disco.Ver(info, "sha-1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ver)
	// Output: QgayPKawpkPSDYmwT/WM94uAlu0=
}

// Ask the server what it supports.
func ExampleGetInfo() {
	ctx := context.Background()
	s, err := session.Dial(ctx, jid.MustParse("juliet@example.com"), "password", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close(ctx)

	info, err := disco.GetInfo(ctx, s, jid.MustParse("example.com"), "")
	if err != nil {
		log.Fatal(err)
	}
	if info.HasFeature("urn:xmpp:ping") {
		fmt.Println("the server answers pings")
	}
}

// Learn what a contact's client supports from the caps in its presence,
// asking it only for versions not seen (and verified) before.
func ExampleCache_Lookup() {
	cache := disco.NewCache(0)
	mux := session.NewMux()
	mux.HandlePresenceFunc(session.PresenceRoute{}, func(ctx context.Context, s *session.Session, p *stanza.Presence) {
		c, ok := disco.FindCaps(p)
		if !ok {
			return
		}
		// A handler may call SendIQ; a slow entity delays the handlers
		// that follow, so real code may hand this to a goroutine.
		info, err := cache.Lookup(ctx, s, p.From, c)
		if err != nil {
			return // unverifiable or lying: trust nothing
		}
		fmt.Println(p.From, "supports ping:", info.HasFeature("urn:xmpp:ping"))
	})
	_ = mux // give it to session.Dial in Config.Mux
}

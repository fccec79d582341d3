package main

import (
	"context"
	"encoding/xml"
	"fmt"
	"time"

	"github.com/parleyim/parley/im"
	"github.com/parleyim/parley/ping"
	"github.com/parleyim/parley/privacy"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// The Clients' waits before logging in again. They are short so that the
// demo's restart step takes a moment: a real client keeps the defaults,
// whose first wait is random up to a minute (RFC 6120 §3.3), so that the
// clients of a restarted server do not all come back at once.
const (
	firstDelay = 20 * time.Millisecond // random wait up to this after a stream ended
	retryDelay = 50 * time.Millisecond // then this, doubling, after a failure or a short session
	maxDelay   = time.Second
)

// closeTimeout bounds the log-out of a session that a failed story left
// open.
const closeTimeout = 5 * time.Second

// login starts who's Client with a Mux that keeps the roster (fetched at
// each login, before anything else happens on the stream), presence
// (initial presence right after the roster, the last status set on each
// new stream; subscription requests from the other actor approved) and
// messages (im: conversations, receipts asked for and answered to
// contacts who see who's presence), records messages, roster pushes and
// presence events, and answers pings. It returns once the Client is
// connected.
func (st *story) login(ctx context.Context, who *actor) error {
	who.messages = make(chan *im.Message, 16)
	who.pushes = make(chan roster.Item, 16)
	who.events = make(chan seen, 64)
	who.conn = make(chan session.Event, 32)
	mux := session.NewMux()
	who.roster = roster.Handle(mux)
	// Privacy before presence: it takes the server's blocking pushes.
	who.privacy = privacy.Handle(mux)
	who.privacy.HandleBlockingPush(func(_ context.Context, _ *session.Session, b privacy.Blocking) {
		st.out.event(who.name, "blocking push: %s %v", b.Command, b.JIDs)
	})
	who.roster.HandlePush(func(_ context.Context, _ *session.Session, it roster.Item) {
		select {
		case who.pushes <- it:
		default:
		}
	})
	st.handlePresence(mux, who)
	who.im = im.Handle(mux, who.roster, &im.Options{Receipts: im.ReceiptsToSubscribers, RequestReceipts: true})
	who.im.HandleMessage(func(_ context.Context, _ *session.Session, m *im.Message) {
		st.out.recv(who.name, m)
		select {
		case who.messages <- m:
		default:
		}
	})
	mux.HandleIQFunc(stanza.IQGet, xml.Name{Space: ping.NS, Local: "ping"},
		func(_ context.Context, _ *session.Session, iq *stanza.IQ) (stanza.Payload, error) {
			st.out.event(who.name, "answers a ping from %s", iq.From)
			return nil, nil
		})
	c := &session.Config{Mux: mux, Resource: "demo"}
	if st.cfg.xml {
		c.Trace = st.out.trace(who.name)
	}
	st.reach(c)
	who.sess = session.NewClient(who.addr, who.password, &session.ClientConfig{
		Session:    c,
		FirstDelay: firstDelay,
		RetryDelay: retryDelay,
		MaxDelay:   maxDelay,
		Events:     st.connectionEvents(who),
	})
	// Run lasts until the log-out, beyond this step's timeout.
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	who.stop, who.ran = stop, make(chan error, 1)
	go func() { who.ran <- who.sess.Run(rctx) }()
	if _, err := waitConnected(ctx, who, nil); err != nil {
		return err
	}
	st.out.event(who.name, "roster fetched: %d item(s); initial presence sent", who.roster.Cache().Len())
	return nil
}

// connectionEvents prints what happens to who's connection as events of
// the story, and hands each to the steps that wait for them.
func (st *story) connectionEvents(who *actor) func(session.Event) {
	online := false // the Client calls this on one goroutine, in order
	return func(e session.Event) {
		switch {
		case e.Kind == session.Connected && e.Resumed:
			st.out.event(who.name, "back online: the stream was resumed")
		case e.Kind == session.Connected:
			was := "connected"
			if online {
				was = "back online, a new session,"
			}
			st.out.event(who.name, "%s as %s (%s)", was, e.Session.Addr(), tlsInfo(e.Session))
			online = true
		case e.Kind == session.Disconnected && e.Resuming:
			st.out.event(who.name, "connection lost, resuming the stream: %v", e.Err)
		case e.Kind == session.Disconnected && e.Session == nil:
			st.out.event(who.name, "attempt %d failed: %v", e.Attempt, e.Err)
		case e.Kind == session.Disconnected:
			st.out.event(who.name, "disconnected: %v", e.Err)
		case e.Kind == session.Reconnecting:
			st.out.event(who.name, "reconnecting in %v", e.Delay.Round(time.Millisecond))
		case e.Kind == session.GaveUp:
			st.out.event(who.name, "gave up: %v", e.Err)
		}
		select {
		case who.conn <- e:
		default: // the steps wait for few events; never block the Client
		}
	}
}

// tlsInfo names the TLS version of s's connection.
func tlsInfo(s *session.Session) string {
	if cs := s.TLS(); cs != nil {
		return tlsVersion(cs.Version)
	}
	return "no TLS"
}

// waitConnected takes who's connection events until one says a session
// other than old is up, and returns it. A Client that gives up fails it,
// and a timeout says why the last attempt failed.
func waitConnected(ctx context.Context, who *actor, old *session.Session) (session.Event, error) {
	var last error
	for {
		select {
		case e := <-who.conn:
			switch e.Kind {
			case session.Connected:
				if e.Session != old {
					return e, nil
				}
			case session.Disconnected:
				last = e.Err
			case session.GaveUp:
				return e, fmt.Errorf("%s could not log in: %w", who.name, e.Err)
			}
		case <-ctx.Done():
			if last != nil {
				return session.Event{}, fmt.Errorf("%s is not connected (last attempt: %w): %w", who.name, last, ctx.Err())
			}
			return session.Event{}, fmt.Errorf("%s is not connected: %w", who.name, ctx.Err())
		}
	}
}

// bobLogsOut closes bob's Client.
func bobLogsOut(ctx context.Context, st *story) error {
	return st.logOut(ctx, st.bob)
}

// logOut closes who's Client: the presence package sends unavailable
// presence on the current stream before it ends.
func (st *story) logOut(ctx context.Context, who *actor) error {
	if err := who.end(ctx); err != nil {
		return fmt.Errorf("%s: %w", who.name, err)
	}
	st.out.event(who.name, "logged out")
	return nil
}

// end closes who's Client within ctx and waits for its Run to return.
func (who *actor) end(ctx context.Context) error {
	err := who.sess.Close(ctx)
	who.stop() // when Close's ctx ended first
	<-who.ran
	who.sess = nil
	return err
}

// closeAll ends the Clients a failed story left running.
func (st *story) closeAll() {
	for _, who := range []*actor{st.alice, st.bob} {
		if who != nil && who.sess != nil {
			ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
			_ = who.end(ctx)
			cancel()
		}
	}
}

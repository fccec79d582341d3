package xmpptest

import (
	"errors"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

// readStanzas serves the established stream.
func (c *conn) readStanzas() error {
	for {
		start, err := c.next()
		if err != nil {
			return err
		}
		if start.Name.Space == ns.SM && !c.srv.cfg.NoStreamManagement {
			raw, err := stanza.ReadRaw(c.rd, start)
			if err != nil {
				return asStreamError(err)
			}
			if err := c.smElement(raw); err != nil {
				return err
			}
			continue
		}
		if start.Name.Space != ns.Client {
			if err := skip(c.rd, start); err != nil {
				return err
			}
			return &stanza.StreamError{Condition: stanza.StreamUnsupportedStanzaType, Text: "unexpected <" + start.Name.Local + "/>"}
		}
		st, err := stanza.Decoder{}.Decode(c.rd, start)
		cut := c.readCut()
		if cut == CutBeforeHandle {
			c.wmu.Lock()
			c.dropLocked()
			c.wmu.Unlock()
			return errCut
		}
		c.countIn()
		if err != nil {
			var ierr *stanza.InvalidError
			if errors.As(err, &ierr) {
				if ierr.Answerable() {
					if err := c.writeStanza(invalidReply(c, ierr)); err != nil {
						return err
					}
				}
				continue
			}
			return asStreamError(err)
		}
		if err := c.handle(st); err != nil {
			return err
		}
		if cut == CutAfterHandle {
			c.wmu.Lock()
			c.dropLocked()
			c.wmu.Unlock()
			return errCut
		}
	}
}

// countIn counts a stanza read from the client (XEP-0198 §4: h).
func (c *conn) countIn() {
	c.wmu.Lock()
	if c.sm.enabled {
		c.sm.in++
	}
	c.wmu.Unlock()
}

// invalidReply is the error answering a stanza that broke a rule.
func invalidReply(c *conn, e *stanza.InvalidError) stanza.Stanza {
	h := stanza.Header{ID: e.ID, From: e.To, To: c.addr}
	switch e.Kind {
	case "message":
		return &stanza.Message{Header: h, Type: stanza.MessageError, Error: e.Reply}
	case "presence":
		return &stanza.Presence{Header: h, Type: stanza.PresenceError, Error: e.Reply}
	default:
		return &stanza.IQ{Header: h, Type: stanza.IQError, Error: e.Reply}
	}
}

// handle stamps, checks and routes one stanza from the client.
func (c *conn) handle(st stanza.Stanza) error {
	h := st.StanzaHeader()
	if !h.From.IsZero() && h.From != c.addr && h.From != c.addr.Bare() {
		return &stanza.StreamError{Condition: stanza.StreamInvalidFrom, Text: "'from' is not the sender's address"}
	}
	h.From = c.addr
	if c.srv.cfg.RequireSession && !c.session && !isSessionIQ(st) {
		c.bounce(st, stanza.NewError(stanza.NotAuthorized, "establish the session first (RFC 3921 §3)"))
		c.flushReplies()
		return nil
	}
	var delivered []jid.JID
	switch v := st.(type) {
	case *stanza.Message:
		delivered = c.srv.routeMessage(c, v)
	case *stanza.Presence:
		delivered = c.srv.routePresence(c, v)
	case *stanza.IQ:
		delivered = c.srv.routeIQ(c, v)
	}
	c.srv.notify(Routed{Stanza: st, Delivered: delivered})
	c.flushReplies()
	return nil
}

// reply queues a stanza from the server to the sender: it is written once
// the watchers have seen the stanza being handled, so that a client that
// has its answer knows Watch has been called.
func (c *conn) reply(st stanza.Stanza) { c.replies = append(c.replies, st) }

// flushReplies writes the queued replies, then the roster pushes and
// presence held back behind them.
func (c *conn) flushReplies() {
	for i, st := range c.replies {
		_ = c.writeStanza(st)
		c.replies[i] = nil
	}
	c.replies = c.replies[:0]
	c.writeQueue(true)
}

func isSessionIQ(st stanza.Stanza) bool {
	iq, ok := st.(*stanza.IQ)
	if !ok || iq.Type != stanza.IQSet {
		return false
	}
	raw, ok := iq.Raw()
	return ok && raw.Name().Space == ns.Session && raw.Name().Local == "session"
}

// answerable reports whether st may be answered with an error (RFC 6120
// §8.3.1: never an error, never an iq result).
func answerable(st stanza.Stanza) bool {
	switch v := st.(type) {
	case *stanza.Message:
		return v.Type != stanza.MessageError
	case *stanza.Presence:
		return v.Type != stanza.PresenceError
	case *stanza.IQ:
		return v.Type == stanza.IQGet || v.Type == stanza.IQSet
	}
	return false
}

// bounce answers st with e, from the address st was sent to. Stanzas that
// must not be answered are dropped.
func (c *conn) bounce(st stanza.Stanza, e *stanza.Error) {
	if !answerable(st) {
		return
	}
	h := st.StanzaHeader()
	rh := stanza.Header{ID: h.ID, From: h.To, To: c.addr, Lang: h.Lang}
	var reply stanza.Stanza
	switch st.(type) {
	case *stanza.Message:
		reply = &stanza.Message{Header: rh, Type: stanza.MessageError, Error: e}
	case *stanza.Presence:
		reply = &stanza.Presence{Header: rh, Type: stanza.PresenceError, Error: e}
	default:
		reply = &stanza.IQ{Header: rh, Type: stanza.IQError, Error: e}
	}
	c.reply(reply)
}

func (c *conn) bounceCond(st stanza.Stanza, cond stanza.Condition) {
	c.bounce(st, stanza.NewError(cond, ""))
}

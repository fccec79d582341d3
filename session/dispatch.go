package session

import (
	"encoding/xml"
	"errors"
	"runtime/debug"

	"github.com/parleyim/parley/stanza"
)

// dispatch is the dispatcher goroutine: it runs the handlers for queued
// stanzas, one stanza at a time in arrival order, until the queue is
// empty; then it exits (queue.go).
func (s *Session) dispatch() {
	var hs handlerScratch
	for {
		it, ok := s.queue.pop()
		if !ok {
			return
		}
		if it.st == nil {
			if it.resumed { // queueResumed's item
				for _, h := range s.mux.startHooks() {
					s.safely(func() { h(s.ctx, s, true) })
				}
				continue
			}
			s.runEndHooks() // queueEnd's item, the last
			continue
		}
		s.handle(it.st, &hs)
	}
}

// handlerScratch holds the handler lists of one dispatcher from one
// stanza to the next.
type handlerScratch struct {
	msg  []MessageHandler
	pres []PresenceHandler
}

// handle runs the handlers of one stanza: the dispatcher's, or the
// reader's (readInline).
func (s *Session) handle(st stanza.Stanza, hs *handlerScratch) {
	switch st := st.(type) {
	case *stanza.IQ:
		s.handleIQ(st)
	case *stanza.Message:
		hs.msg = s.mux.messageHandlers(hs.msg[:0], st)
		for _, h := range hs.msg {
			s.safely(func() { h.HandleMessage(s.ctx, s, st) })
		}
	case *stanza.Presence:
		hs.pres = s.mux.presenceHandlers(hs.pres[:0], st)
		for _, h := range hs.pres {
			s.safely(func() { h.HandlePresence(s.ctx, s, st) })
		}
	}
}

// safely runs a handler, logging a panic instead of crashing the program
// (as net/http does), and reports whether it returned normally.
func (s *Session) safely(f func()) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("handler panicked", "panic", r, "stack", string(debug.Stack()))
			ok = false
		}
	}()
	f()
	return true
}

// handleIQ answers an iq get or set through exactly one handler.
func (s *Session) handleIQ(iq *stanza.IQ) {
	var name xml.Name
	if raw, ok := iq.Payload.(*stanza.Raw); ok {
		name = raw.Name()
	}
	var reply *stanza.IQ
	if h := s.mux.iqHandler(iq.Type, name); h == nil {
		reply = iq.ErrorReply(stanza.NewError(stanza.ServiceUnavailable, ""))
	} else {
		var p stanza.Payload
		var err error
		if !s.safely(func() { p, err = h.HandleIQ(s.ctx, s, iq) }) {
			err = stanza.InternalServerError
		}
		if err != nil {
			reply = iq.ErrorReply(s.toStanzaError(err))
		} else {
			reply = iq.Result(p)
		}
	}
	err := s.Send(s.ctx, reply)
	if errors.Is(err, ErrStanzaTooLarge) && reply.Type == stanza.IQResult {
		// The iq must still be answered (RFC 6120 §8.2.3).
		s.log.Warn("iq result too large for the server", "id", iq.ID, "err", err)
		err = s.Send(s.ctx, iq.ErrorReply(stanza.NewError(stanza.InternalServerError, "result too large for the server")))
	}
	if err != nil && !errors.Is(err, ErrClosed) {
		s.log.Warn("could not answer iq", "id", iq.ID, "err", err)
	}
}

// toStanzaError turns a handler's error into what is sent.
func (s *Session) toStanzaError(err error) *stanza.Error {
	var se *stanza.Error
	if errors.As(err, &se) {
		return se
	}
	var c stanza.Condition
	if errors.As(err, &c) {
		return stanza.NewError(c, "")
	}
	s.log.Warn("iq handler failed", "err", err)
	return stanza.NewError(stanza.InternalServerError, "")
}

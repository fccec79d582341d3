package session

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/wire"
	"github.com/parleyim/parley/stanza"
)

// readElements reads and handles top-level elements: replies go to the
// requests awaiting them (pending.go), other stanzas to the dispatch
// queue (queue.go), a stream error or the server's close end the stream.
// Where the transport can be polled, it returns readIdle when no input
// came for a while between two elements, for the reader to hand over
// (idle.go). It returns readLost with the error when the connection
// broke under a session that can resume it (resume.go), and readEnded
// when the stream has ended.
func (s *Session) readElements() (readResult, error) {
	tr := s.conn()
	if s.allowFn == nil {
		s.allowFn = s.allowLarge
	}
	s.rd.SetAllow(s.allowFn)
	for {
		if tr.Pollable() && s.rd.Idle(tr.ReadSoon) {
			return readIdle, nil
		}
		// The attributes are read by the decoders, from the element
		// whole (wire.Reader.XMLTree).
		name, err := s.rd.NextName()
		if err != nil {
			return s.readFailed(err)
		}
		start := xml.StartElement{Name: name}
		at := s.touch()
		switch start.Name {
		case iqName,
			xml.Name{Space: ns.Client, Local: "message"},
			xml.Name{Space: ns.Client, Local: "presence"}:
		case xml.Name{Space: ns.Stream, Local: "error"}:
			se, err := stanza.DecodeStreamError(s.rd, s.rd.Start())
			if err != nil {
				return s.readFailed(err)
			}
			s.closeStream()
			s.end(fmt.Errorf("session: server ended the stream: %w", se))
			s.hangUp()
			return readEnded, nil
		case smElement("r"), smElement("a"):
			if !s.readSM(s.rd.Start()) {
				return readEnded, nil
			}
			continue
		default:
			cond := stanza.StreamUnsupportedStanzaType
			if start.Name.Space != ns.Client {
				cond = stanza.StreamInvalidNamespace
			}
			se := &stanza.StreamError{Condition: cond,
				Text: fmt.Sprintf("unexpected top-level element <%s xmlns='%s'>", start.Name.Local, start.Name.Space)}
			s.fail(se, errBadXML(se))
			s.linger()
			return readEnded, nil
		}
		st, err := stanza.Decoder{Lang: s.lang}.Decode(s.rd, start)
		if err != nil {
			var inv *stanza.InvalidError
			if errors.As(err, &inv) {
				s.received.Add(1)
				s.answerInvalid(inv)
				continue
			}
			return s.readFailed(err)
		}
		// The one place where incoming stanzas are counted.
		s.received.Add(1)
		if iq, ok := st.(*stanza.IQ); ok && (iq.Type == stanza.IQResult || iq.Type == stanza.IQError) {
			s.deliverReply(iq)
			continue
		}
		if s.queue.claimInline() {
			if !s.readInline(st, at) {
				return readHandedOff, nil
			}
			continue
		}
		if !s.enqueue(st, s.rd.LastSize()) {
			return readEnded, nil
		}
	}
}

// readResult is how readElements stopped.
type readResult int

const (
	readEnded     readResult = iota // the stream has ended
	readIdle                        // the stream was silent for a while: hand over
	readLost                        // the connection broke: resume
	readHandedOff                   // another goroutine reads now (readOn)
)

// readFailed is what the reader does when reading failed with err: a
// broken connection under a session that can resume is readLost;
// anything else ends the stream (readError).
func (s *Session) readFailed(err error) (readResult, error) {
	var se *stanza.StreamError
	if !errors.As(err, &se) && !errors.Is(err, wire.ErrStreamClosed) && s.canResume() {
		return readLost, err
	}
	s.readError(err)
	return readEnded, nil
}

// iqName is the name of a top-level iq.
var iqName = xml.Name{Space: ns.Client, Local: "iq"}

// readError ends the session after the reader failed with err (see
// close.go for the words).
func (s *Session) readError(err error) {
	var se *stanza.StreamError
	switch {
	case errors.As(err, &se):
		s.fail(se, errBadXML(se))
		s.linger()
	case errors.Is(err, wire.ErrStreamClosed):
		if s.closeSent.Load() {
			// The server answered our close: it read, and so handled,
			// everything sent before it.
			s.sm.ackAll()
		}
		s.closeStream()
		s.end(s.endedBy(errors.New("session: server closed the stream")))
		s.hangUp()
	default:
		s.end(s.endedBy(fmt.Errorf("session: reading: %w", err)))
		s.hangUp()
	}
}

// answerInvalid answers a stanza the decoder refused (RFC 6120 §8.3) where
// it can be answered, and drops it otherwise; the stream goes on.
func (s *Session) answerInvalid(inv *stanza.InvalidError) {
	if !inv.Answerable() {
		s.log.Warn("dropped an invalid stanza", "err", inv)
		return
	}
	h := stanza.Header{ID: inv.ID, To: inv.From}
	var reply stanza.Stanza
	switch inv.Kind {
	case "iq":
		reply = &stanza.IQ{Header: h, Type: stanza.IQError, Error: inv.Reply}
	case "message":
		reply = &stanza.Message{Header: h, Type: stanza.MessageError, Error: inv.Reply}
	default:
		reply = &stanza.Presence{Header: h, Type: stanza.PresenceError, Error: inv.Reply}
	}
	s.log.Info("answered an invalid stanza", "err", inv)
	s.goBackground(func() {
		ctx, cancel := context.WithTimeout(s.ctx, s.cfg.keepAliveTimeout())
		defer cancel()
		_ = s.Send(ctx, reply)
	})
}

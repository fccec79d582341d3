package session

import (
	"encoding/xml"
	"errors"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/stanza"
)

// Stanzas before the session starts: once the resource is bound the
// server may route stanzas to it at once, before it answers what
// negotiation still waits for (the session iq, <enable/>). The
// negotiator keeps them, bounded by Config.QueueBytes, and the session
// hands them on as the reader would have, before its reader starts: iq
// requests and the rest to the queue (after the start hooks, like any
// stanza), invalid ones answered. Those that arrived after <enable/>
// count towards stream management's h: XEP-0198 §4 starts the client's
// count when it sends <enable/>.

// earlyStanza is one stanza read during negotiation.
type earlyStanza struct {
	st      stanza.Stanza
	inv     *stanza.InvalidError // st is nil: answer this
	size    int
	counted bool // arrived after <enable/>
}

// errNotStanza says that an element is not a stanza (keepEarly).
var errNotStanza = errors.New("not a stanza")

// keepEarly reads a message or presence whose start tag is start and
// keeps it for the session; it returns errNotStanza, reading nothing,
// for any other element (iqs are roundTrip's), and before a resource is
// bound.
func (n *negotiator) keepEarly(start xml.StartElement) error {
	if !n.bound {
		return errNotStanza // nothing can be routed to the stream yet
	}
	switch start.Name {
	case xml.Name{Space: ns.Client, Local: "message"}, xml.Name{Space: ns.Client, Local: "presence"}:
	default:
		return errNotStanza
	}
	st, err := stanza.Decoder{Lang: n.streamLang}.Decode(n.rd, start)
	if err != nil {
		var inv *stanza.InvalidError
		if !errors.As(err, &inv) {
			return n.readError(err)
		}
		return n.addEarly(earlyStanza{inv: inv, size: n.rd.LastSize()})
	}
	return n.addEarly(earlyStanza{st: st, size: n.rd.LastSize()})
}

// addEarly keeps e, failing the stream when what is kept exceeds the
// queue's bound.
func (n *negotiator) addEarly(e earlyStanza) error {
	n.earlyBytes += e.size
	if n.earlyBytes > n.cfg.queueBytes() {
		return n.fail(&stanza.StreamError{Condition: stanza.StreamResourceConstraint, Text: "too many stanzas before negotiation ended"},
			errors.New("session: the server sent more stanzas during negotiation than the queue holds"))
	}
	e.counted = n.smAsked
	n.early = append(n.early, e)
	return nil
}

// deliverEarly hands on what the negotiator kept (see above); the
// reader has not started.
func (s *Session) deliverEarly() {
	early := s.early
	s.early = nil
	for _, e := range early {
		if e.counted {
			s.received.Add(1)
		}
		switch st := e.st.(type) {
		case nil:
			s.answerInvalid(e.inv)
		case *stanza.IQ:
			if st.Type == stanza.IQResult || st.Type == stanza.IQError {
				s.log.Info("dropped a reply that arrived during negotiation", "id", st.ID)
				continue
			}
			if !s.enqueue(st, e.size) {
				return
			}
		default:
			if !s.enqueue(st, e.size) {
				return
			}
		}
	}
}

package session

import (
	"context"
	"encoding/xml"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

// pendingTable holds the requests (SendIQ calls) that await their
// replies, by id. The reader matches each iq result or error against it
// itself, so replies never wait behind handlers:
//
//   - a reply is delivered only to the request with its id, and only if
//     it comes from where the request went (isReplySender); anything
//     else is dropped;
//   - ids are unguessable (stanza.NewID), and a caller's own id may not be in
//     use twice;
//   - the table is bounded (Config.MaxPending);
//   - its size is readable without the lock (waiting), because the
//     dispatch queue asks it on every full-queue check: while a request
//     waits, the reader must read on to find its reply (queue.go);
//   - a request may allow its reply more bytes than the stream's element
//     limit (WithReplyLimit). The reader grants that to one element at
//     most: the first iq result or error whose start tag carries the
//     request's id and a sender that may answer it (grant). So that
//     nothing else pays for the check, the reader asks (allowLarge) only
//     for an element that has grown past the limit, and the requests
//     holding such an allowance are counted (large): with none, it is
//     refused at once.
type pendingTable struct {
	mu    sync.Mutex
	m     map[string]*pendingIQ
	n     atomic.Int32 // len(m)
	large atomic.Int32 // requests in m whose limit no element has used yet
}

// pendingIQ is one request awaiting its reply.
type pendingIQ struct {
	to jid.JID
	ch chan *stanza.IQ // buffered: delivering never blocks the reader
	// limit is the size its reply may have, in bytes, when the request
	// allowed more than the stream's limit; zero otherwise, and once an
	// element has been granted it.
	limit int
}

// add registers a request with the given id, sent to 'to', whose reply
// may be limit bytes long (zero: the stream's limit), unless the id is
// already waiting or max requests are.
func (t *pendingTable) add(id string, to jid.JID, max, limit int) (*pendingIQ, error) {
	p := &pendingIQ{to: to, ch: make(chan *stanza.IQ, 1), limit: limit}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, dup := t.m[id]; dup {
		return nil, fmt.Errorf("session: an iq with id %q is already awaiting its reply", id)
	}
	if len(t.m) >= max {
		return nil, fmt.Errorf("session: %d requests already await replies", len(t.m))
	}
	t.m[id] = p
	t.n.Add(1)
	if limit > 0 {
		t.large.Add(1)
	}
	return p, nil
}

// grant returns the size limit for an element that may be the reply
// with the given id from 'from' (account is the session's full JID), and
// takes it from the request, so that no other element gets it: zero when
// no request with that id allowed a larger reply, its allowance is used,
// or 'from' may not answer it.
func (t *pendingTable) grant(id string, from, account jid.JID) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	p, ok := t.m[id]
	if !ok || p.limit == 0 || !isReplySender(p.to, from, account) {
		return 0
	}
	n := p.limit
	t.unlimit(p)
	return n
}

// unlimit drops p's allowance, if it still has one. t.mu is held.
func (t *pendingTable) unlimit(p *pendingIQ) {
	if p.limit > 0 {
		p.limit = 0
		t.large.Add(-1)
	}
}

// deliver hands reply to the request with its id, if the reply comes from
// an address that may answer it (account is the session's full JID). It
// reports whether it was delivered.
func (t *pendingTable) deliver(reply *stanza.IQ, account jid.JID) bool {
	t.mu.Lock()
	p, ok := t.m[reply.ID]
	if !ok || !isReplySender(p.to, reply.From, account) {
		t.mu.Unlock()
		return false
	}
	delete(t.m, reply.ID)
	t.n.Add(-1)
	t.unlimit(p)
	t.mu.Unlock()
	p.ch <- reply
	return true
}

// forget removes a request that no longer waits (its reply came, its ctx
// ended, or the session did).
func (t *pendingTable) forget(id string, p *pendingIQ) {
	t.mu.Lock()
	if t.m[id] == p {
		delete(t.m, id)
		t.n.Add(-1)
		t.unlimit(p)
	}
	t.mu.Unlock()
}

// waiting reports whether some request awaits its reply.
func (t *pendingTable) waiting() bool { return t.n.Load() > 0 }

// isReplySender reports whether a reply from 'from' may answer a request
// sent to 'to' by the session bound to account: the same address, or,
// for a request to the account itself (no 'to', or the bare JID), no
// 'from', the bare JID or the session's full JID (RFC 6120 §8.1.2.1: the
// server answers on the account's behalf). It is the rule for replies
// only: a push is trusted by the narrower TrustedPush.
func isReplySender(to, from, account jid.JID) bool {
	if from == to {
		return true
	}
	bare := account.Bare()
	if to.IsZero() || to == bare {
		return from.IsZero() || from == bare || from == account
	}
	return false
}

// allowLarge is the reader's answer for a top-level element that has grown
// past the stream's limit (wire.Reader.SetAllow): the size it may have
// when it is the reply a request allowed more bytes (WithReplyLimit), an
// iq result or error with the request's id from an address that may
// answer it, as deliver will check; else 0. The attributes are read as
// the stanza decoder reads them (the last of a name counts), so that the
// element it grants to is the one deliver matches; a 'from' that does
// not parse gets nothing.
func (s *Session) allowLarge(start xml.StartElement) int {
	if s.pending.large.Load() == 0 || start.Name != iqName {
		return 0
	}
	var typ, id, from string
	hasFrom := false
	for _, a := range start.Attr {
		if a.Name.Space != "" {
			continue
		}
		switch a.Name.Local {
		case "type":
			typ = a.Value
		case "id":
			id = a.Value
		case "from":
			from, hasFrom = a.Value, true
		}
	}
	if typ != string(stanza.IQResult) && typ != string(stanza.IQError) {
		return 0
	}
	var sender jid.JID
	if hasFrom {
		j, err := jid.Parse(from)
		if err != nil {
			return 0
		}
		sender = j
	}
	return s.pending.grant(id, sender, s.addr)
}

// replyLimitKey is the context key of WithReplyLimit.
type replyLimitKey struct{}

// WithReplyLimit returns a context under which SendIQ accepts a reply of
// up to maxBytes bytes of input, where every other incoming element is
// bounded by Config.MaxStanzaBytes. It is for requests whose answer is
// known to be one large element, such as a roster of many thousands of
// contacts. A maxBytes at or below the session's limit changes nothing.
//
// The larger limit goes to one element only: the first iq result or
// error that carries the request's id and comes from an address that may
// answer it (the rule SendIQ applies to replies). An element with that id
// from anyone else, any message, presence or iq get or set, and any
// element after the reply keep the session's limit, and one over it ends
// the stream with policy-violation as always. Allowing a large reply
// thus trusts the address the request goes to: use it for requests to
// the account or its server, or to an entity trusted with that much of
// the client's memory (the reply is held whole, as every stanza is).
//
// It is a context value so that it passes through Sender unchanged: the
// feature packages set it on the ctx they give to SendIQ.
func WithReplyLimit(ctx context.Context, maxBytes int) context.Context {
	return context.WithValue(ctx, replyLimitKey{}, maxBytes)
}

// replyLimit returns the reply limit ctx carries when it is above the
// session's element limit, and zero otherwise.
func (s *Session) replyLimit(ctx context.Context) int {
	if n, ok := ctx.Value(replyLimitKey{}).(int); ok && n > s.cfg.maxStanzaBytes() {
		return n
	}
	return 0
}

// deliverReply hands an iq result or error that the reader read to the
// SendIQ waiting for it; anything else is dropped.
func (s *Session) deliverReply(iq *stanza.IQ) {
	if !s.pending.deliver(iq, s.addr) {
		s.log.Debug("dropped an iq reply that matches no request", "id", iq.ID, "from", iq.From.String())
	}
}

// SendIQ sends an iq get or set and waits for its reply. It returns the
// result, or for an iq error the reply together with its *stanza.Error
// (so errors.Is(err, stanza.ItemNotFound) works). An empty ID is replaced
// by an unguessable one (the caller's iq is not modified). Only a reply
// from the address the request went to is accepted (for a request to the
// account itself, also one from the account or its server: RFC 6120
// §8.1.2.1). The reply is bounded by Config.MaxStanzaBytes unless ctx
// allows more (WithReplyLimit). SendIQ may be called from a handler. When
// ctx ends the request is forgotten and a late reply is dropped.
func (s *Session) SendIQ(ctx context.Context, iq *stanza.IQ) (*stanza.IQ, error) {
	if iq.Type != stanza.IQGet && iq.Type != stanza.IQSet {
		return nil, fmt.Errorf("session: SendIQ with type %q, want get or set", iq.Type)
	}
	req := *iq
	if req.ID == "" {
		req.ID = stanza.NewID()
	}
	p, err := s.pending.add(req.ID, req.To, s.cfg.maxPending(), s.replyLimit(ctx))
	if err != nil {
		return nil, err
	}
	// A reader held back by a full queue, or running a handler, must
	// read on to find the reply.
	s.queue.wake()
	s.readOn()
	defer s.pending.forget(req.ID, p)

	if err := s.Send(ctx, &req); err != nil {
		return nil, err
	}
	select {
	case reply := <-p.ch:
		return replyResult(reply)
	case <-ctx.Done():
		return nil, fmt.Errorf("session: waiting for the reply to iq %s: %w", req.ID, context.Cause(ctx))
	case <-s.done:
		// A reply read before the end counts (a server may answer and
		// then close the stream, as after removing an account); select
		// alone would pick either at random.
		select {
		case reply := <-p.ch:
			return replyResult(reply)
		default:
		}
		return nil, s.closedErr()
	}
}

// replyResult is what SendIQ returns for reply.
func replyResult(reply *stanza.IQ) (*stanza.IQ, error) {
	if reply.Type == stanza.IQError {
		if reply.Error == nil {
			reply.Error = stanza.NewError(stanza.UndefinedCondition, "")
		}
		return reply, reply.Error
	}
	return reply, nil
}

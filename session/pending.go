package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
//   - ids are unguessable (newID), and a caller's own id may not be in
//     use twice;
//   - the table is bounded (Config.MaxPending);
//   - its size is readable without the lock (waiting), because the
//     dispatch queue asks it on every full-queue check: while a request
//     waits, the reader must read on to find its reply (queue.go).
type pendingTable struct {
	mu sync.Mutex
	m  map[string]*pendingIQ
	n  atomic.Int32 // len(m)
}

// pendingIQ is one request awaiting its reply.
type pendingIQ struct {
	to jid.JID
	ch chan *stanza.IQ // buffered: delivering never blocks the reader
}

// add registers a request with the given id, sent to 'to', unless the id
// is already waiting or max requests are.
func (t *pendingTable) add(id string, to jid.JID, max int) (*pendingIQ, error) {
	p := &pendingIQ{to: to, ch: make(chan *stanza.IQ, 1)}
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
	return p, nil
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
// §8.1.2.1). SendIQ may be called from a handler. When ctx ends the
// request is forgotten and a late reply is dropped.
func (s *Session) SendIQ(ctx context.Context, iq *stanza.IQ) (*stanza.IQ, error) {
	if iq.Type != stanza.IQGet && iq.Type != stanza.IQSet {
		return nil, fmt.Errorf("session: SendIQ with type %q, want get or set", iq.Type)
	}
	req := *iq
	if req.ID == "" {
		req.ID = newID()
	}
	p, err := s.pending.add(req.ID, req.To, s.cfg.maxPending())
	if err != nil {
		return nil, err
	}
	// A reader held back by a full queue must read on to find the reply.
	s.queue.wake()
	defer s.pending.forget(req.ID, p)

	if err := s.Send(ctx, &req); err != nil {
		return nil, err
	}
	select {
	case reply := <-p.ch:
		if reply.Type == stanza.IQError {
			if reply.Error == nil {
				reply.Error = stanza.NewError(stanza.UndefinedCondition, "")
			}
			return reply, reply.Error
		}
		return reply, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("session: waiting for the reply to iq %s: %w", req.ID, context.Cause(ctx))
	case <-s.done:
		return nil, s.closedErr()
	}
}

// newID returns an unguessable stanza id (RFC 6120 §8.1.3): 96 random
// bits, so that nobody who has not seen the request can forge its reply.
func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

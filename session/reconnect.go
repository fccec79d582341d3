package session

import (
	"context"
	"errors"
	"math/rand/v2"

	"time"

	"github.com/parleyim/parley/stanza"
)

// final reports whether err, why a stream ended or an attempt failed,
// stops the Client (see the flow in client.go): what another attempt
// would repeat — a refused login or certificate, the TLS policy, and the
// stream errors host-unknown, host-gone, not-authorized and
// unsupported-version (retryable's list) — and conflict unless
// ClientConfig.ReconnectOnConflict. policy-violation, final for a
// resumption, passes here: the server may have limited a burst, and
// the waits keep a client it refuses from hammering it.
func (c *Client) final(err error) bool {
	switch {
	case errors.Is(err, stanza.StreamConflict):
		return !c.cfg.ReconnectOnConflict
	case errors.Is(err, stanza.StreamPolicyViolation):
		return false
	}
	return !retryable(err)
}

// delay is the wait before the next attempt after failures attempts (or
// short sessions) since the last stable session: random up to
// FirstDelay for none, then RetryDelay doubling up to MaxDelay, drawn
// between half and all of it.
func (c *Client) delay(failures int) time.Duration {
	if failures == 0 {
		first := c.cfg.firstDelay()
		if first <= 0 {
			return 0
		}
		return rand.N(first + 1)
	}
	d, limit := c.cfg.retryDelay(), c.cfg.maxDelay()
	for i := 1; i < failures && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return d/2 + rand.N(d/2+1)
}

// unsentStanzas returns what an ended session never had acknowledged and
// the Client sends again on the next one: messages and subscription
// requests and answers. Presence broadcasts are the presence package's
// to restore (its start hook), and iq requests were answered with the
// error by SendIQ already.
func unsentStanzas(err error) []stanza.Stanza {
	var ue *UnackedError
	if !errors.As(err, &ue) {
		return nil
	}
	var out []stanza.Stanza
	for _, st := range ue.Stanzas {
		switch st := st.(type) {
		case *stanza.Message:
			out = append(out, st)
		case *stanza.Presence:
			switch st.Type {
			case stanza.PresenceSubscribe, stanza.PresenceSubscribed, stanza.PresenceUnsubscribe, stanza.PresenceUnsubscribed:
				out = append(out, st)
			}
		}
	}
	return out
}

// sendAgain sends sts on s, in order, once; it returns what could not be
// sent because s ended (or Run's ctx did) meanwhile, for the next
// session.
func (c *Client) sendAgain(ctx context.Context, s *Session, sts []stanza.Stanza) []stanza.Stanza {
	for i, st := range sts {
		if err := s.Send(ctx, st); err != nil {
			if errors.Is(err, ErrClosed) || ctx.Err() != nil {
				return sts[i:] // not written: the next session's, if any
			}
			s.log.Warn("stanza not sent again after reconnecting", "err", err)
		}
	}
	return nil
}

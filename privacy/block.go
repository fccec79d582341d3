package privacy

import (
	"context"
	"fmt"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// Blocklist asks the server for the JIDs the account blocks (XEP-0191
// §3.2). A server without blocking answers service-unavailable or
// feature-not-implemented (errors.Is works on the error); a result that is
// not a blocklist is an error wrapping ErrMalformed.
func Blocklist(ctx context.Context, s session.Sender) ([]jid.JID, error) {
	reply, err := s.SendIQ(ctx, &stanza.IQ{Type: stanza.IQGet, Payload: &Blocking{Command: CommandBlocklist}})
	if err != nil {
		return nil, fmt.Errorf("privacy: get blocklist: %w", err)
	}
	raw, _ := reply.Raw()
	b, err := ParseBlocking(raw)
	if err == nil && b.Command != CommandBlocklist {
		err = malformed("got <%s/>, want <blocklist/>", b.Command)
	}
	if err != nil {
		return nil, fmt.Errorf("privacy: get blocklist: %w", err)
	}
	return b.JIDs, nil
}

// Block blocks the JIDs jids (XEP-0191 §3.3): the server stops all
// communication between the account and each of them, and pushes the
// block to the account's resources (HandleBlockingPush). At least one
// JID, none of them zero, is required: the error wraps ErrInvalid and
// nothing is sent.
func Block(ctx context.Context, s session.Sender, jids ...jid.JID) error {
	return blockCommand(ctx, s, CommandBlock, jids)
}

// Unblock unblocks the JIDs jids (XEP-0191 §3.4). At least one JID is
// required, so that a mistaken empty call cannot unblock everything (that
// is UnblockAll).
func Unblock(ctx context.Context, s session.Sender, jids ...jid.JID) error {
	return blockCommand(ctx, s, CommandUnblock, jids)
}

// UnblockAll unblocks every JID the account blocks (XEP-0191 §3.5).
func UnblockAll(ctx context.Context, s session.Sender) error {
	if _, err := s.SendIQ(ctx, &stanza.IQ{Type: stanza.IQSet, Payload: &Blocking{Command: CommandUnblock}}); err != nil {
		return fmt.Errorf("privacy: unblock all: %w", err)
	}
	return nil
}

func blockCommand(ctx context.Context, s session.Sender, c Command, jids []jid.JID) error {
	if len(jids) == 0 {
		return invalid("%s without a JID", c)
	}
	for _, j := range jids {
		if j.IsZero() {
			return invalid("%s of the zero JID", c)
		}
	}
	if _, err := s.SendIQ(ctx, &stanza.IQ{Type: stanza.IQSet, Payload: &Blocking{Command: c, JIDs: jids}}); err != nil {
		return fmt.Errorf("privacy: %s %v: %w", c, jids, err)
	}
	return nil
}

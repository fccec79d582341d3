package privacy

import (
	"encoding/xml"
	"fmt"
	"strings"

	"mellium.im/xmlstream"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/xmlenc"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

// NSBlocking is the namespace of XEP-0191: Blocking Command,
// urn:xmpp:blocking. A server that supports blocking lists it among its
// disco#info features.
const NSBlocking = ns.Blocking

var (
	blocklistName = xml.Name{Space: NSBlocking, Local: "blocklist"}
	blockName     = xml.Name{Space: NSBlocking, Local: "block"}
	unblockName   = xml.Name{Space: NSBlocking, Local: "unblock"}
	blockItemName = xml.Name{Space: NSBlocking, Local: "item"}
)

// Command is the element of a Blocking payload.
type Command uint8

// Blocking commands (XEP-0191 §3).
const (
	// CommandBlocklist is <blocklist/>: the get for the blocklist and its
	// result.
	CommandBlocklist Command = iota
	// CommandBlock is <block/>: a set that blocks JIDs and the push that
	// reports it.
	CommandBlock
	// CommandUnblock is <unblock/>: a set that unblocks JIDs (all of them
	// when it names none) and the push that reports it.
	CommandUnblock
)

var commandNames = [...]xml.Name{blocklistName, blockName, unblockName}

// String returns the element's name: "blocklist", "block" or "unblock".
func (c Command) String() string {
	if int(c) < len(commandNames) {
		return commandNames[c].Local
	}
	return "invalid"
}

// Blocking is a payload of XEP-0191 (urn:xmpp:blocking): a <blocklist/>,
// <block/> or <unblock/> element with its items, the JIDs it names (any
// JID: full, bare or domain). An <unblock/> without items unblocks every
// JID.
//
// Blocking implements stanza.Payload. It is a plain value: not safe to
// mutate from several goroutines at once.
type Blocking struct {
	Command Command
	JIDs    []jid.JID
}

// WriteXML writes b as its element. A Command out of range or a zero JID
// is an error, and nothing further is written.
func (b *Blocking) WriteXML(w xmlstream.TokenWriter) (int, error) {
	tw := xmlenc.Tokens{W: w}
	if b.Command > CommandUnblock {
		return 0, fmt.Errorf("privacy: blocking command %d out of range", b.Command)
	}
	name := commandNames[b.Command]
	tw.Start(name)
	for _, j := range b.JIDs {
		if j.IsZero() {
			tw.Err = fmt.Errorf("privacy: %s item without a JID", b.Command)
			return tw.N, tw.Err
		}
		tw.Empty(blockItemName, xml.Attr{Name: xml.Name{Local: "jid"}, Value: j.String()})
	}
	tw.End(name)
	return tw.N, tw.Err
}

// ParseBlocking reads a <blocklist/>, <block/> or <unblock/> element of
// urn:xmpp:blocking, as received in a blocklist result or a blocking push.
// The element is refused whole, with an error wrapping ErrMalformed, when
// it is none of those or when one of its items has no jid or one that does
// not parse. JIDs are kept in their normalised form and in the order
// received; unknown child elements and attributes are skipped.
//
// Whether a <block/> may be empty depends on where it came from, and is
// checked there (the push handler).
func ParseBlocking(r *stanza.Raw) (*Blocking, error) {
	if r == nil {
		return nil, malformed("no blocking element")
	}
	b := &Blocking{}
	switch r.Name() {
	case blocklistName:
		b.Command = CommandBlocklist
	case blockName:
		b.Command = CommandBlock
	case unblockName:
		b.Command = CommandUnblock
	default:
		return nil, malformed("got <%s xmlns='%s'>, want a blocking element", r.Name().Local, r.Name().Space)
	}
	tr := xml.NewDecoder(strings.NewReader(r.String()))
	if _, err := xmlenc.Start(tr); err != nil {
		return nil, readError(err)
	}
	for {
		tok, err := tr.Token()
		if err != nil {
			return nil, readError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name == blockItemName {
				s, _ := xmlenc.Attr(t, "jid")
				if s == "" {
					return nil, malformed("%s item without jid", b.Command)
				}
				j, err := jid.Parse(s)
				if err != nil {
					return nil, fmt.Errorf("%w: %s item jid %q: %w", ErrMalformed, b.Command, s, err)
				}
				b.JIDs = append(b.JIDs, j)
			}
			if err := skip(tr); err != nil {
				return nil, err
			}
		case xml.EndElement:
			return b, nil
		}
	}
}

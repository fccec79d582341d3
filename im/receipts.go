package im

import (
	"encoding/xml"
	"errors"

	"mellium.im/xmlstream"

	"github.com/parleyim/parley/internal/xmlenc"
)

var (
	requestName  = xml.Name{Space: NSReceipts, Local: "request"}
	receivedName = xml.Name{Space: NSReceipts, Local: "received"}
)

// ReceiptRequest is <request xmlns='urn:xmpp:receipts'/>: the sender of a
// message asks its recipient to acknowledge it (XEP-0184). The message
// must carry an id, which the acknowledgement names. It implements
// stanza.Payload.
type ReceiptRequest struct{}

// WriteXML writes <request xmlns='urn:xmpp:receipts'/>.
func (ReceiptRequest) WriteXML(w xmlstream.TokenWriter) (int, error) {
	t := xmlenc.Tokens{W: w}
	t.Empty(requestName)
	return t.N, t.Err
}

// Receipt is <received xmlns='urn:xmpp:receipts' id='…'/>: the
// acknowledgement of the message whose id it holds (XEP-0184). It
// implements stanza.Payload.
type Receipt string

// WriteXML writes <received xmlns='urn:xmpp:receipts' id='…'/>. An empty
// id is an error: it would acknowledge nothing.
func (r Receipt) WriteXML(w xmlstream.TokenWriter) (int, error) {
	if r == "" {
		return 0, errors.New("im: receipt without the id of the message it acknowledges")
	}
	return writeWithID(w, receivedName, string(r))
}

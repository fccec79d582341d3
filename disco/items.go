package disco

import (
	"encoding/xml"

	"mellium.im/xmlstream"

	"github.com/parleyim/parley/internal/xmlenc"
	"github.com/parleyim/parley/jid"
)

// Item is one item of a disco#items result (XEP-0030 §4.1): an entity
// address, an optional node at that address and an optional name. It is a
// plain, comparable value.
type Item struct {
	JID  jid.JID
	Node string
	Name string
}

// Items is the answer to a disco#items query: the node queried ("" for the
// entity itself) and its items in document order.
//
// Items implements stanza.Payload: it writes itself as the <query/> element
// of a disco#items result. It is a plain value.
type Items struct {
	Node  string
	Items []Item
}

// WriteXML writes it as <query xmlns='http://jabber.org/protocol/disco#items'/>.
func (it *Items) WriteXML(w xmlstream.TokenWriter) (int, error) {
	tw := xmlenc.Tokens{W: w}
	query := xml.Name{Space: NSItems, Local: "query"}
	tw.Start(query, xmlenc.OptAttr(nil, "node", it.Node)...)
	for _, item := range it.Items {
		attrs := []xml.Attr{{Name: xml.Name{Local: "jid"}, Value: item.JID.String()}}
		attrs = xmlenc.OptAttr(attrs, "node", item.Node)
		attrs = xmlenc.OptAttr(attrs, "name", item.Name)
		tw.Empty(xml.Name{Space: NSItems, Local: "item"}, attrs...)
	}
	tw.End(query)
	return tw.N, tw.Err
}

// itemsQuery is the payload of a disco#items request.
type itemsQuery struct{ node string }

func (q itemsQuery) WriteXML(w xmlstream.TokenWriter) (int, error) {
	tw := xmlenc.Tokens{W: w}
	tw.Empty(xml.Name{Space: NSItems, Local: "query"}, xmlenc.OptAttr(nil, "node", q.node)...)
	return tw.N, tw.Err
}

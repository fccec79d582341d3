package disco

import (
	"encoding/xml"
	"slices"

	"mellium.im/xmlstream"

	"github.com/parleyim/parley/form"
	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/xmlenc"
)

// Identity is one identity of an entity (XEP-0030 §3.1): its category and
// type from the Service Discovery registry (for a client "client" and "pc",
// "bot", "phone" …), an optional human-readable Name, and the xml:lang of
// that name. It is a plain, comparable value.
type Identity struct {
	Category, Type, Name, Lang string
}

// DefaultIdentity is the identity a Responder announces when the
// application sets none.
var DefaultIdentity = Identity{Category: "client", Type: "bot", Name: "Parley"}

// Info is the answer to a disco#info query (XEP-0030 §3.1): the entity's
// identities, the features (namespaces) it supports, and extended
// information forms (XEP-0128). Node is the node queried, "" for the entity
// itself.
//
// Info implements stanza.Payload: it writes itself as the <query/> element
// of a disco#info result. An Info is a plain value: not safe to mutate from
// several goroutines at once.
type Info struct {
	Node       string
	Identities []Identity
	Features   []string
	Forms      []form.Form
}

// HasFeature reports whether the entity announced feature ns.
func (i *Info) HasFeature(ns string) bool {
	return i != nil && slices.Contains(i.Features, ns)
}

// HasIdentity reports whether the entity has an identity of the given
// category and type.
func (i *Info) HasIdentity(category, typ string) bool {
	if i == nil {
		return false
	}
	for _, id := range i.Identities {
		if id.Category == category && id.Type == typ {
			return true
		}
	}
	return false
}

// Form returns the first extended information form whose FORM_TYPE is
// formType.
func (i *Info) Form(formType string) (form.Form, bool) {
	if i == nil {
		return form.Form{}, false
	}
	for _, f := range i.Forms {
		if ft, ok := f.FormType(); ok && ft == formType {
			return f, true
		}
	}
	return form.Form{}, false
}

// Clone returns a deep copy of i.
func (i *Info) Clone() *Info {
	if i == nil {
		return nil
	}
	c := &Info{
		Node:       i.Node,
		Identities: slices.Clone(i.Identities),
		Features:   slices.Clone(i.Features),
	}
	if i.Forms != nil {
		c.Forms = make([]form.Form, len(i.Forms))
		for k, f := range i.Forms {
			c.Forms[k] = f.Clone()
		}
	}
	return c
}

// WriteXML writes i as <query xmlns='http://jabber.org/protocol/disco#info'/>.
func (i *Info) WriteXML(w xmlstream.TokenWriter) (int, error) {
	tw := xmlenc.Tokens{W: w}
	query := xml.Name{Space: NSInfo, Local: "query"}
	tw.Start(query, xmlenc.OptAttr(nil, "node", i.Node)...)
	for _, id := range i.Identities {
		attrs := []xml.Attr{
			{Name: xml.Name{Local: "category"}, Value: id.Category},
			{Name: xml.Name{Local: "type"}, Value: id.Type},
		}
		attrs = xmlenc.OptAttr(attrs, "name", id.Name)
		if id.Lang != "" {
			attrs = append(attrs, xml.Attr{Name: xml.Name{Space: ns.XML, Local: "lang"}, Value: id.Lang})
		}
		tw.Empty(xml.Name{Space: NSInfo, Local: "identity"}, attrs...)
	}
	for _, f := range i.Features {
		tw.Empty(xml.Name{Space: NSInfo, Local: "feature"}, xml.Attr{Name: xml.Name{Local: "var"}, Value: f})
	}
	for _, f := range i.Forms {
		if tw.Err != nil {
			break
		}
		n, err := f.WriteXML(w)
		tw.N += n
		tw.Err = err
	}
	tw.End(query)
	return tw.N, tw.Err
}

// infoQuery is the payload of a disco#info request.
type infoQuery struct{ node string }

func (q infoQuery) WriteXML(w xmlstream.TokenWriter) (int, error) {
	tw := xmlenc.Tokens{W: w}
	name := xml.Name{Space: NSInfo, Local: "query"}
	tw.Empty(name, xmlenc.OptAttr(nil, "node", q.node)...)
	return tw.N, tw.Err
}

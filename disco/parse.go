package disco

import (
	"encoding/xml"
	"errors"
	"fmt"

	"mellium.im/xmlstream"

	"github.com/parleyim/parley/form"
	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/xmlenc"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

// ErrMalformed is wrapped by the errors of ParseInfo, ParseItems and
// ParseCaps: the element breaks a rule of the protocol.
var ErrMalformed = errors.New("disco: malformed element")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// ParseInfo reads a disco#info <query/> element, as received in an iq
// result. An identity without category or type, or a feature without var,
// makes the whole element malformed (XEP-0030 §3.1 requires them); unknown
// child elements are skipped. Duplicates are kept: Ver rejects them.
func ParseInfo(r *stanza.Raw) (*Info, error) {
	if r == nil {
		return nil, malformed("no disco#info query")
	}
	if r.Name() != (xml.Name{Space: NSInfo, Local: "query"}) {
		return nil, malformed("got <%s xmlns='%s'>, want a disco#info query", r.Name().Local, r.Name().Space)
	}
	tr := r.TokenReader()
	start, err := firstStart(tr)
	if err != nil {
		return nil, err
	}
	info := &Info{Node: attrValue(start, "node")}
	err = xmlenc.EachChild(tr, func(child xml.StartElement) error {
		switch child.Name {
		case xml.Name{Space: NSInfo, Local: "identity"}:
			id := Identity{
				Category: attrValue(child, "category"),
				Type:     attrValue(child, "type"),
				Name:     attrValue(child, "name"),
				Lang:     langOf(child),
			}
			if id.Category == "" || id.Type == "" {
				return malformed("identity without category or type")
			}
			info.Identities = append(info.Identities, id)
			return xmlstream.Skip(tr)
		case xml.Name{Space: NSInfo, Local: "feature"}:
			v := attrValue(child, "var")
			if v == "" {
				return malformed("feature without var")
			}
			info.Features = append(info.Features, v)
			return xmlstream.Skip(tr)
		case xml.Name{Space: form.NS, Local: "x"}:
			f, err := form.Read(tr, child)
			if err != nil {
				return fmt.Errorf("disco: %w: %w", ErrMalformed, err)
			}
			info.Forms = append(info.Forms, f)
			return nil
		}
		return xmlstream.Skip(tr)
	})
	if err != nil {
		return nil, readErr(err)
	}
	return info, nil
}

// ParseItems reads a disco#items <query/> element. An item without a jid,
// or whose jid is not a valid JID, makes the whole element malformed;
// unknown child elements (an XEP-0059 <set/>) are skipped.
func ParseItems(r *stanza.Raw) (*Items, error) {
	if r == nil {
		return nil, malformed("no disco#items query")
	}
	if r.Name() != (xml.Name{Space: NSItems, Local: "query"}) {
		return nil, malformed("got <%s xmlns='%s'>, want a disco#items query", r.Name().Local, r.Name().Space)
	}
	tr := r.TokenReader()
	start, err := firstStart(tr)
	if err != nil {
		return nil, err
	}
	items := &Items{Node: attrValue(start, "node")}
	err = xmlenc.EachChild(tr, func(child xml.StartElement) error {
		if child.Name == (xml.Name{Space: NSItems, Local: "item"}) {
			s := attrValue(child, "jid")
			if s == "" {
				return malformed("item without jid")
			}
			j, err := jid.Parse(s)
			if err != nil {
				return fmt.Errorf("%w: item jid %q: %w", ErrMalformed, s, err)
			}
			items.Items = append(items.Items, Item{JID: j, Node: attrValue(child, "node"), Name: attrValue(child, "name")})
		}
		return xmlstream.Skip(tr)
	})
	if err != nil {
		return nil, readErr(err)
	}
	return items, nil
}

// firstStart reads the start element of a Raw's token stream.
func firstStart(tr xml.TokenReader) (xml.StartElement, error) {
	start, err := xmlenc.Start(tr)
	switch {
	case errors.Is(err, xmlenc.ErrNoStart):
		return start, malformed("element does not begin with a start tag")
	case err != nil:
		return start, fmt.Errorf("disco: reading element: %w", err)
	}
	return start.Copy(), nil
}

// readErr names an error of reading a query's children for disco; the
// protocol faults found on the way (ErrMalformed) already carry the name.
func readErr(err error) error {
	if errors.Is(err, ErrMalformed) {
		return err
	}
	return fmt.Errorf("disco: reading element: %w", xmlenc.NoEOF(err))
}

func attrValue(start xml.StartElement, name string) string {
	v, _ := xmlenc.Attr(start, name)
	return v
}

func langOf(start xml.StartElement) string {
	for _, a := range start.Attr {
		if a.Name.Local == "lang" && (a.Name.Space == ns.XML || a.Name.Space == "xml") {
			return a.Value
		}
	}
	return ""
}

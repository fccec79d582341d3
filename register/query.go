package register

import (
	"encoding/xml"
	"errors"
	"fmt"
	"slices"

	"mellium.im/xmlstream"

	"github.com/parleyim/parley/form"
	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/xmlenc"
	"github.com/parleyim/parley/stanza"
)

// ErrMalformed is wrapped by the errors of ParseQuery, and of Fetch for a
// reply it cannot read.
var ErrMalformed = errors.New("register: malformed query")

// LegacyFields are the names of the fields of XEP-0077 §14.1, in the
// schema's order. A server asks for some of them; only these are read
// from a <query/>.
var LegacyFields = []string{
	"username", "nick", "password", "name", "first", "last", "email",
	"address", "city", "state", "zip", "phone", "url", "date", "misc",
	"text", "key",
}

// Query is the <query xmlns='jabber:iq:register'/> element: what a
// server asks for (in reply to Fetch), or what a client sends.
type Query struct {
	// Instructions is the server's text for the user.
	Instructions string
	// Registered reports <registered/>: the requesting entity already
	// has an account (asked on a logged-in session).
	Registered bool
	// Fields are the legacy fields in the order given: the name, and the
	// value the server filled in ("" for most; the username of a
	// registered account, a key to send back).
	Fields []Field
	// Form is the data form, when the server asks with one (XEP-0077
	// §6); a server that sends a form wants it filled in rather than the
	// legacy fields.
	Form *form.Form
	// URL is where to register out of band (XEP-0066), when the server
	// gives one: typically because it takes no registration in band.
	URL string
	// Remove asks the server to remove the account (Cancel sends it).
	Remove bool
}

// Field is one legacy field.
type Field struct {
	Name, Value string
}

// Asks reports whether the server asks for the legacy field named name.
func (q *Query) Asks(name string) bool {
	return slices.ContainsFunc(q.Fields, func(f Field) bool { return f.Name == name })
}

// Value returns the value of the first legacy field named name, or "".
func (q *Query) Value(name string) string {
	for _, f := range q.Fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// WriteXML writes q: instructions, registered, the legacy fields, remove,
// the form and the out-of-band URL, each when set.
func (q *Query) WriteXML(w xmlstream.TokenWriter) (int, error) {
	tw := xmlenc.Tokens{W: w}
	query := xml.Name{Space: NS, Local: "query"}
	tw.Start(query)
	if q.Instructions != "" {
		tw.TextElement(xml.Name{Space: NS, Local: "instructions"}, q.Instructions)
	}
	if q.Registered {
		tw.Empty(xml.Name{Space: NS, Local: "registered"})
	}
	for _, f := range q.Fields {
		tw.TextElement(xml.Name{Space: NS, Local: f.Name}, f.Value)
	}
	if q.Remove {
		tw.Empty(xml.Name{Space: NS, Local: "remove"})
	}
	if q.Form != nil && tw.Err == nil {
		n, err := q.Form.WriteXML(w)
		tw.N, tw.Err = tw.N+n, err
	}
	if q.URL != "" {
		x := xml.Name{Space: ns.OOB, Local: "x"}
		tw.Start(x)
		tw.TextElement(xml.Name{Space: ns.OOB, Local: "url"}, q.URL)
		tw.End(x)
	}
	tw.End(query)
	return tw.N, tw.Err
}

// ParseQuery reads a received <query xmlns='jabber:iq:register'/>. Child
// elements it does not know are skipped; of the legacy fields only those
// of LegacyFields are read; the first data form counts. A field name
// twice, a data form that cannot be read or an element that ends early
// is an error wrapping ErrMalformed.
func ParseQuery(r *stanza.Raw) (*Query, error) {
	if r == nil {
		return nil, fmt.Errorf("%w: no query", ErrMalformed)
	}
	if r.Name() != (xml.Name{Space: NS, Local: "query"}) {
		return nil, fmt.Errorf("%w: got <%s xmlns='%s'>", ErrMalformed, r.Name().Local, r.Name().Space)
	}
	tr := r.TokenReader()
	if _, err := xmlenc.Start(tr); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	q := &Query{}
	err := xmlenc.EachChild(tr, func(child xml.StartElement) error {
		return q.readChild(tr, child)
	})
	if err != nil {
		return nil, malformedRead(err)
	}
	return q, nil
}

// malformedRead wraps ErrMalformed around an error of reading, once.
func malformedRead(err error) error {
	if errors.Is(err, ErrMalformed) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrMalformed, xmlenc.NoEOF(err))
}

// readChild reads one child of the query whose start was just read,
// through its end.
func (q *Query) readChild(tr xml.TokenReader, child xml.StartElement) error {
	switch child.Name.Space {
	case NS:
		switch name := child.Name.Local; {
		case name == "instructions":
			return text(tr, &q.Instructions)
		case name == "registered":
			q.Registered = true
		case name == "remove":
			q.Remove = true
		case slices.Contains(LegacyFields, name):
			if q.Asks(name) {
				return fmt.Errorf("%w: field <%s/> twice", ErrMalformed, name)
			}
			var v string
			if err := text(tr, &v); err != nil {
				return err
			}
			q.Fields = append(q.Fields, Field{Name: name, Value: v})
			return nil
		}
	case form.NS:
		if child.Name.Local == "x" && q.Form == nil {
			f, err := form.Read(tr, child)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrMalformed, err)
			}
			q.Form = &f
			return nil
		}
	case ns.OOB:
		if child.Name.Local == "x" && q.URL == "" {
			return readOOB(tr, &q.URL)
		}
	}
	if err := xmlstream.Skip(tr); err != nil {
		return malformedRead(err)
	}
	return nil
}

// readOOB reads the <url/> of an out-of-band x element.
func readOOB(tr xml.TokenReader, url *string) error {
	err := xmlenc.EachChild(tr, func(child xml.StartElement) error {
		if child.Name == (xml.Name{Space: ns.OOB, Local: "url"}) && *url == "" {
			return text(tr, url)
		}
		return xmlstream.Skip(tr)
	})
	if err != nil {
		return malformedRead(err)
	}
	return nil
}

func text(tr xml.TokenReader, dst *string) error {
	s, err := xmlenc.Text(tr)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	*dst = s
	return nil
}

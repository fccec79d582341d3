package disco

import (
	"cmp"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"hash"
	"slices"
	"strings"

	"github.com/parleyim/parley/form"

	"mellium.im/xmlstream"

	"github.com/parleyim/parley/internal/xmlenc"
	"github.com/parleyim/parley/stanza"
)

// Caps is the <c xmlns='http://jabber.org/protocol/caps'/> element of
// XEP-0115 that an entity puts in its presence: Hash names the hash
// function (IANA textual name, "sha-1"), Node identifies the software (a
// URI) and Ver is the verification string of its disco#info.
//
// Caps implements stanza.Payload. It is a plain, comparable value.
type Caps struct {
	Hash, Node, Ver string
}

// DefaultHash is the hash function Parley uses for its own verification
// string: XEP-0115 requires support for sha-1.
const DefaultHash = "sha-1"

// Errors of verification-string computation and checking.
var (
	// ErrIllFormed means a disco#info breaks a rule of XEP-0115 §5.4: a
	// duplicate identity, feature, form type or form field, or a FORM_TYPE
	// with several different values. Such an answer cannot be trusted.
	ErrIllFormed = errors.New("disco: disco#info ill-formed for entity capabilities")
	// ErrUnsupportedHash means the caps element names a hash function
	// this package does not compute.
	ErrUnsupportedHash = errors.New("disco: unsupported caps hash function")
	// ErrVerMismatch means the disco#info an entity returned does not hash
	// to the verification string it announced.
	ErrVerMismatch = errors.New("disco: disco#info does not match the announced verification string")
)

// WriteXML writes c as <c xmlns='http://jabber.org/protocol/caps'/>.
func (c Caps) WriteXML(w xmlstream.TokenWriter) (int, error) {
	tw := xmlenc.Tokens{W: w}
	tw.Empty(xml.Name{Space: NSCaps, Local: "c"},
		xml.Attr{Name: xml.Name{Local: "hash"}, Value: c.Hash},
		xml.Attr{Name: xml.Name{Local: "node"}, Value: c.Node},
		xml.Attr{Name: xml.Name{Local: "ver"}, Value: c.Ver},
	)
	return tw.N, tw.Err
}

// NodeVer returns the node at which the entity answers disco#info for
// this verification string: Node#Ver.
func (c Caps) NodeVer() string { return c.Node + "#" + c.Ver }

// ParseCaps reads a caps element. The legacy form without a hash attribute
// (before XEP-0115 1.5) carries no verification string and is refused, as
// is an element missing node or ver.
func ParseCaps(r *stanza.Raw) (Caps, error) {
	if r == nil || r.Name() != (xml.Name{Space: NSCaps, Local: "c"}) {
		return Caps{}, malformed("not a caps element")
	}
	start, err := firstStart(r.TokenReader())
	if err != nil {
		return Caps{}, err
	}
	c := Caps{Hash: attrValue(start, "hash"), Node: attrValue(start, "node"), Ver: attrValue(start, "ver")}
	switch {
	case c.Hash == "":
		return Caps{}, malformed("caps without hash (legacy format)")
	case c.Node == "":
		return Caps{}, malformed("caps without node")
	case c.Ver == "":
		return Caps{}, malformed("caps without ver")
	}
	return c, nil
}

// FindCaps returns the first caps element of a presence, decoded or
// built (a Caps value), and false if it has none or the one it has is
// malformed.
func FindCaps(p *stanza.Presence) (Caps, bool) {
	for _, x := range p.Extensions {
		switch v := x.(type) {
		case Caps:
			return v, true
		case *Caps:
			if v != nil {
				return *v, true
			}
		case *stanza.Raw:
			if v.Name() == (xml.Name{Space: NSCaps, Local: "c"}) {
				c, err := ParseCaps(v)
				return c, err == nil
			}
		}
	}
	return Caps{}, false
}

// newHash returns the hash function named by its IANA textual name.
func newHash(name string) (hash.Hash, bool) {
	switch name {
	case "sha-1":
		return sha1.New(), true
	case "sha-224":
		return sha256.New224(), true
	case "sha-256":
		return sha256.New(), true
	case "sha-384":
		return sha512.New384(), true
	case "sha-512":
		return sha512.New(), true
	}
	return nil, false
}

// Ver computes the XEP-0115 verification string of info with the hash
// function named hashName ("sha-1", "sha-224", "sha-256", "sha-384" or
// "sha-512"): the base64 of the hash of VerificationInput. It fails with
// ErrIllFormed when info breaks the rules of XEP-0115 §5.4, and with
// ErrUnsupportedHash for another function.
func Ver(info *Info, hashName string) (string, error) {
	h, ok := newHash(hashName)
	if !ok {
		return "", ErrUnsupportedHash
	}
	s, err := VerificationInput(info)
	if err != nil {
		return "", err
	}
	h.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(h.Sum(nil)), nil
}

// VerificationInput returns the string S of XEP-0115 §5.1 that Ver hashes:
// identities sorted by category, type, xml:lang and name, each as
// "category/type/lang/name<"; then the sorted features, each followed by
// "<"; then the extended forms sorted by FORM_TYPE, each as its FORM_TYPE
// and "<", then its other fields sorted by var, each as var and "<" and its
// sorted values, each followed by "<". All sorting is by octets.
//
// A form without a hidden FORM_TYPE is left out (§5.4 step 3.6). A
// duplicate identity, feature, FORM_TYPE or field var, or a FORM_TYPE
// field with several different values, is ErrIllFormed.
func VerificationInput(info *Info) (string, error) {
	if info == nil {
		return "", ErrIllFormed
	}
	var b strings.Builder

	ids := slices.Clone(info.Identities)
	slices.SortFunc(ids, compareIdentity)
	for i, id := range ids {
		if i > 0 && ids[i-1] == id {
			return "", errIllFormed("duplicate identity " + id.Category + "/" + id.Type)
		}
		b.WriteString(id.Category)
		b.WriteByte('/')
		b.WriteString(id.Type)
		b.WriteByte('/')
		b.WriteString(id.Lang)
		b.WriteByte('/')
		b.WriteString(id.Name)
		b.WriteByte('<')
	}

	features := slices.Clone(info.Features)
	slices.Sort(features)
	for i, f := range features {
		if i > 0 && features[i-1] == f {
			return "", errIllFormed("duplicate feature " + f)
		}
		b.WriteString(f)
		b.WriteByte('<')
	}

	type typed struct {
		formType string
		fm       form.Form
	}
	var forms []typed
	for _, f := range info.Forms {
		ft, ok, err := verFormType(f)
		if err != nil {
			return "", err
		}
		if ok {
			forms = append(forms, typed{ft, f})
		}
	}
	slices.SortFunc(forms, func(a, b typed) int { return strings.Compare(a.formType, b.formType) })
	for i, f := range forms {
		if i > 0 && forms[i-1].formType == f.formType {
			return "", errIllFormed("two forms of type " + f.formType)
		}
		b.WriteString(f.formType)
		b.WriteByte('<')
		fields := make([]form.Field, 0, len(f.fm.Fields))
		for _, fd := range f.fm.Fields {
			if fd.Var != form.TypeVar {
				fields = append(fields, fd)
			}
		}
		slices.SortFunc(fields, func(a, b form.Field) int { return strings.Compare(a.Var, b.Var) })
		for k, fd := range fields {
			if k > 0 && fields[k-1].Var == fd.Var {
				return "", errIllFormed("duplicate field " + fd.Var + " in form " + f.formType)
			}
			b.WriteString(fd.Var)
			b.WriteByte('<')
			values := slices.Clone(fd.Values)
			slices.Sort(values)
			for _, v := range values {
				b.WriteString(v)
				b.WriteByte('<')
			}
		}
	}
	return b.String(), nil
}

// verFormType returns the FORM_TYPE of a form for the verification string:
// ok is false for a form to leave out (no FORM_TYPE, or not hidden).
func verFormType(f form.Form) (ft string, ok bool, err error) {
	found := false
	for _, fd := range f.Fields {
		if fd.Var != form.TypeVar {
			continue
		}
		if found {
			return "", false, errIllFormed("form with two FORM_TYPE fields")
		}
		found = true
		if fd.Type != form.Hidden || len(fd.Values) == 0 {
			continue
		}
		for _, v := range fd.Values[1:] {
			if v != fd.Values[0] {
				return "", false, errIllFormed("FORM_TYPE with different values")
			}
		}
		ft, ok = fd.Values[0], true
	}
	return ft, ok, nil
}

func compareIdentity(a, b Identity) int {
	return cmp.Or(
		strings.Compare(a.Category, b.Category),
		strings.Compare(a.Type, b.Type),
		strings.Compare(a.Lang, b.Lang),
		strings.Compare(a.Name, b.Name),
	)
}

func errIllFormed(why string) error {
	return &illFormedError{why: why}
}

type illFormedError struct{ why string }

func (e *illFormedError) Error() string { return ErrIllFormed.Error() + ": " + e.why }
func (e *illFormedError) Unwrap() error { return ErrIllFormed }

package stanza

import "strings"

// Reading an attribute of a Raw without encoding/xml.
//
// A Raw's bytes are always written by xmlenc.Writer, whose start tags
// have one form:
//
//	'<' name (' ' [prefix ':'] name "='" value "'")* ('>' | "/>")
//
// Names and prefixes are NCNames (checked with xmlenc.IsName; elements
// are never prefixed); attributes are separated by one space; every value
// is in single quotes, valid XML 1.0 text in which the Writer replaces
// exactly eight characters by a reference: & < > ' " as &amp; &lt; &gt;
// &apos; &quot;, and tab, line feed and carriage return as &#x9; &#xA;
// &#xD;. No other '&' appears and no raw '<', '\'' or carriage return, so
// a value needs no normalisation: encoding/xml reads it back as those
// eight replacements undone. The element's own xmlns comes first; prefix
// declarations (xmlns:p='uri', never with an empty uri) follow; a prefixed
// attribute is in a namespace and never the attribute Attr looks for.
//
// scanAttr reads that form and gives up on anything else, for which Attr
// falls back on encoding/xml, and on the few cases where the Writer and
// encoding/xml disagree or that Attr's contract makes special:
//
//   - a name with a byte outside ASCII: xmlenc.IsName follows the fifth
//     edition of XML 1.0, encoding/xml's Decoder an older table of name
//     characters, and refuses some names the Writer accepts (Attr then
//     returns "");
//   - local "xmlns": the declaration xmlns='uri' is an attribute in
//     encoding/xml's tokens only when the element's name resolves to no
//     namespace, which depends on the element's name;
//   - a reference other than the eight above, a prefix declared as empty,
//     or anything out of place: not the Writer's output.

// maxSharedAttr is the largest element whose attribute values Attr
// returns as substrings of the element's own string; a value of a larger
// element is copied, so that keeping it does not keep the element alive.
const maxSharedAttr = 512

// scanAttr returns the value of the attribute local in no namespace of the
// start tag that data begins with, or "" if it has none; ok is false when
// data is not in the form described above, and then encoding/xml must
// read it.
func scanAttr(data, local string) (v string, ok bool) {
	if data == "" {
		return "", true // the zero Raw: encoding/xml finds no token
	}
	if local == "xmlns" || data[0] != '<' {
		return "", false
	}
	i := 1 + nameLen(data[1:])
	if i == 1 || i == len(data) || data[i] == ':' {
		return "", false
	}
	found := false
	for {
		if i == len(data) {
			return "", false
		}
		switch data[i] {
		case '>':
			return attrResult(data, v, found)
		case '/':
			if i+1 < len(data) && data[i+1] == '>' {
				return attrResult(data, v, found)
			}
			return "", false
		case ' ':
			i++
		default:
			return "", false
		}
		prefix, name := "", ""
		n := nameLen(data[i:])
		if n == 0 {
			return "", false
		}
		name, i = data[i:i+n], i+n
		if i < len(data) && data[i] == ':' {
			i++
			n = nameLen(data[i:])
			if n == 0 {
				return "", false
			}
			prefix, name, i = name, data[i:i+n], i+n
		}
		if i+1 >= len(data) || data[i] != '=' || data[i+1] != '\'' {
			return "", false
		}
		i += 2
		end := strings.IndexByte(data[i:], '\'')
		if end < 0 {
			return "", false
		}
		value := data[i : i+end]
		i += end + 1
		switch {
		case prefix == "" && name == local:
			if found {
				return "", false // twice: not the Writer's
			}
			v, found = value, true
		case prefix == "xmlns" && value == "":
			// Would bind the prefix to no namespace, and make its
			// attributes ones in no namespace.
			return "", false
		}
	}
}

// attrResult returns the raw value v of an attribute of data unescaped,
// or "" when none was found.
func attrResult(data, v string, found bool) (string, bool) {
	if !found {
		return "", true
	}
	if strings.IndexByte(v, '&') >= 0 {
		return unescapeAttr(v)
	}
	if len(data) > maxSharedAttr {
		v = strings.Clone(v)
	}
	return v, true
}

// nameLen returns the length of the ASCII NCName that s begins with, or 0
// when s does not begin with one followed by a byte that ends a name in
// the Writer's output (a byte outside ASCII counts as part of the name,
// for which encoding/xml must judge).
func nameLen(s string) int {
	if s == "" || !nameStart(s[0]) {
		return 0
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case nameStart(c), '0' <= c && c <= '9', c == '-', c == '.':
		case c >= 0x80:
			return 0
		default:
			return i
		}
	}
	return len(s)
}

func nameStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
}

// attrRefs are the references the Writer writes in attribute values, and
// the characters they stand for.
var attrRefs = [...]struct{ ref, char string }{
	{"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&apos;", "'"}, {"&quot;", `"`},
	{"&#x9;", "\t"}, {"&#xA;", "\n"}, {"&#xD;", "\r"},
}

// unescapeAttr undoes the Writer's escaping of an attribute value; ok is
// false on any other reference.
func unescapeAttr(v string) (string, bool) {
	var b strings.Builder
	b.Grow(len(v)) // each reference is longer than its character
	for {
		amp := strings.IndexByte(v, '&')
		if amp < 0 {
			b.WriteString(v)
			return b.String(), true
		}
		b.WriteString(v[:amp])
		v = v[amp:]
		known := false
		for _, r := range attrRefs {
			if strings.HasPrefix(v, r.ref) {
				b.WriteString(r.char)
				v = v[len(r.ref):]
				known = true
				break
			}
		}
		if !known {
			return "", false
		}
	}
}

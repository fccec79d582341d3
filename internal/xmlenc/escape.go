// Package xmlenc appends XML 1.0 to byte slices: escaped text and attribute
// values, checked names, and a token writer that produces self-contained,
// namespace-declaring XML. Everything that XML 1.0 cannot represent is
// refused with an error instead of being written.
package xmlenc

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrInvalidChar is wrapped by the errors returned for text or attribute
// values that contain a character XML 1.0 forbids.
var ErrInvalidChar = errors.New("xmlenc: character not allowed in XML 1.0")

// asciiClass tells, for each ASCII byte, whether it can be copied as is (0),
// must be escaped (1) or is forbidden (2).
var asciiClass = func() (t [utf8.RuneSelf]uint8) {
	for i := range t {
		switch {
		case i == '\t' || i == '\n' || i == '\r':
			t[i] = 1
		case i < 0x20:
			t[i] = 2
		case i == '&' || i == '<' || i == '>' || i == '\'' || i == '"':
			t[i] = 1
		}
	}
	return t
}()

// validRune reports whether r is a Char of XML 1.0 (§2.2) at or above
// U+0080.
func validRune(r rune) bool {
	return r >= 0x80 && (r <= 0xD7FF || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF))
}

// Valid reports an error if s contains a character that XML 1.0 forbids
// or is not valid UTF-8.
func Valid(s string) error {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if asciiClass[c] == 2 {
				return invalidAt(s, i)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || !validRune(r) {
			return invalidAt(s, i)
		}
		i += size
	}
	return nil
}

func invalidAt(s string, i int) error {
	r, _ := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError {
		return fmt.Errorf("%w: invalid UTF-8 at byte %d", ErrInvalidChar, i)
	}
	return fmt.Errorf("%w: %U at byte %d", ErrInvalidChar, r, i)
}

// AppendText appends s escaped as character data: & < > ' " become entity
// references and \r becomes &#xD; so that it survives line-end
// normalisation.
func AppendText(b []byte, s string) ([]byte, error) {
	return appendEscaped(b, s, false, false)
}

// AppendAttr appends ` name='value'` with value escaped for an attribute in
// single quotes; \t, \n and \r become character references so that they
// survive attribute-value normalisation. name is written as given; check it
// with IsName first when it does not come from the caller's own constants.
func AppendAttr(b []byte, name, value string) ([]byte, error) {
	b = append(b, ' ')
	b = append(b, name...)
	b = append(b, '=', '\'')
	b, err := appendEscaped(b, value, true, false)
	return append(b, '\''), err
}

// AppendEscaped appends s escaped for an attribute value in either quote,
// which is also valid character data: the escaping of AppendAttr. It is
// for values that cannot fail, such as a stream header's attributes or a
// name the program chose: a character that XML 1.0 forbids, or invalid
// UTF-8, becomes U+FFFD instead of an error, as in encoding/xml's
// EscapeText.
func AppendEscaped(b []byte, s string) []byte {
	b, _ = appendEscaped(b, s, true, true)
	return b
}

// appendPrefixedAttr appends ` prefix:local='value'`.
func appendPrefixedAttr(b []byte, prefix, local, value string) ([]byte, error) {
	b = append(b, ' ')
	b = append(b, prefix...)
	b = append(b, ':')
	b = append(b, local...)
	b = append(b, '=', '\'')
	b, err := appendEscaped(b, value, true, false)
	return append(b, '\''), err
}

// appendEscaped appends s escaped as character data or, with attr, as an
// attribute value. A character XML 1.0 forbids is an error, or with
// replace is written as U+FFFD.
func appendEscaped(b []byte, s string, attr, replace bool) ([]byte, error) {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch asciiClass[c] {
			case 0:
				i++
				continue
			case 2:
				if !replace {
					return b, invalidAt(s, i)
				}
				b = append(b, s[last:i]...)
				b = append(b, "\uFFFD"...)
				i++
				last = i
				continue
			}
			var esc string
			switch c {
			case '&':
				esc = "&amp;"
			case '<':
				esc = "&lt;"
			case '>':
				esc = "&gt;"
			case '\'':
				esc = "&apos;"
			case '"':
				esc = "&quot;"
			case '\r':
				esc = "&#xD;"
			case '\n':
				if !attr {
					i++
					continue
				}
				esc = "&#xA;"
			case '\t':
				if !attr {
					i++
					continue
				}
				esc = "&#x9;"
			}
			b = append(b, s[last:i]...)
			b = append(b, esc...)
			i++
			last = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || !validRune(r) {
			if !replace {
				return b, invalidAt(s, i)
			}
			b = append(b, s[last:i]...)
			b = append(b, "\uFFFD"...)
			last = i + size
		}
		i += size
	}
	return append(b, s[last:]...), nil
}

// IsSpace reports whether s is nothing but XML white space (S in XML 1.0
// §2.3: space, tab, carriage return and line feed); an empty s is.
func IsSpace[T ~string | ~[]byte](s T) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
		default:
			return false
		}
	}
	return true
}

// IsName reports whether s is an NCName: an XML name without a colon, the
// form of every element and attribute local name and of every prefix.
func IsName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return false
			}
		}
		if !IsNameStart(r) && (i == 0 || !IsNameChar(r)) {
			return false
		}
	}
	return true
}

// IsNameStart reports whether r is a NameStartChar of XML 1.0 (5th
// edition) other than ':'.
func IsNameStart(r rune) bool {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', r == '_':
		return true
	case r < 0xC0:
		return false
	}
	return r <= 0xD6 || (0xD8 <= r && r <= 0xF6) || (0xF8 <= r && r <= 0x2FF) ||
		(0x370 <= r && r <= 0x37D) || (0x37F <= r && r <= 0x1FFF) ||
		(0x200C <= r && r <= 0x200D) || (0x2070 <= r && r <= 0x218F) ||
		(0x2C00 <= r && r <= 0x2FEF) || (0x3001 <= r && r <= 0xD7FF) ||
		(0xF900 <= r && r <= 0xFDCF) || (0xFDF0 <= r && r <= 0xFFFD) ||
		(0x10000 <= r && r <= 0xEFFFF)
}

// IsNameChar reports whether r is a NameChar that is not a NameStartChar.
func IsNameChar(r rune) bool {
	return r == '-' || r == '.' || ('0' <= r && r <= '9') || r == 0xB7 ||
		(0x300 <= r && r <= 0x36F) || (0x203F <= r && r <= 0x2040)
}

package xmltree

import "bytes"

// Framer finds where one element ends in input that arrives in pieces:
// it follows tags, quoted attribute values and CDATA sections, and counts
// depth, nothing more (Parser checks the rest). Its state between pieces
// is a few fields, so that each byte is looked at once however the input
// is split, and runs of text and of attribute values are skipped with
// bytes.IndexByte.
//
// Restricted markup (a comment, a processing instruction, a DTD) is
// reported as soon as it is seen, since it cannot be framed without
// parsing rules the restricted XML of RFC 6120 §11 leaves out. So are an
// end tag whose name differs from its start tag's (the names are compared
// by a 64-bit hash: a collision is left for Parser to find) and nesting
// past MaxDepth, which would otherwise leave the Framer waiting for the
// end of an element that input will never close.
type Framer struct {
	// MaxDepth, when positive, is the deepest an element may be nested
	// below the one framed.
	MaxDepth int

	state  uint8
	depth  int
	naming bool     // reading the name of a tag
	hash   uint64   // of the name being read
	names  []uint64 // the hashes of the open elements' names

	quote    byte
	prev     byte // in a tag: the byte before, to tell "/>" from ">"
	match    int  // bytes of "[CDATA[" or of "]]>" matched so far
	pos      int  // bytes scanned since Reset
	tagEnd   int  // bytes up to the end of the first start tag; 0 before
	closing  bool // the element is an end tag at depth 0
	startTag bool // stop at the end of the first start tag
}

const (
	frContent = iota // character data
	frOpen           // after '<'
	frStart          // in a start tag
	frQuote          // in an attribute value
	frEnd            // in an end tag
	frBang           // after "<!", matching "[CDATA["
	frCDATA          // in a CDATA section
	frDone
)

// Reset makes f ready for an element whose first byte is '<'.
func (f *Framer) Reset() {
	*f = Framer{MaxDepth: f.MaxDepth, state: frContent, names: f.names[:0]}
}

// ResetStartTag makes f ready for a start tag alone, such as a stream
// header: Scan reports done at its '>'.
func (f *Framer) ResetStartTag() {
	f.Reset()
	f.startTag = true
}

// FNV-1a, for names.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// TagEnd returns the length of the element's start tag once its end has
// been scanned, else 0.
func (f *Framer) TagEnd() int { return f.tagEnd }

// Closing reports whether what was framed is an end tag at depth 0: the
// end of the enclosing stream.
func (f *Framer) Closing() bool { return f.closing }

// Scan scans the next piece b of the element and returns how many of its
// bytes belong to the element (all of b unless done) and whether the
// element is complete.
func (f *Framer) Scan(b []byte) (n int, done bool, err error) {
	i := 0
	for i < len(b) {
		switch f.state {
		case frContent:
			k := bytes.IndexByte(b[i:], '<')
			if k < 0 {
				i = len(b)
				continue
			}
			i += k + 1
			f.state = frOpen
		case frOpen:
			switch b[i] {
			case '/':
				f.state, f.naming, f.hash = frEnd, true, fnvOffset
			case '!':
				f.state, f.match = frBang, 0
			case '?':
				return f.fail(i, Restricted, "processing instruction is not allowed (RFC 6120 §11.1)")
			default:
				f.state, f.prev = frStart, b[i]
				f.naming, f.hash = true, (fnvOffset^uint64(b[i]))*fnvPrime
			}
			i++
		case frStart:
			c := b[i]
			i++
			if f.naming {
				if !isSpace(c) && c != '/' && c != '>' {
					f.hash = (f.hash ^ uint64(c)) * fnvPrime
					f.prev = c
					continue
				}
				f.naming = false
			}
			switch c {
			case '\'', '"':
				f.state, f.quote = frQuote, c
			case '>':
				empty := f.prev == '/'
				if f.tagEnd == 0 {
					f.tagEnd = f.pos + i
				}
				f.state = frContent
				if !empty {
					f.depth++
					if f.MaxDepth > 0 && f.depth > f.MaxDepth+1 {
						return f.fail(i-1, TooDeep, "elements nested too deep")
					}
					f.names = append(f.names, f.hash)
				}
				if f.depth == 0 || f.startTag {
					return f.done(i)
				}
			case '<':
				return f.fail(i-1, NotWellFormed, "'<' in a tag")
			}
			f.prev = c
		case frQuote:
			k := bytes.IndexByte(b[i:], f.quote)
			if k < 0 {
				i = len(b)
				continue
			}
			i += k + 1
			f.state, f.prev = frStart, f.quote
		case frEnd:
			c := b[i]
			i++
			if f.naming {
				if !isSpace(c) && c != '>' {
					f.hash = (f.hash ^ uint64(c)) * fnvPrime
					continue
				}
				f.naming = false
			}
			if c != '>' {
				continue // white space, or what Parser refuses
			}
			f.state = frContent
			f.depth--
			if f.depth < 0 {
				f.closing = true
				return f.done(i)
			}
			if f.names[f.depth] != f.hash {
				return f.fail(i-1, NotWellFormed, "end tag does not match its start tag")
			}
			f.names = f.names[:f.depth]
			if f.depth == 0 {
				return f.done(i)
			}
		case frBang:
			const cdata = "[CDATA["
			if b[i] != cdata[f.match] {
				if f.match == 0 && b[i] == '-' {
					return f.fail(i, Restricted, "comment is not allowed (RFC 6120 §11.1)")
				}
				if f.match == 0 && b[i] == 'D' {
					return f.fail(i, Restricted, "DTD is not allowed (RFC 6120 §11.1)")
				}
				return f.fail(i, NotWellFormed, "markup declaration is not allowed")
			}
			i++
			if f.match++; f.match == len(cdata) {
				f.state, f.match = frCDATA, 0
			}
		case frCDATA:
			c := b[i]
			i++
			switch {
			case c == ']' && f.match < 2:
				f.match++
			case c == ']':
				// "]]]": the last two may still begin the end.
			case c == '>' && f.match == 2:
				f.state, f.match = frContent, 0
			default:
				f.match = 0
				if k := bytes.IndexByte(b[i:], ']'); k < 0 {
					i = len(b)
				} else {
					i += k
				}
			}
		case frDone:
			return 0, true, nil
		}
	}
	f.pos += len(b)
	return len(b), false, nil
}

func (f *Framer) done(i int) (int, bool, error) {
	f.pos += i
	f.state = frDone
	return i, true, nil
}

func (f *Framer) fail(i int, c Cond, msg string) (int, bool, error) {
	return 0, false, &SyntaxError{Cond: c, Msg: msg, Offset: f.pos + i}
}

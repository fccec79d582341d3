package wire_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parleyim/parley/internal/testkit/streamrec"
	"github.com/parleyim/parley/stanza"
)

// agreeHeader opens the streams of FuzzTreeAgreesWithTokens.
const agreeHeader = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' xmlns:h='urn:header' version='1.0' xml:lang='en' id='s1'>"

// laxerStd lists what encoding/xml accepts and the reader refuses, by the
// words of the reader's refusal: the deviations of internal/xmltree's
// differential fuzz test (the specifications are stricter than
// encoding/xml), as the stream errors' texts carry them.
var laxerStd = []string{
	"undeclared prefix",
	"given twice",
	"the prefix xmlns", "the prefix xml ", "the xml namespace", "the xmlns namespace", "an empty namespace for the prefix",
	"two colons", "a prefix without a local name", "expected a name",
	"']]>'",
	"expected white space before an attribute",
	// encoding/xml returns any "<!…>" that is no comment or CDATA section
	// as a Directive token, wherever it is; XML allows a document type
	// declaration in the prolog only, and nothing else of the kind.
	"markup declaration is not allowed",
	// References to surrogates (XML 1.0 §4.1).
	"character reference to a character XML forbids",
}

// FuzzTreeAgreesWithTokens reads arbitrary stanzas after a stream header
// as the session does (wire.Reader, whose nodes stanza.Decoder reads) and
// with a plain encoding/xml Decoder and stanza.Decoder over its tokens,
// and compares the readings as TestRecordedStreams does. Elements both
// read must agree. Where one stops before the other it must be for a
// known reason: the reader refuses what the specifications forbid and
// encoding/xml lets pass (laxerStd, restricted XML, a depth or size
// limit, non-ASCII names, whose tables differ both ways), and
// the input cutting off the last element, where one may fail and the
// other see the end of input.
func FuzzTreeAgreesWithTokens(f *testing.F) {
	for _, s := range []string{
		"<message to='a@b' type='chat'><body>hi &amp; bye</body><x xmlns='urn:x' a='1'><y/></x></message>",
		"<message xmlns:p='urn:p'><p:x p:a='1'><p:y/></p:x></message>",
		"<message><h:x h:a='1'/><foo/></message><iq type='get' id='1'><h:q/></iq>",
		"<presence><x xmlns='urn:x'><y xmlns='urn:y'/><z xmlns=''/></x><status xml:lang='de'>da</status></presence>",
		"<message xmlns:p='urn:a'><p:x><p:y xmlns:p='urn:b' p:z='1'/></p:x></message></stream:stream>",
		"<message><x xmlns='urn:x' a='t\tv' b='&#9;'/></message>",
		"<message><x p:a='1'/></message>", "<message><x xmlns='urn:x' a='1' a='2'/></message>",
		"<message><body>]]></body></message>", "<message><x xmlns='urn:x'><!-- c --></x></message>",
		"<iq type='error' id='2'><error type='cancel'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><h:app/></error></iq>",
		"<message><body>cut off",
		// Repeated addresses, which the reader parses once.
		"<message to='a@b/c' from='d@e/f'/><message to='a@b/c' from='d@e/f'/><message to='a@b/c' from='d@e/f'/><message to='A@b/c' from='@e'/><message to='A@b/c' from='@e'/><message to='A@b/c' from='@e'/>",
	} {
		f.Add(s)
	}
	for _, c := range inPlaceCases {
		f.Add(c.el)
	}
	streams, err := streamrec.Load(corpusDir)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range streams {
		opening, elements, rest, err := streamrec.Cut(s.Data)
		if err != nil {
			f.Fatalf("%s: %v", s.Name, err)
		}
		f.Add(string(s.Data[len(opening):]))
		for _, e := range elements {
			f.Add(string(e))
		}
		f.Add(string(rest))
	}
	f.Fuzz(func(t *testing.T, body string) {
		data := []byte(agreeHeader + body)
		want, werr := readXML(data)
		got, gerr := readWire(data)
		if gerr != nil {
			var se *stanza.StreamError
			if !errors.As(gerr, &se) {
				t.Fatalf("the reader failed with %T: %v", gerr, gerr)
			}
			if _, err := se.AppendXML(nil); err != nil {
				t.Fatalf("the stream error cannot be sent: %v", err)
			}
		}
		// The elements both read agree: exactly, unless white space in
		// attribute values makes their values differ.
		n := min(len(want.elements), len(got.elements))
		if whiteSpaceInValue(data) {
			for i := range n {
				want.elements[i], got.elements[i] = element{name: want.elements[i].name}, element{name: got.elements[i].name}
			}
		}
		common := compare(reading{header: want.header, elements: want.elements[:n]}, reading{header: got.header, elements: got.elements[:n]})
		for _, d := range common {
			t.Error(d)
		}
		switch {
		case werr == nil && gerr == nil:
			for _, d := range compare(want, got) {
				t.Error(d)
			}
		case gerr != nil && werr == nil:
			if !knownRefusal(body, gerr) && !refusedCutOff(want, got) {
				t.Fatalf("the reader refuses what encoding/xml reads (%d elements, %s): %v", len(want.elements), want.end, gerr)
			}
		case werr != nil && gerr == nil:
			if !cutOff(werr, want, got) && !hasNonASCII(body) {
				t.Fatalf("encoding/xml refuses what the reader reads (%d elements, %s): %v", len(got.elements), got.end, werr)
			}
		}
		if gerr == nil && werr != nil && len(got.elements) < len(want.elements) {
			t.Fatalf("encoding/xml read %d elements before failing, the reader %d", len(want.elements), len(got.elements))
		}
	})
}

// whiteSpaceInValue reports whether a tag in data has a tab, line feed
// or carriage return written as such in an attribute value: XML 1.0
// §3.3.3 turns each into a space, which the reader does and encoding/xml
// does not (nor does a received Raw's TokenReader, which reads the Raw's
// bytes with encoding/xml, while its Attr normalises). Comments and
// CDATA sections are passed over.
func whiteSpaceInValue(data []byte) bool {
	s := string(data)
	for i := 0; i < len(s); {
		rest := s[i:]
		switch {
		case strings.HasPrefix(rest, "<![CDATA["), strings.HasPrefix(rest, "<!--"):
			end := "]]>"
			if rest[1:4] == "!--" {
				end = "-->"
			}
			k := strings.Index(rest, end)
			if k < 0 {
				return false
			}
			i += k + len(end)
		case rest[0] == '<':
			// A tag, to its '>' outside quotes.
			var quote byte
			for i++; i < len(s); i++ {
				c := s[i]
				switch {
				case quote != 0 && c == quote:
					quote = 0
				case quote != 0 && (c == '\t' || c == '\n' || c == '\r'):
					return true
				case quote == 0 && (c == '\'' || c == '"'):
					quote = c
				case quote == 0 && c == '>':
				default:
					continue
				}
				if quote == 0 && c == '>' {
					break
				}
			}
			i++
		default:
			i++
		}
	}
	return false
}

// knownRefusal reports whether err, the reader's, refuses what
// encoding/xml lets pass for a reason the specifications give.
func knownRefusal(body string, err error) bool {
	var se *stanza.StreamError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Condition {
	case stanza.StreamRestrictedXML, stanza.StreamPolicyViolation:
		return true
	}
	for _, m := range laxerStd {
		if strings.Contains(se.Text, m) {
			return true
		}
	}
	return hasNonASCII(body)
}

// cutOff reports whether err, encoding/xml's, is about the input's last
// element, which the input cuts off: the reader, which frames an element
// before it parses it, saw the input end there, having read as many
// elements as encoding/xml did (so encoding/xml may find a fault in the
// incomplete element first, or just the end).
func cutOff(err error, want, got reading) bool {
	return got.end == endEOF && len(got.elements) == len(want.elements)
}

// refusedCutOff reports whether the reader refused the input's last
// element, which the input cuts off and encoding/xml read into the end
// of input: the Framer refuses some faults before an element is whole.
func refusedCutOff(want, got reading) bool {
	return want.end == endEOF && len(got.elements) == len(want.elements)
}

func hasNonASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

package xmltree

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// The differential fuzz test: every input is parsed by Parser and by
// encoding/xml's Decoder (Strict, resolving namespaces), around the same
// context (a stream header's declarations). Both must take the same
// decision and, when both accept, report the same tokens — except where
// encoding/xml is laxer or otherwise differs from XML 1.0 (5th edition)
// and Namespaces in XML 1.0: deviations lists each such case, with the
// reason, and how a disagreement is recognised as it.

// fuzzContext is what the tests parse inside: a stream header's
// declarations.
var fuzzContext = []Binding{{Prefix: "", URI: "jabber:client"}, {Prefix: "stream", URI: "http://etherx.jabber.org/streams"}}

const (
	stdOpen  = "<wrap xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
	stdClose = "</wrap>"
)

// tok is a token in a form both parsers' tokens compare in.
type tok struct {
	kind  Kind
	name  xml.Name
	attrs string // each "{space}local=value", in order
	text  string
}

func (t tok) String() string {
	switch t.kind {
	case Start:
		return fmt.Sprintf("<{%s}%s %s>", t.name.Space, t.name.Local, t.attrs)
	case End:
		return fmt.Sprintf("</{%s}%s>", t.name.Space, t.name.Local)
	}
	return fmt.Sprintf("%q", t.text)
}

func attrString(attrs []xml.Attr) string {
	var b strings.Builder
	for _, a := range attrs {
		fmt.Fprintf(&b, "{%s}%s=%q ", a.Name.Space, a.Name.Local, a.Value)
	}
	return b.String()
}

// appendTok appends t, joining adjacent text (the parsers split
// character data at different places).
func appendTok(toks []tok, t tok) []tok {
	if t.kind == Text {
		if t.text == "" {
			return toks
		}
		if n := len(toks); n > 0 && toks[n-1].kind == Text {
			toks[n-1].text += t.text
			return toks
		}
	}
	return append(toks, t)
}

func oursTokens(el *Element) []tok {
	var toks []tok
	for i := range el.Nodes {
		n := &el.Nodes[i]
		t := tok{kind: n.Kind}
		switch n.Kind {
		case Start:
			t.name = el.Name(n)
			t.attrs = attrString(el.AppendAttrs(nil, n))
		case End:
			t.name = el.Name(n)
		case Text:
			t.text = el.Str(n.Text)
		}
		toks = appendTok(toks, t)
	}
	return toks
}

// errRestrictedStd marks markup encoding/xml reports as tokens and the
// restricted XML of RFC 6120 §11 forbids.
var errRestrictedStd = errors.New("restricted markup")

// stdTokens parses s with encoding/xml inside the context; it accepts
// only exactly one element with nothing around it.
func stdTokens(s string) ([]tok, error) {
	d := xml.NewDecoder(strings.NewReader(stdOpen + s + stdClose))
	d.Strict = true
	if _, err := d.Token(); err != nil {
		return nil, err
	}
	var toks []tok
	depth, elements := 0, 0
	for {
		t, err := d.Token()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			if depth == 0 {
				elements++
			}
			depth++
			toks = appendTok(toks, tok{kind: Start, name: t.Name, attrs: attrString(t.Attr)})
		case xml.EndElement:
			if depth == 0 {
				// The wrapper's end: nothing may follow.
				if _, err := d.Token(); err != io.EOF {
					return nil, errors.New("input after the wrapper")
				}
				if elements != 1 {
					return nil, fmt.Errorf("%d elements", elements)
				}
				return toks, nil
			}
			depth--
			toks = appendTok(toks, tok{kind: End, name: t.Name})
		case xml.CharData:
			if depth == 0 {
				return nil, errors.New("text outside the element")
			}
			toks = appendTok(toks, tok{kind: Text, text: string(t)})
		default:
			return nil, errRestrictedStd
		}
	}
}

// deviation is a known difference between encoding/xml and the
// specifications this package follows.
type deviation struct {
	what, reason string
	// applies reports whether a disagreement is this deviation: ours is
	// Parser's error (nil: accepted), std encoding/xml's.
	applies func(in string, ours *SyntaxError, std error) bool
}

// oursRefuses matches our refusals whose message contains one of msgs,
// where encoding/xml accepts.
func oursRefuses(msgs ...string) func(string, *SyntaxError, error) bool {
	return func(_ string, ours *SyntaxError, std error) bool {
		if ours == nil || std != nil {
			return false
		}
		for _, m := range msgs {
			if strings.Contains(ours.Msg, m) {
				return true
			}
		}
		return false
	}
}

var deviations = []deviation{
	{"undeclared prefix", "Namespaces in XML 1.0 §5: a prefix must be declared; encoding/xml keeps the prefix as the namespace",
		oursRefuses("undeclared prefix")},
	{"attribute given twice", "XML 1.0 §3.1 and Namespaces in XML 1.0 §6.3 (also after prefixes are resolved); encoding/xml keeps both",
		oursRefuses("given twice")},
	{"reserved prefixes and namespaces", "Namespaces in XML 1.0 §3: xml and xmlns are reserved, a prefix cannot be undeclared; encoding/xml does not check",
		oursRefuses("the prefix xmlns", "the prefix xml ", "the xml namespace", "the xmlns namespace", "an empty namespace for the prefix")},
	{"names with two colons", "Namespaces in XML 1.0 §3: a QName has at most one colon; encoding/xml splits at the first",
		oursRefuses("two colons", "a prefix without a local name", "expected a name")},
	{"']]>' in character data", "XML 1.0 §2.4 forbids it outside CDATA sections; encoding/xml does not check",
		oursRefuses("']]>'")},
	{"white space between attributes", "XML 1.0 §3.1 requires it; encoding/xml does not",
		oursRefuses("expected white space before an attribute")},
	{"name characters", "XML 1.0 5th edition §2.3 NameStartChar and NameChar; encoding/xml uses the older tables of Appendix B (both ways)",
		func(in string, ours *SyntaxError, std error) bool {
			return hasNonASCIIName(in) || (ours != nil && std == nil && (strings.Contains(ours.Msg, "expected") || strings.Contains(ours.Msg, "does not match") || strings.Contains(ours.Msg, "begins no reference")) && hasNonASCII(in))
		}},
	{"references to surrogates", "XML 1.0 §4.1 (Legal Character): a character reference must name a Char, and U+D800–U+DFFF are none; encoding/xml accepts them",
		func(in string, ours *SyntaxError, std error) bool {
			if ours == nil || std != nil || !strings.Contains(ours.Msg, "character reference to a character XML forbids") {
				return false
			}
			r, ok := refAt(in, ours.Offset)
			return ok && r >= 0xD800 && r <= 0xDFFF
		}},
	{"entity references", "RFC 6120 §11.1: references to entities other than the five predefined are restricted XML; encoding/xml refuses them as unknown entities",
		func(_ string, ours *SyntaxError, std error) bool {
			return ours != nil && ours.Cond == Restricted && std != nil
		}},
}

// refAt returns the character the reference at s[i] ("&#…;") names.
func refAt(s string, i int) (rune, bool) {
	if !strings.HasPrefix(s[i:], "&#") {
		return 0, false
	}
	end := strings.IndexByte(s[i:], ';')
	if end < 0 {
		return 0, false
	}
	body := s[i+2 : i+end]
	base := 10
	if strings.HasPrefix(body, "x") {
		body, base = body[1:], 16
	}
	v, err := strconv.ParseInt(body, base, 32)
	return rune(v), err == nil
}

func hasNonASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// hasNonASCIIName reports whether a non-ASCII character follows '<',
// '</', white space, ':' or '&' directly, or a name character: the places
// a name is read.
func hasNonASCIIName(s string) bool {
	for i := 1; i < len(s); i++ {
		if s[i] < utf8.RuneSelf {
			continue
		}
		prev := s[i-1]
		if prev == '<' || prev == '/' || prev == ':' || prev == '&' || isSpace(prev) || (prev < utf8.RuneSelf && nameChar[prev]) {
			return true
		}
	}
	return false
}

// xmlnsElements returns std with the namespace of each element named
// xmlns, which encoding/xml leaves in no namespace, taken from ours: it
// is an element's local name like any other, and an unprefixed element is
// in the default namespace (Namespaces in XML 1.0 §6.2; only the prefix
// xmlns is reserved). The one difference in tokens between the two where
// both accept, besides attrNormalised's.
func xmlnsElements(ours, std []tok) []tok {
	if len(ours) != len(std) {
		return std
	}
	out := slices.Clone(std)
	for k := range out {
		if out[k].kind != Text && out[k].name.Local == "xmlns" && out[k].name.Space == "" && ours[k].name.Local == "xmlns" {
			out[k].name.Space = ours[k].name.Space
		}
	}
	return out
}

// attrNormalised reports whether two token lists differ only in white
// space inside attribute values, which XML 1.0 §3.3.3 normalises to
// spaces and encoding/xml keeps.
func attrNormalised(ours, std []tok) bool {
	if len(ours) != len(std) {
		return false
	}
	sp := strings.NewReplacer("\t", " ", "\n", " ", "\r", " ", `\t`, " ", `\n`, " ", `\r`, " ")
	for k := range ours {
		o, s := ours[k], std[k]
		// A namespace is an attribute value too.
		if o.kind != s.kind || o.name.Local != s.name.Local || sp.Replace(o.name.Space) != sp.Replace(s.name.Space) || o.text != s.text {
			return false
		}
		if o.attrs != s.attrs && sp.Replace(o.attrs) != sp.Replace(s.attrs) {
			return false
		}
	}
	return true
}

// check compares the two parsers on in.
func check(t *testing.T, in string) {
	t.Helper()
	var p Parser
	p.SetContext(fuzzContext)
	var el Element
	oursErr := p.Parse(in, &el)
	var ours *SyntaxError
	if oursErr != nil && !errors.As(oursErr, &ours) {
		t.Fatalf("%q: error of the wrong type: %v", in, oursErr)
	}
	std, stdErr := stdTokens(in)
	if (oursErr == nil) == (stdErr == nil) {
		if oursErr != nil {
			return
		}
		got := oursTokens(&el)
		std = xmlnsElements(got, std)
		if fmt.Sprint(got) == fmt.Sprint(std) || attrNormalised(got, std) {
			return
		}
		t.Fatalf("%q: tokens differ\nours: %v\nstd:  %v", in, got, std)
	}
	for _, d := range deviations {
		if d.applies(in, ours, stdErr) {
			return
		}
	}
	t.Fatalf("%q: decisions differ: ours %v, encoding/xml %v", in, oursErr, stdErr)
}

func FuzzParse(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		check(t, in)
	})
}

// seeds are the fuzzers' starting points, and TestAgreesWithStd's cases.
var seeds = []string{
	`<message to='a@b/c' id='1' type='chat'><body>hi &amp; &lt;bye&gt;</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>`,
	`<presence><show>away</show><status xml:lang='en'>out</status><priority>3</priority><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v='/></presence>`,
	`<iq type='result' id='x'><query xmlns='jabber:iq:roster' ver='1'><item jid='a@b' subscription='both'><group>G</group></item></query></iq>`,
	`<a xmlns:p='urn:p' p:x='1' x='2'><p:b/><![CDATA[ <x> & ]]></a>`,
	`<a>&#65;&#x42;&#x1F600;</a>`,
	`<a b="it's">"q"</a>`,
	"<a b='x\r\ny\tz'>l1\r\nl2\rl3</a>",
	`<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>`,
	`<a xmlns=''><b/></a>`,
	`<a><!-- c --></a>`,
	`<a><?pi x?></a>`,
	`<a>&foo;</a>`,
	`<a x='1' x='2'/>`,
	`<a p:x='1'/>`,
	`<a xmlns:p='u' xmlns:q='u' p:x='1' q:x='2'/>`,
	`<a>]]></a>`,
	`<a></b>`,
	`<a>`,
	`<é/>`,
	`<a>€ 漢字 😀</a>`,
	"<a>\xff</a>",
	"<a>\x01</a>",
	`<a b='<'/>`,
	`<a/><b/>`,
	`<a>&#57000;</a>`,
	`<xmlns/>`,
}

func TestAgreesWithStd(t *testing.T) {
	for _, s := range seeds {
		check(t, s)
	}
}

// FuzzPlainWord checks the word-at-a-time test against the byte tables:
// it never calls a word plain that has a byte the tables do not.
func FuzzPlainWord(f *testing.F) {
	f.Add(uint64(0x6161616161616161))
	f.Add(uint64(0x3c61616161616161))
	f.Add(uint64(0x0961616161616161))
	f.Fuzz(func(t *testing.T, x uint64) {
		s := string([]byte{byte(x), byte(x >> 8), byte(x >> 16), byte(x >> 24), byte(x >> 32), byte(x >> 40), byte(x >> 48), byte(x >> 56)})
		for _, c := range []struct {
			st    *stops
			class *[256]uint8
		}{{&textStops, &textClass}, {&valueStops, &valueClass}} {
			if !plainWord(load64(s, 0), c.st) {
				continue
			}
			for i := 0; i < 8; i++ {
				if c.class[s[i]] != plain {
					t.Fatalf("%q called plain, byte %d is not", s, i)
				}
			}
		}
	})
}

func TestPlainWordAllBytes(t *testing.T) {
	// Each byte value in each position, in a word otherwise plain.
	for pos := 0; pos < 8; pos++ {
		for c := 0; c < 256; c++ {
			b := []byte("abcdefgh")
			b[pos] = byte(c)
			s := string(b)
			for _, tc := range []struct {
				st    *stops
				class *[256]uint8
			}{{&textStops, &textClass}, {&valueStops, &valueClass}} {
				got := plainWord(load64(s, 0), tc.st)
				want := tc.class[c] == plain && c >= 0x20
				if got != want {
					t.Fatalf("byte %#x at %d: plain %v, want %v", c, pos, got, want)
				}
			}
		}
	}
}

// FuzzSkipPlain checks the word-at-a-time skip against the byte tables,
// from every start: it stops at the first byte they do not call plain,
// past valid non-ASCII characters.
func FuzzSkipPlain(f *testing.F) {
	f.Add("the of and to in is you that it he was for on are as with<")
	f.Add("café & naïve ]]> 'quoted' \"quoted\"\t\r\n\x01\x7f")
	f.Add("abcdefgh<abcdefgh&abcdefgh]")
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range []struct {
			st    *stops
			class *[256]uint8
		}{{&textStops, &textClass}, {&valueStops, &valueClass}} {
			// want[j] is where a scan from j must stop, worked out
			// backwards in one pass (a reference scan per start was
			// quadratic, and long inputs stalled the fuzzer's workers).
			want := make([]int, len(s)+1)
			want[len(s)] = len(s)
			for j := len(s) - 1; j >= 0; j-- {
				want[j] = j
				switch {
				case c.class[s[j]] == plain:
					want[j] = want[j+1]
				case s[j] >= utf8.RuneSelf:
					if size, ok := validUTF8(s, j); ok {
						want[j] = want[j+size]
					}
				}
			}
			// Every start in short inputs; in long ones about a
			// thousand, each scan being as long as its run.
			step := 1 + len(s)/1024
			for j := 0; j <= len(s); j += step {
				if got := skipPlain(s, j, c.st, c.class); got != want[j] {
					t.Fatalf("%q from %d: stopped at %d, want %d", s, j, got, want[j])
				}
			}
		}
	})
}

package wire_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/testkit/streamrec"
	"github.com/parleyim/parley/internal/wire"
	"github.com/parleyim/parley/stanza"
)

// corpusDir holds the streams recorded from Prosody and ejabberd (see its
// README.md).
const corpusDir = "testdata/streams"

// TestRecordedStreams reads each recorded stream with the Reader and the
// stanza decoder, as the session does, and with a plain encoding/xml
// Decoder, and requires the same reading from both.
func TestRecordedStreams(t *testing.T) {
	t.Parallel()
	streams, err := streamrec.Load(corpusDir)
	require.NoError(t, err)
	for _, s := range streams {
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			got, err := readWire(s.Data)
			require.NoError(t, err, "the Reader")
			want, err := readXML(s.Data)
			require.NoError(t, err, "encoding/xml")
			require.NotEmpty(t, want.elements)
			wantEnd := endEOF
			if bytes.HasSuffix(bytes.TrimSpace(s.Data), []byte(wire.Close)) {
				wantEnd = endClosed
			}
			assert.Equal(t, wantEnd, want.end, "how encoding/xml's reading ends")
			for i, e := range want.elements {
				// Servers send valid stanzas: one refused would be a
				// decoder bug, or a server's, to look into.
				assert.Nil(t, e.invalid, "element %d <%s> refused", i+1, e.name.Local)
			}
			for _, d := range compare(want, got) {
				t.Error(d)
			}
		})
	}
}

// TestCompareFindsDifferences alters the recorded sessions and checks
// that compare reports each alteration: a comparison that finds nothing
// would let any reader pass.
func TestCompareFindsDifferences(t *testing.T) {
	t.Parallel()
	streams, err := streamrec.Load(corpusDir)
	require.NoError(t, err)
	sessions := 0
	for _, s := range streams {
		if !strings.HasSuffix(s.Name, "-session.xml") {
			continue
		}
		sessions++
		want, err := readXML(s.Data)
		require.NoError(t, err)
		for _, tc := range []struct{ name, old, new string }{
			{"a body", "<body>end-of-bob</body>", "<body>end-of-BOB</body>"},
			{"a stanza attribute", "id='rich-1'", "id='rich-2'"},
			{"an attribute inside an extension", "xmlns='urn:xmpp:receipts'/>", "xmlns='urn:xmpp:receipts' x='1'/>"},
			{"an extension's namespace", "'http://jabber.org/protocol/chatstates'", "'urn:example:chatstates'"},
			{"a non-stanza element's content", "<session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session>", "<session xmlns='urn:ietf:params:xml:ns:xmpp-session'/>"},
			{"the stream header", "xml:lang='en'", "xml:lang='de'"},
			{"an element left out", "<r xmlns='urn:xmpp:sm:3'/>", ""},
			{"the close", "</stream:stream>", ""},
		} {
			t.Run(s.Name+"/"+tc.name, func(t *testing.T) {
				require.Contains(t, string(s.Data), tc.old)
				altered := []byte(strings.Replace(string(s.Data), tc.old, tc.new, 1))
				got, err := readWire(altered)
				require.NoError(t, err)
				assert.NotEmpty(t, compare(want, got), "the alteration went unnoticed")
			})
		}
	}
	require.NotZero(t, sessions, "no recorded session")
}

// How a reading ends.
const (
	endClosed = "closed by the peer"
	endEOF    = "input ended"
)

// reading is what a reader made of a recorded stream.
type reading struct {
	header   wire.Header
	elements []element
	end      string
}

// element is one top-level element: a stanza decoded (or refused as
// invalid) by stanza.Decoder, or any other element's tokens.
type element struct {
	name    xml.Name
	stanza  stanza.Stanza
	invalid *stanza.InvalidError
	tokens  []xml.Token
}

// isStanza reports whether start is a stanza of jabber:client, which the
// session gives to stanza.Decoder.
func isStanza(start xml.StartElement) bool {
	if start.Name.Space != stanza.NS {
		return false
	}
	switch start.Name.Local {
	case "message", "presence", "iq":
		return true
	}
	return false
}

// readElement reads the element whose start has just been read from r.
func readElement(r xml.TokenReader, start xml.StartElement, lang string) (element, error) {
	e := element{name: start.Name}
	if isStanza(start) {
		st, err := stanza.Decoder{Lang: lang}.Decode(r, start)
		if errors.As(err, &e.invalid) {
			return e, nil
		}
		e.stanza = st
		return e, err
	}
	e.tokens = []xml.Token{xml.CopyToken(start)}
	for depth := 1; depth > 0; {
		tok, err := r.Token()
		if err != nil {
			return e, fmt.Errorf("in <%s>: %w", start.Name.Local, err)
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
		e.tokens = append(e.tokens, xml.CopyToken(tok))
	}
	return e, nil
}

// readWire reads data as the session does: a Reader, and a
// stanza.Decoder with the header's language.
func readWire(data []byte) (reading, error) {
	r := wire.NewReader(bytes.NewReader(data), wire.Limits{})
	h, err := r.ReadHeader()
	if err != nil {
		return reading{}, fmt.Errorf("header: %w", err)
	}
	out := reading{header: h}
	for {
		start, err := r.NextElement()
		switch {
		case errors.Is(err, wire.ErrStreamClosed):
			out.end = endClosed
			return out, nil
		case errors.Is(err, io.ErrUnexpectedEOF):
			out.end = endEOF
			return out, nil
		case err != nil:
			return out, fmt.Errorf("after %d elements: %w", len(out.elements), err)
		}
		e, err := readElement(r, start, h.Lang)
		if err != nil {
			return out, fmt.Errorf("element %d: %w", len(out.elements)+1, err)
		}
		out.elements = append(out.elements, e)
	}
}

// readXML reads data with nothing but encoding/xml's Decoder.Token and
// stanza.Decoder.
func readXML(data []byte) (reading, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	var out reading
	depth := 0
	for {
		tok, err := d.Token()
		if err != nil {
			var syn *xml.SyntaxError
			if errors.Is(err, io.EOF) || (errors.As(err, &syn) && syn.Msg == "unexpected EOF") {
				out.end = endEOF
				return out, nil
			}
			return out, fmt.Errorf("after %d elements: %w", len(out.elements), err)
		}
		switch t := tok.(type) {
		case xml.ProcInst:
			if depth != 0 || t.Target != "xml" {
				return out, fmt.Errorf("unexpected processing instruction %s", t.Target)
			}
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return out, fmt.Errorf("text %q at depth %d", t, depth)
			}
		case xml.StartElement:
			if depth == 0 {
				if t.Name != (xml.Name{Space: ns.Stream, Local: "stream"}) {
					return out, fmt.Errorf("the first element is <%s xmlns='%s'>", t.Name.Local, t.Name.Space)
				}
				out.header = headerOf(t)
				depth = 1
				continue
			}
			e, err := readElement(d, t, out.header.Lang)
			if err != nil {
				return out, fmt.Errorf("element %d: %w", len(out.elements)+1, err)
			}
			out.elements = append(out.elements, e)
		case xml.EndElement:
			out.end = endClosed
			return out, nil
		default:
			return out, fmt.Errorf("unexpected token %T", tok)
		}
	}
}

// headerOf reads a stream header from its start element (RFC 6120 §4.7).
func headerOf(start xml.StartElement) wire.Header {
	var h wire.Header
	for _, a := range start.Attr {
		switch a.Name {
		case xml.Name{Local: "to"}:
			h.To = a.Value
		case xml.Name{Local: "from"}:
			h.From = a.Value
		case xml.Name{Local: "id"}:
			h.ID = a.Value
		case xml.Name{Local: "version"}:
			h.Version = a.Value
		case xml.Name{Space: ns.XML, Local: "lang"}:
			h.Lang = a.Value
		case xml.Name{Local: "xmlns"}:
			h.NS = a.Value
		}
	}
	return h
}

// compare returns the differences between two readings of one stream,
// want's first.
func compare(want, got reading) []string {
	var diffs []string
	if want.header != got.header {
		diffs = append(diffs, fmt.Sprintf("header: %+v, got %+v", want.header, got.header))
	}
	if want.end != got.end {
		diffs = append(diffs, fmt.Sprintf("end: %s, got %s", want.end, got.end))
	}
	if len(want.elements) != len(got.elements) {
		diffs = append(diffs, fmt.Sprintf("%d top-level elements, got %d", len(want.elements), len(got.elements)))
	}
	for i := range min(len(want.elements), len(got.elements)) {
		for _, d := range compareElements(want.elements[i], got.elements[i]) {
			diffs = append(diffs, fmt.Sprintf("element %d <%s>: %s", i+1, want.elements[i].name.Local, d))
		}
	}
	return diffs
}

func compareElements(want, got element) []string {
	if !sameName(want.name, got.name) {
		return []string{fmt.Sprintf("name %v, got %v", want.name, got.name)}
	}
	switch {
	case want.invalid != nil || got.invalid != nil:
		if !reflect.DeepEqual(want.invalid, got.invalid) {
			return []string{fmt.Sprintf("invalid stanza %v, got %v", want.invalid, got.invalid)}
		}
		return nil
	case want.stanza != nil || got.stanza != nil:
		return compareStanzas(want.stanza, got.stanza)
	}
	w, g := withoutNSDecls(want.tokens), withoutNSDecls(got.tokens)
	if !sameTokens(w, g) {
		return []string{fmt.Sprintf("tokens %v, got %v", w, g)}
	}
	return nil
}

// sameTokens compares want, read by encoding/xml, with got, read by the
// Reader. They are equal but for one thing: encoding/xml does not
// normalise attribute values (XML 1.0 §3.3.3), namespace declarations
// included, so where want has a tab, line feed or carriage return
// written as such, got has a space
// (Prosody writes them so; a character reference, as ejabberd writes,
// keeps the character in both).
func sameTokens(want, got []xml.Token) bool {
	if len(want) != len(got) {
		return false
	}
	for i := range want {
		we, ok1 := want[i].(xml.EndElement)
		ge, ok2 := got[i].(xml.EndElement)
		if ok1 && ok2 {
			if !sameName(we.Name, ge.Name) {
				return false
			}
			continue
		}
		ws, ok1 := want[i].(xml.StartElement)
		gs, ok2 := got[i].(xml.StartElement)
		if !ok1 || !ok2 {
			if !reflect.DeepEqual(want[i], got[i]) {
				return false
			}
			continue
		}
		if !sameName(ws.Name, gs.Name) || len(ws.Attr) != len(gs.Attr) {
			return false
		}
		for k, wa := range ws.Attr {
			ga := gs.Attr[k]
			if !sameName(wa.Name, ga.Name) || !normalisedValue(wa.Value, ga.Value) {
				return false
			}
		}
	}
	return true
}

// sameName reports whether got is want, but for the normalisation of its
// namespace, which was an attribute value (xmlns='…') too.
func sameName(want, got xml.Name) bool {
	return want.Local == got.Local && normalisedValue(want.Space, got.Space)
}

// normalisedValue reports whether got is want, or want with some of its
// white space characters turned into spaces.
func normalisedValue(want, got string) bool {
	if len(want) != len(got) {
		return false
	}
	for i := 0; i < len(want); i++ {
		if want[i] != got[i] && (got[i] != ' ' || (want[i] != '\t' && want[i] != '\n' && want[i] != '\r')) {
			return false
		}
	}
	return true
}

// withoutNSDecls returns toks with the namespace declarations left out of
// start elements: what a name means is in its Space, and a reader may
// declare namespaces another way (Raw's tokens leave them out too).
func withoutNSDecls(toks []xml.Token) []xml.Token {
	out := make([]xml.Token, 0, len(toks))
	for _, tok := range toks {
		if s, ok := tok.(xml.StartElement); ok {
			var attrs []xml.Attr
			for _, a := range s.Attr {
				if a.Name.Space != "xmlns" && a.Name != (xml.Name{Local: "xmlns"}) {
					attrs = append(attrs, a)
				}
			}
			s.Attr = attrs
			tok = s
		}
		out = append(out, tok)
	}
	return out
}

// compareStanzas compares two decoded stanzas: every field exactly, and
// each *stanza.Raw by its tokens (its serialisation is the reader's
// business).
func compareStanzas(want, got stanza.Stanza) []string {
	w, wRaws := stripRaws(want)
	g, gRaws := stripRaws(got)
	var diffs []string
	if !reflect.DeepEqual(w, g) {
		diffs = append(diffs, fmt.Sprintf("stanza %+v, got %+v", w, g))
	}
	if len(wRaws) != len(gRaws) {
		return append(diffs, fmt.Sprintf("%d raw elements, got %d", len(wRaws), len(gRaws)))
	}
	for i := range wRaws {
		wt, werr := rawTokens(wRaws[i])
		gt, gerr := rawTokens(gRaws[i])
		if werr != nil || gerr != nil {
			diffs = append(diffs, fmt.Sprintf("raw %d: reading tokens: %v, %v", i+1, werr, gerr))
			continue
		}
		if !sameTokens(wt, gt) {
			diffs = append(diffs, fmt.Sprintf("raw %d: tokens %v, got %v", i+1, wt, gt))
		}
	}
	return diffs
}

// rawTokens reads r's tokens. The empty default declaration that an element
// in no namespace keeps among its attributes is put first: a Raw read
// from tokens is written anew with its declarations first, a received
// one keeps the attributes in the order they came, and the order of
// attributes means nothing.
func rawTokens(r *stanza.Raw) ([]xml.Token, error) {
	if r == nil {
		return nil, nil
	}
	var toks []xml.Token
	tr := r.TokenReader()
	for {
		tok, err := tr.Token()
		if errors.Is(err, io.EOF) {
			return toks, nil
		}
		if err != nil {
			return toks, err
		}
		if s, ok := tok.(xml.StartElement); ok {
			s.Attr = slices.Clone(s.Attr)
			slices.SortStableFunc(s.Attr, func(a, b xml.Attr) int {
				return cmpBool(b.Name == xml.Name{Local: "xmlns"}, a.Name == xml.Name{Local: "xmlns"})
			})
			tok = s
		}
		toks = append(toks, xml.CopyToken(tok))
	}
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// stripRaws returns a copy of st with each payload that is a *stanza.Raw
// taken out (its place left nil) and listed in order: extensions, then
// the iq payload, then the error's application condition. A payload of
// another type stays, to be compared as it is.
func stripRaws(st stanza.Stanza) (any, []*stanza.Raw) {
	var raws []*stanza.Raw
	take := func(p stanza.Payload) stanza.Payload {
		if r, ok := p.(*stanza.Raw); ok {
			raws = append(raws, r)
			return nil
		}
		return p
	}
	takeAll := func(ps []stanza.Payload) []stanza.Payload {
		if ps == nil {
			return nil
		}
		out := make([]stanza.Payload, len(ps))
		for i, p := range ps {
			out[i] = take(p)
		}
		return out
	}
	takeErr := func(e *stanza.Error) *stanza.Error {
		if e == nil {
			return nil
		}
		c := *e
		c.App = take(c.App)
		return &c
	}
	switch s := st.(type) {
	case *stanza.Message:
		c := *s
		c.Extensions = takeAll(c.Extensions)
		c.Error = takeErr(c.Error)
		return c, raws
	case *stanza.Presence:
		c := *s
		c.Extensions = takeAll(c.Extensions)
		c.Error = takeErr(c.Error)
		return c, raws
	case *stanza.IQ:
		c := *s
		c.Payload = take(c.Payload)
		c.Error = takeErr(c.Error)
		return c, raws
	}
	return st, nil
}

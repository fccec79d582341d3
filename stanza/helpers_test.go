package stanza

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// streamOpen is the header that fixtures are read inside of: jabber:client
// as the default namespace and the stream prefix bound.
const streamOpen = `<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`

// firstStart returns a decoder over s read inside a stream header, moved
// past the first start element inside it, and that element. ok is false
// when there is none.
func firstStart(s []byte) (*xml.Decoder, xml.StartElement, bool) {
	d := xml.NewDecoder(io.MultiReader(bytes.NewReader([]byte(streamOpen)), bytes.NewReader(s)))
	if _, err := d.Token(); err != nil {
		return nil, xml.StartElement{}, false
	}
	for {
		t, err := d.Token()
		if err != nil {
			return nil, xml.StartElement{}, false
		}
		if se, ok := t.(xml.StartElement); ok {
			return d, se, true
		}
	}
}

// decodeString decodes the first stanza in s.
func decodeString(t testing.TB, s string) (Stanza, error) {
	t.Helper()
	d, start, ok := firstStart([]byte(s))
	require.True(t, ok, "no start element in %s", s)
	return Decoder{}.Decode(d, start)
}

// mustRaw parses s as a Raw.
func mustRaw(t testing.TB, s string) *Raw {
	t.Helper()
	r, err := ParseRaw([]byte(s))
	require.NoError(t, err)
	return r
}

// isInvalid reports whether err is an *InvalidError.
func isInvalid(err error) bool {
	var inv *InvalidError
	return errors.As(err, &inv)
}

// meaning returns r's tokens in a form where prefixes and namespace
// declarations do not matter: names with URIs, attributes sorted.
func meaning(t testing.TB, r *Raw) string {
	t.Helper()
	var b strings.Builder
	tr := r.TokenReader()
	for {
		tok, err := tr.Token()
		if err == io.EOF {
			return b.String()
		}
		require.NoError(t, err)
		switch tok := tok.(type) {
		case xml.StartElement:
			var attrs []string
			for _, a := range tok.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue
				}
				attrs = append(attrs, fmt.Sprintf("{%s}%s=%q", a.Name.Space, a.Name.Local, a.Value))
			}
			sort.Strings(attrs)
			fmt.Fprintf(&b, "<{%s}%s %s>", tok.Name.Space, tok.Name.Local, strings.Join(attrs, " "))
		case xml.EndElement:
			fmt.Fprintf(&b, "</{%s}%s>", tok.Name.Space, tok.Name.Local)
		case xml.CharData:
			fmt.Fprintf(&b, "%q", string(tok))
		}
	}
}

// canon returns a copy of v (a stanza or stream error) in which every Raw
// holds its meaning instead of its bytes, for comparisons that must
// ignore prefixes.
func canon(t testing.TB, v any) any {
	t.Helper()
	raw := func(p Payload) Payload {
		if r, ok := p.(*Raw); ok && r != nil {
			return &Raw{name: r.name, data: meaning(t, r)}
		}
		return p
	}
	exts := func(ps []Payload) []Payload {
		if ps == nil {
			return nil
		}
		out := make([]Payload, len(ps))
		for i, p := range ps {
			out[i] = raw(p)
		}
		return out
	}
	stanzaErr := func(e *Error) *Error {
		if e == nil {
			return nil
		}
		c := *e
		c.App = raw(c.App)
		return &c
	}
	switch v := v.(type) {
	case *Message:
		c := *v
		c.Extensions = exts(c.Extensions)
		c.Error = stanzaErr(c.Error)
		return &c
	case *Presence:
		c := *v
		c.Extensions = exts(c.Extensions)
		c.Error = stanzaErr(c.Error)
		return &c
	case *IQ:
		c := *v
		c.Payload = raw(c.Payload)
		c.Error = stanzaErr(c.Error)
		return &c
	case *StreamError:
		c := *v
		c.App = raw(c.App)
		return &c
	}
	t.Fatalf("canon: unexpected %T", v)
	return nil
}

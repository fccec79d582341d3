package stanza

import (
	"encoding/xml"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"mellium.im/xmlstream"

	"github.com/parleyim/parley/internal/xmlenc"
)

// TestEncodeRefuses checks that stanzas that cannot be written are
// refused on both paths, and that nothing is written.
func TestEncodeRefuses(t *testing.T) {
	t.Parallel()
	badPayload := PayloadFunc(func(w xmlstream.TokenWriter) (int, error) {
		return 0, w.EncodeToken(xml.StartElement{Name: xml.Name{Space: "u", Local: "x><evil/"}})
	})
	tests := []struct {
		name    string
		s       Stanza
		charErr bool
	}{
		{name: "NUL in body", s: &Message{Body: "a\x00b"}, charErr: true},
		{name: "escape in subject", s: &Message{Subject: "\x1b[31m"}, charErr: true},
		{name: "FFFF in alt body", s: &Message{AltBodies: []Text{{Lang: "en", Value: "\uFFFF"}}}, charErr: true},
		{name: "invalid UTF-8 in thread", s: &Message{Thread: Thread{ID: "\xff"}}, charErr: true},
		{name: "control in id", s: &Message{Header: Header{ID: "a\x01"}}, charErr: true},
		{name: "control in lang", s: &Presence{Header: Header{Lang: "\x02"}}, charErr: true},
		{name: "control in status", s: &Presence{Status: "\x03"}, charErr: true},
		{name: "control in error text", s: &IQ{Header: Header{ID: "1"}, Type: IQError, Error: &Error{Condition: Conflict, Text: "\x04"}}, charErr: true},
		{name: "control in error URI", s: &IQ{Header: Header{ID: "1"}, Type: IQError, Error: &Error{Condition: Gone, URI: "\x05"}}, charErr: true},
		{name: "unknown message type", s: &Message{Type: "shout"}},
		{name: "unknown presence type", s: &Presence{Type: "online"}},
		{name: "unknown show", s: &Presence{Show: "sleeping"}},
		{name: "iq without id", s: &IQ{Type: IQResult}},
		{name: "iq without type", s: &IQ{Header: Header{ID: "1"}}},
		{name: "get without payload", s: &IQ{Header: Header{ID: "1"}, Type: IQGet}},
		{name: "set without payload", s: &IQ{Header: Header{ID: "1"}, Type: IQSet}},
		{name: "error without error", s: &IQ{Header: Header{ID: "1"}, Type: IQError}},
		{name: "payload with an injected name", s: &IQ{Header: Header{ID: "1"}, Type: IQGet, Payload: badPayload}},
		{name: "payload with bad text", s: &Message{Extensions: []Payload{PayloadFunc(func(w xmlstream.TokenWriter) (int, error) {
			if err := w.EncodeToken(xml.StartElement{Name: xml.Name{Space: "u", Local: "x"}}); err != nil {
				return 0, err
			}
			return 1, w.EncodeToken(xml.CharData("\x00"))
		})}}},
		{name: "payload closes the stanza", s: &Message{Extensions: []Payload{PayloadFunc(func(w xmlstream.TokenWriter) (int, error) {
			return 1, w.EncodeToken(xml.EndElement{Name: xml.Name{Space: NS, Local: "message"}})
		})}}},
		{name: "payload left open", s: &Message{Extensions: []Payload{PayloadFunc(func(w xmlstream.TokenWriter) (int, error) {
			return 1, w.EncodeToken(xml.StartElement{Name: xml.Name{Space: "u", Local: "x"}})
		})}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := tt.s.AppendXML([]byte("keep"))
			require.Error(t, err)
			assert.Equal(t, "keep", string(b))
			if tt.charErr {
				assert.ErrorIs(t, err, xmlenc.ErrInvalidChar)
			}
			assert.Contains(t, err.Error(), "stanza: ")

			var written []xml.Token
			_, err = tt.s.WriteXML(tokenRecorder(func(tok xml.Token) { written = append(written, tok) }))
			require.Error(t, err)
			if tt.charErr {
				assert.ErrorIs(t, err, xmlenc.ErrInvalidChar)
				assert.Empty(t, written, "tokens written before the refusal")
			}
		})
	}
}

// point is a user's own payload type written with tokens, children in the
// parent's namespace by leaving Space empty.
type point struct{ X, Y string }

func (p point) WriteXML(w xmlstream.TokenWriter) (int, error) {
	toks := []xml.Token{
		xml.StartElement{Name: xml.Name{Space: "urn:example:geo", Local: "point"}, Attr: []xml.Attr{{Name: xml.Name{Local: "x"}, Value: p.X}}},
		xml.StartElement{Name: xml.Name{Local: "y"}},
		xml.CharData(p.Y),
		xml.EndElement{Name: xml.Name{Local: "y"}},
		xml.EndElement{Name: xml.Name{Space: "urn:example:geo", Local: "point"}},
	}
	for i, tok := range toks {
		if err := w.EncodeToken(tok); err != nil {
			return i, err
		}
	}
	return len(toks), nil
}

// appendPoint also implements Appender.
type appendPoint struct{ point }

func (p appendPoint) AppendXML(b []byte) ([]byte, error) {
	return append(b, "<fast xmlns='urn:example:geo'/>"...), nil
}

func TestUserPayloads(t *testing.T) {
	t.Parallel()
	m := &Message{Type: MessageChat, Extensions: []Payload{point{X: "1", Y: "2&3"}}}
	b, err := m.AppendXML(nil)
	require.NoError(t, err)
	assert.Equal(t, `<message type='chat'><point xmlns='urn:example:geo' x='1'><y>2&amp;3</y></point></message>`, string(b))

	got, err := decodeString(t, string(b))
	require.NoError(t, err)
	raw, ok := got.(*Message).Extension(xml.Name{Space: "urn:example:geo", Local: "point"})
	require.True(t, ok)
	var v struct {
		X string `xml:"x,attr"`
		Y string `xml:"urn:example:geo y"`
	}
	require.NoError(t, raw.Decode(&v))
	assert.Equal(t, "1", v.X)
	assert.Equal(t, "2&3", v.Y)

	m.Extensions = []Payload{appendPoint{}}
	b, err = m.AppendXML(nil)
	require.NoError(t, err)
	assert.Equal(t, `<message type='chat'><fast xmlns='urn:example:geo'/></message>`, string(b))

	_, ok = got.(*Message).Extension(xml.Name{Space: "urn:other", Local: "point"})
	assert.False(t, ok)
}

func TestPayloadErrorIsReturned(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	iq := &IQ{Header: Header{ID: "1"}, Type: IQSet, Payload: PayloadFunc(func(xmlstream.TokenWriter) (int, error) { return 0, boom })}
	_, err := iq.AppendXML(nil)
	assert.ErrorIs(t, err, boom)
	_, err = iq.WriteXML(xmlstream.Discard())
	assert.ErrorIs(t, err, boom)
}

func TestWriterErrorIsReturned(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	w := failWriter{err: boom}
	_, err := (&Presence{Status: "s"}).WriteXML(w)
	assert.ErrorIs(t, err, boom)
	_, err = (&StreamError{Condition: StreamReset}).WriteXML(w)
	assert.ErrorIs(t, err, boom)
}

type failWriter struct{ err error }

func (f failWriter) EncodeToken(xml.Token) error { return f.err }

func TestStanzaInterface(t *testing.T) {
	t.Parallel()
	for _, s := range []Stanza{&Message{}, &Presence{}, &IQ{}} {
		s.StanzaHeader().ID = "set-through-interface"
		assert.Equal(t, NS, s.Name().Space)
	}
	m := &Message{}
	m.StanzaHeader().To = romeo
	assert.Equal(t, romeo, m.To)
	assert.Equal(t, "message", m.Name().Local)
	assert.Equal(t, "presence", (&Presence{}).Name().Local)
	assert.Equal(t, "iq", (&IQ{}).Name().Local)
	p := &Presence{Extensions: []Payload{point{}, mustRaw(t, `<c xmlns='http://jabber.org/protocol/caps'/>`)}}
	_, ok := p.Extension(xml.Name{Space: "http://jabber.org/protocol/caps", Local: "c"})
	assert.True(t, ok)
	_, ok = (&IQ{Payload: point{}}).Raw()
	assert.False(t, ok)
}

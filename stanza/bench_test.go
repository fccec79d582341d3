package stanza

import (
	"bytes"
	"encoding/xml"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

var benchStanzas = []struct {
	name string
	xml  string
}{
	{"chat", `<message from='juliet@example.com/balcony' id='ktx72v49' to='romeo@example.net/orchard' type='chat' xml:lang='en'><body>Art thou not Romeo, and a Montague?</body></message>`},
	{"caps", `<presence from='romeo@montague.lit/orchard' id='p1'><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='http://parley.example' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/></presence>`},
	{"roster-push", `<iq id='a78b4q6ha463' to='juliet@example.com/chamber' type='set'><query xmlns='jabber:iq:roster'><item jid='nurse@example.com' name='Nurse' subscription='both'><group>Friends</group></item></query></iq>`},
}

// replay is a token reader over recorded tokens: it measures the stanza
// decoder alone, without encoding/xml's tokeniser.
type replay struct {
	toks []xml.Token
	i    int
}

func (r *replay) Token() (xml.Token, error) {
	if r.i == len(r.toks) {
		return nil, io.EOF
	}
	r.i++
	return r.toks[r.i-1], nil
}

func record(b *testing.B, s string) (xml.StartElement, []xml.Token) {
	d, start, ok := firstStart([]byte(s))
	require.True(b, ok)
	start = xml.CopyToken(start).(xml.StartElement)
	var toks []xml.Token
	for depth := 1; depth > 0; {
		t, err := d.Token()
		require.NoError(b, err)
		switch t.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
		toks = append(toks, xml.CopyToken(t))
	}
	return start, toks
}

// BenchmarkDecode measures Decode over already tokenised input.
func BenchmarkDecode(b *testing.B) {
	for _, bs := range benchStanzas {
		b.Run(bs.name, func(b *testing.B) {
			start, toks := record(b, bs.xml)
			r := &replay{toks: toks}
			b.ReportAllocs()
			for b.Loop() {
				r.i = 0
				if _, err := (Decoder{}).Decode(r, start); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeXML measures Decode with encoding/xml's Decoder reading
// the bytes, as the session does today.
func BenchmarkDecodeXML(b *testing.B) {
	for _, bs := range benchStanzas {
		b.Run(bs.name, func(b *testing.B) {
			data := []byte(bs.xml)
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				d := xml.NewDecoder(bytes.NewReader(data))
				d.DefaultSpace = NS
				t, err := d.Token()
				if err != nil {
					b.Fatal(err)
				}
				if _, err := (Decoder{}).Decode(d, t.(xml.StartElement)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchValues(b *testing.B) []Stanza {
	var out []Stanza
	for _, bs := range benchStanzas {
		s, err := decodeString(b, bs.xml)
		require.NoError(b, err)
		out = append(out, s)
	}
	return out
}

// BenchmarkAppendXML measures the byte encoding path.
func BenchmarkAppendXML(b *testing.B) {
	for i, s := range benchValues(b) {
		b.Run(benchStanzas[i].name, func(b *testing.B) {
			buf := make([]byte, 0, 1024)
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = s.AppendXML(buf[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWriteXML measures the token path into an encoding/xml Encoder.
func BenchmarkWriteXML(b *testing.B) {
	for i, s := range benchValues(b) {
		b.Run(benchStanzas[i].name, func(b *testing.B) {
			enc := xml.NewEncoder(io.Discard)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.WriteXML(enc); err != nil {
					b.Fatal(err)
				}
				if err := enc.Flush(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

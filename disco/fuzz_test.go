package disco

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/stanza"
)

// The parsers read what arrives from the network. Each fuzz target checks
// that nothing panics, that a parsed value survives writing and reading
// back unchanged, and (for disco#info) that Ver either works or reports
// one of its documented errors.

func FuzzInfo(f *testing.F) {
	f.Add([]byte(complexXML))
	f.Add([]byte(`<query xmlns='http://jabber.org/protocol/disco#info'/>`))
	f.Add([]byte(`<query xmlns='http://jabber.org/protocol/disco#info' node='n'><identity category='a' type='b' name='c' xml:lang='d'/><feature var='e'/><feature var='e'/></query>`))
	f.Add([]byte(`<query xmlns='http://jabber.org/protocol/disco#info'><x xmlns='jabber:x:data'><field var='FORM_TYPE'><value>a</value><value>b</value></field><reported/><item><field var='x'/></item></x></query>`))
	f.Add([]byte(`<query xmlns='http://jabber.org/protocol/disco#info'><identity type='b'/></query>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		raw, err := stanza.ParseRaw(data)
		if err != nil {
			return
		}
		info, err := ParseInfo(raw)
		if err != nil {
			require.ErrorIs(t, err, ErrMalformed)
			return
		}
		again, err := ParseInfo(render(t, info))
		require.NoError(t, err)
		assert.Equal(t, normalizeInfo(info), normalizeInfo(again))
		if _, err := Ver(info, "sha-1"); err != nil && !errors.Is(err, ErrIllFormed) {
			t.Fatalf("Ver: unexpected error %v", err)
		}
	})
}

// normalizeInfo maps the empty form type to the "result" it is written as.
func normalizeInfo(i *Info) *Info {
	c := i.Clone()
	for k := range c.Forms {
		if c.Forms[k].Type == "" {
			c.Forms[k].Type = "result"
		}
		for n := range c.Forms[k].Fields {
			if len(c.Forms[k].Fields[n].Values) == 0 {
				c.Forms[k].Fields[n].Values = nil
			}
		}
	}
	return c
}

func FuzzItems(f *testing.F) {
	f.Add([]byte(`<query xmlns='http://jabber.org/protocol/disco#items' node='n'><item jid='conference.example.com' name='Rooms'/><item jid='a@example.com/r' node='x'/></query>`))
	f.Add([]byte(`<query xmlns='http://jabber.org/protocol/disco#items'/>`))
	f.Add([]byte(`<query xmlns='http://jabber.org/protocol/disco#items'><item jid='a@b@c'/><set xmlns='http://jabber.org/protocol/rsm'/></query>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		raw, err := stanza.ParseRaw(data)
		if err != nil {
			return
		}
		items, err := ParseItems(raw)
		if err != nil {
			require.ErrorIs(t, err, ErrMalformed)
			return
		}
		again, err := ParseItems(render(t, items))
		require.NoError(t, err)
		assert.Equal(t, items, again)
	})
}

func FuzzCaps(f *testing.F) {
	f.Add([]byte(`<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='http://code.google.com/p/exodus' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/>`))
	f.Add([]byte(`<c xmlns='http://jabber.org/protocol/caps' node='http://x' ver='1.0' ext='a b'/>`))
	f.Add([]byte(`<c xmlns='http://jabber.org/protocol/caps' hash='' node='' ver=''><c/></c>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		raw, err := stanza.ParseRaw(data)
		if err != nil {
			return
		}
		c, err := ParseCaps(raw)
		if err != nil {
			require.ErrorIs(t, err, ErrMalformed)
			return
		}
		again, err := ParseCaps(render(t, c))
		require.NoError(t, err)
		assert.Equal(t, c, again)
	})
}

package disco

import (
	"errors"
	"testing"

	"github.com/parleyim/parley/form"

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

// normalizeInfo maps what writing cannot tell apart: the empty form type
// is written as "result", and empty lists as none.
func normalizeInfo(i *Info) *Info {
	c := i.Clone()
	norm := func(fs []form.Field) []form.Field {
		if len(fs) == 0 {
			return nil
		}
		for n := range fs {
			if len(fs[n].Values) == 0 {
				fs[n].Values = nil
			}
			if len(fs[n].Options) == 0 {
				fs[n].Options = nil
			}
		}
		return fs
	}
	for k := range c.Forms {
		f := &c.Forms[k]
		if f.Type == "" {
			f.Type = form.TypeResult
		}
		if len(f.Instructions) == 0 {
			f.Instructions = nil
		}
		if len(f.Items) == 0 {
			f.Items = nil
		}
		f.Fields, f.Reported = norm(f.Fields), norm(f.Reported)
		for n := range f.Items {
			f.Items[n].Fields = norm(f.Items[n].Fields)
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

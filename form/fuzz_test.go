package form

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/stanza"
)

// FuzzParse feeds arbitrary elements to Parse: nothing panics, errors
// wrap ErrMalformed, and a parsed form survives writing and reading back
// unchanged; Submit and Set never panic on it.
func FuzzParse(f *testing.F) {
	f.Add([]byte(roomConfig))
	f.Add([]byte(`<x xmlns='jabber:x:data' type='result'><reported><field var='a'/></reported><item><field var='a'><value>1</value></field></item></x>`))
	f.Add([]byte(`<x xmlns='jabber:x:data'><field><value/><value>a</value><option><value>b</value><value>c</value></option></field></x>`))
	f.Add([]byte(`<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>jabber:iq:register</value></field><title>a</title><title>b</title></x>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		raw, err := stanza.ParseRaw(data)
		if err != nil {
			return
		}
		form, err := Parse(raw)
		if err != nil {
			require.ErrorIs(t, err, ErrMalformed)
			return
		}
		again, err := Parse(render(t, form))
		require.NoError(t, err)
		assert.Equal(t, normalize(form), normalize(again))
		sub := form.Submit()
		for _, fd := range form.Fields {
			_ = sub.Set(fd.Var, fd.Values...)
			_ = form.Set(fd.Var, "1")
		}
	})
}

// normalize maps what writing cannot tell apart: the empty form type is
// written as result, and empty lists as none.
func normalize(f Form) Form {
	c := f.Clone()
	if c.Type == "" {
		c.Type = TypeResult
	}
	if len(c.Instructions) == 0 {
		c.Instructions = nil
	}
	if len(c.Reported) == 0 {
		c.Reported = nil
	}
	if len(c.Items) == 0 {
		c.Items = nil
	}
	norm := func(fs []Field) []Field {
		if len(fs) == 0 {
			return nil
		}
		for i := range fs {
			if len(fs[i].Values) == 0 {
				fs[i].Values = nil
			}
			if len(fs[i].Options) == 0 {
				fs[i].Options = nil
			}
		}
		return fs
	}
	c.Fields = norm(c.Fields)
	c.Reported = norm(c.Reported)
	for i := range c.Items {
		c.Items[i].Fields = norm(c.Items[i].Fields)
	}
	return c
}

package register

import (
	"bytes"
	"encoding/xml"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/form"
	"github.com/parleyim/parley/stanza"
)

// FuzzParseQuery feeds arbitrary elements to ParseQuery: nothing panics,
// errors wrap ErrMalformed, a parsed query survives writing and reading
// back, and building a submission from it never panics.
func FuzzParseQuery(f *testing.F) {
	f.Add([]byte(`<query xmlns='jabber:iq:register'><instructions>Choose</instructions><username/><password/><email>e</email><key>k</key></query>`))
	f.Add([]byte(`<query xmlns='jabber:iq:register'><registered/><username>a</username><remove/><x xmlns='jabber:x:oob'><url>https://example.com</url></x></query>`))
	f.Add([]byte(`<query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' type='form'><field type='hidden' var='FORM_TYPE'><value>jabber:iq:register</value></field><field var='username' type='text-single'><required/></field></x></query>`))
	f.Add([]byte(`<query xmlns='jabber:iq:register'><username/><username/></query>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		raw, err := stanza.ParseRaw(data)
		if err != nil {
			return
		}
		q, err := ParseQuery(raw)
		if err != nil {
			require.ErrorIs(t, err, ErrMalformed)
			return
		}
		var buf bytes.Buffer
		enc := xml.NewEncoder(&buf)
		_, err = q.WriteXML(enc)
		require.NoError(t, err)
		require.NoError(t, enc.Flush())
		back, err := stanza.ParseRaw(buf.Bytes())
		require.NoError(t, err, "written: %s", buf.String())
		again, err := ParseQuery(back)
		require.NoError(t, err, "written: %s", buf.String())
		assert.Equal(t, normalize(q), normalize(again))
		values := map[string]string{}
		for _, fd := range q.Fields {
			values[fd.Name] = "v"
		}
		if q.Form != nil {
			for _, fd := range q.Form.Fields {
				values[fd.Var] = "v"
			}
		}
		_, _ = submission(q, values)
	})
}

// normalize maps what writing cannot tell apart: empty lists and none.
func normalize(q *Query) *Query {
	c := *q
	if len(c.Fields) == 0 {
		c.Fields = nil
	}
	if c.Form != nil {
		f := c.Form.Clone()
		if f.Type == "" {
			f.Type = form.TypeResult
		}
		norm := func(fs []form.Field) []form.Field {
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
		if len(f.Instructions) == 0 {
			f.Instructions = nil
		}
		if len(f.Items) == 0 {
			f.Items = nil
		}
		f.Fields, f.Reported = norm(f.Fields), norm(f.Reported)
		for i := range f.Items {
			f.Items[i].Fields = norm(f.Items[i].Fields)
		}
		c.Form = &f
	}
	return &c
}

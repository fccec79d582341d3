package form

import (
	"bytes"
	"encoding/xml"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/stanza"
)

// render writes a payload with encoding/xml and parses it back as a Raw,
// as it would arrive from the network.
func render(t testing.TB, p stanza.Payload) *stanza.Raw {
	t.Helper()
	var buf bytes.Buffer
	enc := xml.NewEncoder(&buf)
	_, err := p.WriteXML(enc)
	require.NoError(t, err)
	require.NoError(t, enc.Flush())
	raw, err := stanza.ParseRaw(buf.Bytes())
	require.NoError(t, err, "rendered %s", buf.String())
	return raw
}

func mustRaw(t testing.TB, s string) *stanza.Raw {
	t.Helper()
	raw, err := stanza.ParseRaw([]byte(s))
	require.NoError(t, err)
	return raw
}

// roomConfig is XEP-0004 §4's example form, trimmed, with every field type.
const roomConfig = `<x xmlns='jabber:x:data' type='form'>
  <title>Bot Configuration</title>
  <instructions>Fill out this form to configure your new bot!</instructions>
  <instructions>Second line.</instructions>
  <field type='hidden' var='FORM_TYPE'><value>jabber:bot</value></field>
  <field type='fixed'><value>Section 1: Bot Info</value></field>
  <field type='text-single' label='The name of your bot' var='botname'><desc>What people see</desc><required/></field>
  <field type='text-multi' label='Helpful description of your bot' var='description'/>
  <field type='boolean' label='Public bot?' var='public'><required/></field>
  <field type='text-private' label='Password for special access' var='password'/>
  <field type='list-multi' label='What features will the bot support?' var='features'>
    <option label='Contests'><value>contests</value></option>
    <option label='News'><value>news</value></option>
    <option label='Polls'><value>polls</value></option>
    <value>news</value><value>search</value>
  </field>
  <field type='list-single' label='Maximum number of subscribers' var='maxsubs'>
    <value>20</value>
    <option label='10'><value>10</value></option>
    <option label='20'><value>20</value></option>
  </field>
  <field type='jid-multi' label='People to invite' var='invitelist'><desc>Tell all your friends about your new bot!</desc></field>
  <field type='jid-single' var='owner'/>
  <field var='untyped'><value>x</value></field>
  <unknown xmlns='urn:other'><field var='nope'/></unknown>
</x>`

func TestParseForm(t *testing.T) {
	f, err := Parse(mustRaw(t, roomConfig))
	require.NoError(t, err)
	assert.Equal(t, TypeForm, f.Type)
	assert.Equal(t, "Bot Configuration", f.Title)
	assert.Equal(t, []string{"Fill out this form to configure your new bot!", "Second line."}, f.Instructions)
	ft, ok := f.FormType()
	assert.True(t, ok)
	assert.Equal(t, "jabber:bot", ft)
	require.Len(t, f.Fields, 11)
	assert.Equal(t, Field{Type: Fixed, Values: []string{"Section 1: Bot Info"}}, f.Fields[1])
	name, ok := f.Field("botname")
	require.True(t, ok)
	assert.Equal(t, Field{Var: "botname", Type: TextSingle, Label: "The name of your bot", Desc: "What people see", Required: true}, name)
	feats, _ := f.Field("features")
	assert.Equal(t, []Option{{"Contests", "contests"}, {"News", "news"}, {"Polls", "polls"}}, feats.Options)
	assert.Equal(t, []string{"news", "search"}, feats.Values)
	assert.Equal(t, "20", f.Value("maxsubs"))
	assert.Equal(t, "x", f.Value("untyped"))
	_, ok = f.Field("nope")
	assert.False(t, ok, "a field inside an unknown element is not the form's")
	assert.Equal(t, []string{"botname", "public"}, f.Missing())

	again, err := Parse(render(t, f))
	require.NoError(t, err)
	assert.Equal(t, f, again)
}

func TestParseResult(t *testing.T) {
	f, err := Parse(mustRaw(t, `<x xmlns='jabber:x:data' type='result'>
  <title>Search results</title>
  <reported><field var='name' label='Name'/><field var='url' type='text-single'/></reported>
  <item><field var='name'><value>Complete</value></field><field var='url'><value>http://a</value></field></item>
  <item><field var='name'><value>Other</value></field></item>
</x>`))
	require.NoError(t, err)
	assert.Equal(t, []Field{{Var: "name", Label: "Name"}, {Var: "url", Type: TextSingle}}, f.Reported)
	require.Len(t, f.Items, 2)
	assert.Equal(t, "http://a", f.Items[0].Value("url"))
	assert.Equal(t, "Other", f.Items[1].Value("name"))
	assert.Equal(t, "", f.Items[1].Value("url"))
	again, err := Parse(render(t, f))
	require.NoError(t, err)
	assert.Equal(t, f, again)
}

func TestParseErrors(t *testing.T) {
	for name, in := range map[string]string{
		"not a form":  `<query xmlns='jabber:iq:register'/>`,
		"wrong space": `<x xmlns='jabber:x:oob'/>`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(mustRaw(t, in))
			assert.ErrorIs(t, err, ErrMalformed)
		})
	}
	_, err := Parse(nil)
	assert.ErrorIs(t, err, ErrMalformed)
}

func TestSetChecks(t *testing.T) {
	f, err := Parse(mustRaw(t, roomConfig))
	require.NoError(t, err)
	for _, c := range []struct {
		v      string
		values []string
		err    error
	}{
		{"botname", []string{"Bot"}, nil},
		{"botname", []string{"a", "b"}, ErrValue},
		{"botname", []string{"two\nlines"}, ErrValue},
		{"description", []string{"a", "b"}, nil},
		{"public", []string{"true"}, nil},
		{"public", []string{"yes"}, ErrValue},
		{"invitelist", []string{"a@example.com", "b@example.com"}, nil},
		{"invitelist", []string{"a@b@c"}, ErrValue},
		{"owner", []string{"a@example.com", "b@example.com"}, ErrValue},
		{"features", []string{"polls", "other"}, nil},
		{"maxsubs", []string{"10", "20"}, ErrValue},
		{"untyped", []string{"a", "b"}, ErrValue},
		{"FORM_TYPE", []string{"x"}, nil},
		{"missing", []string{"x"}, ErrNoField},
		{"", []string{"x"}, ErrNoField},
	} {
		g := f.Clone()
		err := g.Set(c.v, c.values...)
		if c.err == nil {
			assert.NoError(t, err, c.v)
		} else {
			assert.ErrorIs(t, err, c.err, c.v)
		}
	}
	// The fixed field has no var: it cannot be set at all.
	g := Form{Fields: []Field{{Var: "f", Type: Fixed}}}
	assert.ErrorIs(t, g.Set("f", "x"), ErrValue)
}

func TestSubmit(t *testing.T) {
	f, err := Parse(mustRaw(t, roomConfig))
	require.NoError(t, err)
	require.NoError(t, f.Set("botname", "Bot"))
	require.NoError(t, f.SetBool("public", true))
	sub := f.Submit()
	assert.Equal(t, TypeSubmit, sub.Type)
	assert.Empty(t, sub.Title)
	assert.Empty(t, sub.Instructions)
	ft, ok := sub.FormType()
	assert.True(t, ok, "FORM_TYPE stays hidden")
	assert.Equal(t, "jabber:bot", ft)
	vars := make([]string, 0, len(sub.Fields))
	for _, fd := range sub.Fields {
		vars = append(vars, fd.Var)
		assert.Empty(t, fd.Label)
		assert.Empty(t, fd.Desc)
		assert.Empty(t, fd.Options)
		assert.False(t, fd.Required)
	}
	assert.Equal(t, []string{"FORM_TYPE", "botname", "description", "public", "password", "features", "maxsubs", "invitelist", "owner", "untyped"}, vars)
	assert.Equal(t, "Bot", sub.Value("botname"))
	assert.Equal(t, "1", sub.Value("public"))
	assert.Equal(t, "20", sub.Value("maxsubs"), "defaults are submitted")
	// The submission does not share memory with the form.
	require.NoError(t, sub.Set("features", "polls"))
	fd, _ := f.Field("features")
	assert.Equal(t, []string{"news", "search"}, fd.Values)

	assert.Equal(t, Form{Type: TypeCancel}, f.Cancel())
	b, err := Parse(render(t, f.Cancel()))
	require.NoError(t, err)
	assert.Equal(t, TypeCancel, b.Type)
}

func TestBool(t *testing.T) {
	for v, want := range map[string]bool{"1": true, "true": true, "0": false, "false": false, "": false} {
		got, err := Field{Values: []string{v}}.Bool()
		assert.NoError(t, err)
		assert.Equal(t, want, got, v)
	}
	_, err := Field{Values: []string{"yes"}}.Bool()
	assert.Error(t, err)
}

func TestNewAndFormType(t *testing.T) {
	f := New(TypeResult, "urn:x", Field{Var: "a", Values: []string{"1"}})
	ft, ok := f.FormType()
	assert.True(t, ok)
	assert.Equal(t, "urn:x", ft)
	assert.Len(t, f.Fields, 2)
	_, ok = New(TypeForm, "").FormType()
	assert.False(t, ok)
	_, ok = Form{Fields: []Field{{Var: TypeVar, Values: []string{"urn:x"}}}}.FormType()
	assert.False(t, ok, "a FORM_TYPE that is not hidden means nothing")
}

func TestWriteDefaultType(t *testing.T) {
	raw := render(t, Form{})
	assert.Equal(t, "result", raw.Attr("type"))
	assert.Equal(t, xml.Name{Space: NS, Local: "x"}, raw.Name())
}

func TestClone(t *testing.T) {
	f, err := Parse(mustRaw(t, roomConfig))
	require.NoError(t, err)
	f.Items = []Item{{Fields: []Field{{Var: "a", Values: []string{"1"}}}}}
	c := f.Clone()
	assert.Equal(t, f, c)
	c.Fields[2].Values = append(c.Fields[2].Values, "x")
	c.Fields[6].Options[0].Value = "changed"
	c.Items[0].Fields[0].Values[0] = "2"
	c.Instructions[0] = "changed"
	assert.NotEqual(t, f.Fields[2].Values, c.Fields[2].Values)
	assert.Equal(t, "contests", f.Fields[6].Options[0].Value)
	assert.Equal(t, "1", f.Items[0].Fields[0].Values[0])
	assert.NotEqual(t, "changed", f.Instructions[0])
}

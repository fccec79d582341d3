package register

import (
	"testing"

	"github.com/parleyim/parley/stanza"
)

// BenchmarkParseQuery reads what Prosody asks with: instructions, the
// legacy fields and a data form.
func BenchmarkParseQuery(b *testing.B) {
	raw, err := stanza.ParseRaw([]byte(`<query xmlns='jabber:iq:register'>` +
		`<instructions>Choose a username and password for use with this service.</instructions><username/><password/>` +
		`<x xmlns='jabber:x:data' type='form'><title>Creating a new account</title>` +
		`<instructions>Choose a username and password for use with this service.</instructions>` +
		`<field type='hidden' var='FORM_TYPE'><value>jabber:iq:register</value></field>` +
		`<field type='text-single' var='username' label='Username'><required/></field>` +
		`<field type='text-private' var='password' label='Password'><required/></field></x></query>`))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseQuery(raw); err != nil {
			b.Fatal(err)
		}
	}
}

package form_test

import (
	"fmt"
	"log"

	"github.com/parleyim/parley/form"
	"github.com/parleyim/parley/stanza"
)

// A form received from a server (a room's configuration, XEP-0004's own
// example, shortened) is shown, filled in and submitted.
func Example() {
	raw, err := stanza.ParseRaw([]byte(`<x xmlns='jabber:x:data' type='form'>` +
		`<title>Bot Configuration</title>` +
		`<instructions>Fill out this form to configure your new bot!</instructions>` +
		`<field type='hidden' var='FORM_TYPE'><value>jabber:bot</value></field>` +
		`<field type='text-single' label='The name of your bot' var='botname'/>` +
		`<field type='boolean' label='Public bot?' var='public'><required/><value>0</value></field>` +
		`<field type='list-single' label='Features' var='features'>` +
		`<option label='Search'><value>search</value></option><option label='News'><value>news</value></option></field>` +
		`</x>`))
	if err != nil {
		log.Fatal(err)
	}
	f, err := form.Parse(raw)
	if err != nil {
		log.Fatal(err)
	}
	ft, _ := f.FormType()
	fmt.Printf("%s (%s): %s\n", f.Title, ft, f.Instructions[0])
	for _, fd := range f.Fields {
		if fd.Label != "" {
			fmt.Printf("  %s [%s] %q\n", fd.Label, fd.Type, fd.Values)
		}
	}

	if err := f.Set("botname", "Parley Bot"); err != nil {
		log.Fatal(err)
	}
	if err := f.Set("public", "maybe"); err != nil {
		fmt.Println("refused:", err)
	}
	_ = f.SetBool("public", true)
	_ = f.Set("features", "news")
	fmt.Println("missing:", f.Missing())

	// The submission goes back in whatever asked for it, here an iq set.
	iq := &stanza.IQ{Header: stanza.Header{ID: "config2"}, Type: stanza.IQSet, Payload: f.Submit()}
	sub, err := iq.AppendXML(nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(sub))
	// Output:
	// Bot Configuration (jabber:bot): Fill out this form to configure your new bot!
	//   The name of your bot [text-single] []
	//   Public bot? [boolean] ["0"]
	//   Features [list-single] []
	// refused: form: value does not fit the field: field "public": "maybe" is not a boolean
	// missing: []
	// <iq id='config2' type='set'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>jabber:bot</value></field><field var='botname' type='text-single'><value>Parley Bot</value></field><field var='public' type='boolean'><value>1</value></field><field var='features' type='list-single'><value>news</value></field></x></iq>
}

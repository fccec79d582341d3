package xmltree

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The bindings an element reports: the context's by number first, then
// its own declarations, with a value that references changed read from
// Decoded.
func TestBindings(t *testing.T) {
	t.Parallel()
	var p Parser
	p.SetContext([]Binding{{Prefix: "", URI: "jabber:client", Depth: 7}, {Prefix: "stream", URI: "urn:s"}})
	var el Element
	require.NoError(t, p.Parse(`<message xmlns:a='urn:a&amp;b'><a:x><y xmlns='urn:y' a:k='1'/></a:x><stream:z/></message>`, &el))
	assert.Equal(t, Binding{Prefix: "", URI: "jabber:client", Depth: -1}, el.Binding(0))
	assert.Equal(t, Binding{Prefix: "stream", URI: "urn:s", Depth: -1}, el.Binding(1))
	assert.Equal(t, []Binding{{Prefix: "a", URI: "urn:a&b", Depth: 0}, {Prefix: "", URI: "urn:y", Depth: 2}}, el.Declared())
	var names []string
	for k := range el.Nodes {
		if n := &el.Nodes[k]; n.Kind == Start {
			names = append(names, el.Name(n).Space+" "+el.Name(n).Local)
			if n.Bind >= 0 {
				assert.Equal(t, el.Binding(n.Bind).Depth, el.BindDepth(n.Bind))
			}
		}
	}
	assert.Equal(t, []string{"jabber:client message", "urn:a&b x", "urn:y y", "urn:s z"}, names)
}

// An element keeps the context it was parsed in when the parser's
// changes.
func TestContextKeptByElement(t *testing.T) {
	t.Parallel()
	var p Parser
	p.SetContext([]Binding{{Prefix: "", URI: "jabber:client"}})
	var before, after Element
	require.NoError(t, p.Parse(`<message/>`, &before))
	p.SetContext([]Binding{{Prefix: "", URI: "jabber:server"}})
	require.NoError(t, p.Parse(`<message/>`, &after))
	assert.Equal(t, "jabber:client", before.Name(&before.Nodes[0]).Space)
	assert.Equal(t, "jabber:server", after.Name(&after.Nodes[0]).Space)
}

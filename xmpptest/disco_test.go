package xmpptest_test

import (
	"encoding/xml"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

// discoInfo is a disco#info result as the tests read it.
type discoInfo struct {
	XMLName  xml.Name `xml:"http://jabber.org/protocol/disco#info query"`
	Node     string   `xml:"node,attr"`
	Identity []struct {
		Category string `xml:"category,attr"`
		Type     string `xml:"type,attr"`
	} `xml:"identity"`
	Feature []struct {
		Var string `xml:"var,attr"`
	} `xml:"feature"`
}

func (d discoInfo) identities() []string {
	var out []string
	for _, id := range d.Identity {
		out = append(out, id.Category+"/"+id.Type)
	}
	return out
}

func (d discoInfo) features() []string {
	var out []string
	for _, f := range d.Feature {
		out = append(out, f.Var)
	}
	return out
}

func discoQuery(t *testing.T, ns, node string) *stanza.Raw {
	t.Helper()
	s := "<query xmlns='" + ns + "'"
	if node != "" {
		s += " node='" + node + "'"
	}
	raw, err := stanza.ParseRaw([]byte(s + "/>"))
	require.NoError(t, err)
	return raw
}

const (
	nsInfo  = "http://jabber.org/protocol/disco#info"
	nsItems = "http://jabber.org/protocol/disco#items"
	nsPing  = "urn:xmpp:ping"
)

// XEP-0030 §3.1: the server answers disco#info and disco#items for an
// account's bare JID on the account's behalf, and for its domain as a
// server; the two answers differ.
func TestDiscoScopes(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	a, _ := login(t, srv, "alice", nil)
	_, _ = login(t, srv, "bob/desk", nil) // an online resource changes nothing

	account := []string{nsInfo, nsItems, nsPing}
	tests := []struct {
		name       string
		to         string
		identity   []string
		features   []string
		replyFrom  string
		wantErrFor error
	}{
		{"another account", "bob@example.test", []string{"account/registered"}, account, "bob@example.test", nil},
		{"own bare JID", "alice@example.test", []string{"account/registered"}, account, "alice@example.test", nil},
		{"no to", "", []string{"account/registered"}, account, "alice@example.test", nil},
		{"account without resources", "carol@example.test", []string{"account/registered"}, account, "carol@example.test", nil},
		{"domain", "example.test", []string{"server/im"}, account, "example.test", nil},
		{"no such account", "nobody@example.test", nil, nil, "", stanza.ServiceUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var to jid.JID
			if tc.to != "" {
				to = jid.MustParse(tc.to)
			}
			get := func(ns, node string) (*stanza.IQ, error) {
				return a.SendIQ(ctx(t), &stanza.IQ{Header: stanza.Header{To: to}, Type: stanza.IQGet, Payload: discoQuery(t, ns, node)})
			}

			reply, err := get(nsInfo, "")
			if tc.wantErrFor != nil {
				assert.ErrorIs(t, err, tc.wantErrFor)
				_, err = get(nsItems, "")
				assert.ErrorIs(t, err, tc.wantErrFor)
				return
			}
			require.NoError(t, err)
			if tc.to != "" {
				assert.Equal(t, tc.replyFrom, reply.From.String())
			}
			raw, ok := reply.Raw()
			require.True(t, ok)
			var info discoInfo
			require.NoError(t, raw.Decode(&info))
			assert.Equal(t, tc.identity, info.identities())
			assert.Subset(t, info.features(), tc.features)
			if tc.identity[0] == "account/registered" {
				assert.ElementsMatch(t, tc.features, info.features(), "an account lists what the server answers for it")
			}

			reply, err = get(nsItems, "")
			require.NoError(t, err)
			raw, ok = reply.Raw()
			require.True(t, ok)
			assert.Equal(t, "<query xmlns='"+nsItems+"'/>", raw.String(), "no items")

			_, err = get(nsInfo, "some-node")
			assert.ErrorIs(t, err, stanza.ItemNotFound)
			_, err = get(nsItems, "some-node")
			assert.ErrorIs(t, err, stanza.ItemNotFound)
		})
	}
}

// The account's disco#info on the wire: from the bare JID, to the sender's
// full JID, with the id of the query.
func TestAccountDiscoRaw(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	c := dialRaw(t, srv)
	c.login("alice")
	c.send("<iq type='get' id='d1' to='bob@example.test'><query xmlns='" + nsInfo + "'/></iq>")
	iq, ok := c.stanza().(*stanza.IQ)
	require.True(t, ok)
	assert.Equal(t, stanza.IQResult, iq.Type)
	assert.Equal(t, "d1", iq.ID)
	assert.Equal(t, "bob@example.test", iq.From.String())
	assert.Equal(t, "alice@example.test/raw", iq.To.String())
	raw, ok := iq.Raw()
	require.True(t, ok)
	assert.Equal(t, "<query xmlns='"+nsInfo+"'><identity category='account' type='registered'/>"+
		"<feature var='"+nsInfo+"'/><feature var='"+nsItems+"'/><feature var='"+nsPing+"'/></query>", raw.String())

	c.send("<iq type='get' id='d2'><query xmlns='" + nsItems + "'/></iq>")
	iq, ok = c.stanza().(*stanza.IQ)
	require.True(t, ok)
	assert.Equal(t, stanza.IQResult, iq.Type)
	assert.Equal(t, "d2", iq.ID)
	raw, ok = iq.Raw()
	require.True(t, ok)
	assert.Equal(t, "<query xmlns='"+nsItems+"'/>", raw.String())

	// A set is not a query: service-unavailable, as for any unregistered
	// payload.
	c.send("<iq type='set' id='d3' to='bob@example.test'><query xmlns='" + nsInfo + "'/></iq>")
	iq, ok = c.stanza().(*stanza.IQ)
	require.True(t, ok)
	assert.Equal(t, "d3", iq.ID)
	assert.ErrorIs(t, stanzaError(iq), stanza.ServiceUnavailable)
}

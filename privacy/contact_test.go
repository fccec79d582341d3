package privacy_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/privacy"
	"github.com/parleyim/parley/stanza"
)

const (
	infoGet  = "get <query xmlns='http://jabber.org/protocol/disco#info'/>"
	namesGet = "get <query xmlns='jabber:iq:privacy'/>"
)

func info(features ...string) string {
	s := "<query xmlns='http://jabber.org/protocol/disco#info'><identity category='server' type='im'/>"
	for _, f := range features {
		s += "<feature var='" + f + "'/>"
	}
	return s + "</query>"
}

// BlockContact uses the blocking command when the server announces it,
// and the default privacy list otherwise.
func TestBlockContact(t *testing.T) {
	t.Parallel()
	const defaultList = q + `<list name='public'><item type='group' value='Friends' action='allow' order='10'/>` +
		`<item type='jid' value='romeo@example.net' action='deny' order='5'/><item action='deny' order='20'><iq/></item></list>` + qEnd
	tests := []struct {
		name    string
		answers map[string]string
		block   bool // BlockContact, else UnblockContact
		want    []string
		err     stanza.Condition
	}{
		{
			name:    "XEP-0191 block",
			answers: map[string]string{infoGet: info("http://jabber.org/protocol/disco#info", privacy.NSBlocking, privacy.NS)},
			block:   true,
			want:    []string{infoGet, "set <block xmlns='urn:xmpp:blocking'><item jid='romeo@example.net'/></block>"},
		},
		{
			name:    "XEP-0191 unblock",
			answers: map[string]string{infoGet: info(privacy.NSBlocking)},
			want:    []string{infoGet, "set <unblock xmlns='urn:xmpp:blocking'><item jid='romeo@example.net'/></unblock>"},
		},
		{
			name:    "no default list: one is created and made the default, under a free name",
			answers: map[string]string{infoGet: info(privacy.NS), namesGet: q + `<active/><default/><list name='blocked'/><list name='special'/>` + qEnd},
			block:   true,
			want: []string{
				infoGet, namesGet,
				"set " + q + "<list name='blocked-2'><item type='jid' value='romeo@example.net' action='deny' order='1'/></list>" + qEnd,
				"set " + q + "<default name='blocked-2'/>" + qEnd,
			},
		},
		{
			name: "no default list and the default cannot be set: conflict, the new list removed",
			answers: map[string]string{
				infoGet: info(privacy.NS), namesGet: q + qEnd,
				"set " + q + "<default name='blocked'/>" + qEnd: "error:conflict",
			},
			block: true,
			want: []string{
				infoGet, namesGet,
				"set " + q + "<list name='blocked'><item type='jid' value='romeo@example.net' action='deny' order='1'/></list>" + qEnd,
				"set " + q + "<default name='blocked'/>" + qEnd,
				"set " + q + "<list name='blocked'/>" + qEnd,
			},
			err: stanza.Conflict,
		},
		{
			name: "default list: the deny item goes first, orders renumbered, the same item not kept twice",
			answers: map[string]string{
				infoGet: info(), namesGet: q + `<active name='special'/><default name='public'/><list name='public'/><list name='special'/>` + qEnd,
				"get " + q + "<list name='public'/>" + qEnd: defaultList,
			},
			block: true,
			want: []string{
				infoGet, namesGet, "get " + q + "<list name='public'/>" + qEnd,
				"set " + q + "<list name='public'><item type='jid' value='romeo@example.net' action='deny' order='1'/>" +
					"<item type='group' value='Friends' action='allow' order='2'/><item action='deny' order='3'><iq/></item></list>" + qEnd,
			},
		},
		{
			name: "default list in use elsewhere: the server's conflict is reported",
			answers: map[string]string{
				infoGet: info(), namesGet: q + `<default name='public'/><list name='public'/>` + qEnd,
				"get " + q + "<list name='public'/>" + qEnd: q + "<list name='public'><item action='allow' order='1'/></list>" + qEnd,
				"set " + q + "<list name='public'><item type='jid' value='romeo@example.net' action='deny' order='1'/><item action='allow' order='2'/></list>" + qEnd: "error:conflict",
			},
			block: true,
			want: []string{
				infoGet, namesGet, "get " + q + "<list name='public'/>" + qEnd,
				"set " + q + "<list name='public'><item type='jid' value='romeo@example.net' action='deny' order='1'/><item action='allow' order='2'/></list>" + qEnd,
			},
			err: stanza.Conflict,
		},
		{
			name: "unblock through the default list",
			answers: map[string]string{
				infoGet: info(), namesGet: q + `<default name='public'/><list name='public'/>` + qEnd,
				"get " + q + "<list name='public'/>" + qEnd: defaultList,
			},
			want: []string{
				infoGet, namesGet, "get " + q + "<list name='public'/>" + qEnd,
				"set " + q + "<list name='public'><item type='group' value='Friends' action='allow' order='10'/><item action='deny' order='20'><iq/></item></list>" + qEnd,
			},
		},
		{
			name: "unblock the last item: a fall-through allow keeps the list",
			answers: map[string]string{
				infoGet: info(), namesGet: q + `<default name='blocked'/><list name='blocked'/>` + qEnd,
				"get " + q + "<list name='blocked'/>" + qEnd: q + "<list name='blocked'><item type='jid' value='romeo@example.net' action='deny' order='1'/></list>" + qEnd,
			},
			want: []string{
				infoGet, namesGet, "get " + q + "<list name='blocked'/>" + qEnd,
				"set " + q + "<list name='blocked'><item action='allow' order='1'/></list>" + qEnd,
			},
		},
		{
			name:    "unblock without a default list sends nothing more",
			answers: map[string]string{infoGet: info(), namesGet: q + `<list name='x'/>` + qEnd},
			want:    []string{infoGet, namesGet},
		},
		{
			name: "unblock of a contact not in the default list sends nothing more",
			answers: map[string]string{
				infoGet: info(), namesGet: q + `<default name='public'/>` + qEnd,
				"get " + q + "<list name='public'/>" + qEnd: q + "<list name='public'><item type='jid' value='romeo@example.net' action='deny' order='1'><message/></item></list>" + qEnd,
			},
			want: []string{infoGet, namesGet, "get " + q + "<list name='public'/>" + qEnd},
		},
		{
			name:    "disco fails: nothing more",
			answers: map[string]string{infoGet: "error:service-unavailable"},
			block:   true,
			want:    []string{infoGet},
			err:     stanza.ServiceUnavailable,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sv := &server{answer: answers(tt.answers)}
			s, _ := dial(t, nil, sv)
			var err error
			if tt.block {
				err = privacy.BlockContact(ctxT(t), s, romeo)
			} else {
				err = privacy.UnblockContact(ctxT(t), s, romeo)
			}
			if tt.err != "" {
				require.ErrorIs(t, err, tt.err)
				var se *stanza.Error
				assert.ErrorAs(t, err, &se)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tt.want, sv.requests())
		})
	}
}

func TestInsertFirst(t *testing.T) {
	t.Parallel()
	deny := privacy.Item{Type: privacy.TypeJID, Value: "romeo@example.net", Action: privacy.Deny, Order: 99}
	got := privacy.InsertFirst(privacy.List{Name: "l", Items: []privacy.Item{
		{Order: 7}, {Type: privacy.TypeGroup, Value: "g", Order: 0}, {Type: privacy.TypeJID, Value: "romeo@example.net", Action: privacy.Deny, Order: 3},
	}}, deny)
	deny.Order = 1
	assert.Equal(t, privacy.List{Name: "l", Items: []privacy.Item{
		deny, {Type: privacy.TypeGroup, Value: "g", Order: 2}, {Order: 3},
	}}, got)
	require.NoError(t, got.Validate())
	got = privacy.InsertFirst(privacy.List{Name: "e"}, deny)
	assert.Equal(t, privacy.List{Name: "e", Items: []privacy.Item{deny}}, got)
}

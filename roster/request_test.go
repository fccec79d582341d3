package roster

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// fakeSender answers SendIQ with reply and records the requests as XML.
type fakeSender struct {
	addr       jid.JID
	versioning bool
	reply      func(req *stanza.IQ) (*stanza.IQ, error)

	mu   sync.Mutex
	sent []string
}

func (f *fakeSender) Send(context.Context, stanza.Stanza) error { return errors.New("not here") }
func (f *fakeSender) Addr() jid.JID                             { return f.addr }
func (f *fakeSender) Features() *session.Features {
	return &session.Features{RosterVersioning: f.versioning}
}

func (f *fakeSender) SendIQ(_ context.Context, iq *stanza.IQ) (*stanza.IQ, error) {
	var buf bytes.Buffer
	enc := xml.NewEncoder(&buf)
	if _, err := iq.Payload.WriteXML(enc); err != nil {
		return nil, err
	}
	if err := enc.Flush(); err != nil {
		return nil, err
	}
	raw, err := stanza.ParseRaw(buf.Bytes())
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.sent = append(f.sent, string(iq.Type)+" "+raw.String())
	f.mu.Unlock()
	return f.reply(iq)
}

func result(payload string) func(*stanza.IQ) (*stanza.IQ, error) {
	return func(req *stanza.IQ) (*stanza.IQ, error) {
		res := &stanza.IQ{Header: stanza.Header{ID: req.ID}, Type: stanza.IQResult}
		if payload != "" {
			raw, err := stanza.ParseRaw([]byte(payload))
			if err != nil {
				return nil, err
			}
			res.Payload = raw
		}
		return res, nil
	}
}

const julietFull = "juliet@example.com/balcony"

func TestFetchVersioning(t *testing.T) {
	t.Parallel()
	const roster1 = `<query xmlns='jabber:iq:roster' ver='v1'><item jid='romeo@example.net' name='Romeo' subscription='both'><group>Friends</group><group>Lovers</group></item></query>`
	tests := []struct {
		name       string
		versioning bool
		cached     *Cache
		reply      string
		wantSent   string
		wantItems  int
		wantVer    string
	}{
		{"no versioning: no ver", false, nil, roster1, `get <query xmlns='jabber:iq:roster'/>`, 1, "v1"},
		{"no versioning, even with a version", false, cachedAt("v0", juliet), roster1, `get <query xmlns='jabber:iq:roster'/>`, 1, "v1"},
		{"versioning, nothing cached: ver=''", true, nil, roster1, `get <query xmlns='jabber:iq:roster' ver=''/>`, 1, "v1"},
		{"versioning: the cached version", true, cachedAt("v0", juliet), roster1, `get <query xmlns='jabber:iq:roster' ver='v0'/>`, 1, "v1"},
		{"another account's version is not sent", true, cachedAt("v0", jid.MustParse("romeo@example.net")), roster1, `get <query xmlns='jabber:iq:roster' ver=''/>`, 1, "v1"},
		{"unchanged: empty result", true, cachedAt("v0", juliet), "", `get <query xmlns='jabber:iq:roster' ver='v0'/>`, 3, "v0"},
		{"empty result to ver='': no items", true, nil, "", `get <query xmlns='jabber:iq:roster' ver=''/>`, 0, ""},
		{"empty result for another account: no items", true, cachedAt("v0", jid.MustParse("romeo@example.net")), "", `get <query xmlns='jabber:iq:roster' ver=''/>`, 0, ""},
		{"unversioned result", true, cachedAt("v0", juliet), `<query xmlns='jabber:iq:roster'><item jid='a@b'/></query>`, `get <query xmlns='jabber:iq:roster' ver='v0'/>`, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := tt.cached
			if c == nil {
				c = NewCache()
			}
			s := &fakeSender{addr: jid.MustParse(julietFull), versioning: tt.versioning, reply: result(tt.reply)}
			require.NoError(t, Fetch(context.Background(), s, c))
			assert.Equal(t, []string{tt.wantSent}, s.sent)
			assert.Equal(t, tt.wantItems, c.Len())
			assert.Equal(t, tt.wantVer, c.Ver())
			assert.Equal(t, juliet, c.Account(), "the cache is bound to the account")
		})
	}
}

// cachedAt returns a cache holding three items at version ver for account.
func cachedAt(ver string, account jid.JID) *Cache {
	c := NewCache()
	if err := c.replace(account, ver, []Item{romeo, nurse, tybalt}); err != nil {
		panic(err)
	}
	return c
}

func TestFetchRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		reply     func(*stanza.IQ) (*stanza.IQ, error)
		malformed bool
		is        error
	}{
		{"another payload", result(`<query xmlns='jabber:iq:private'/>`), true, nil},
		{"bad item", result(`<query xmlns='jabber:iq:roster'><item jid='a@b' subscription='sometimes'/></query>`), true, nil},
		{"invalid jid", result(`<query xmlns='jabber:iq:roster'><item jid='@b'/></query>`), true, nil},
		{"no jid", result(`<query xmlns='jabber:iq:roster'><item/></query>`), true, nil},
		{"remove in a result", result(`<query xmlns='jabber:iq:roster'><item jid='a@b' subscription='remove'/></query>`), true, nil},
		{"item twice", result(`<query xmlns='jabber:iq:roster'><item jid='a@b'/><item jid='A@b'/></query>`), true, nil},
		{"iq error", func(req *stanza.IQ) (*stanza.IQ, error) {
			return nil, stanza.NewError(stanza.ServiceUnavailable, "")
		}, false, stanza.ServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := cachedAt("v0", juliet)
			w := c.Watch()
			defer w.Stop()
			w.Changes()
			s := &fakeSender{addr: jid.MustParse(julietFull), versioning: true, reply: tt.reply}
			err := Fetch(context.Background(), s, c)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "roster: fetch: ")
			if tt.malformed {
				assert.ErrorIs(t, err, ErrMalformed)
			}
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			}
			assert.Equal(t, []Item{nurse, romeo, tybalt}, c.Items(), "the cache is left as it was")
			assert.Equal(t, "v0", c.Ver())
			assert.Nil(t, w.Changes(), "watchers hear of nothing")
			assert.Zero(t, c.fetching)
		})
	}
}

func TestSetRemove(t *testing.T) {
	t.Parallel()
	full := Item{
		JID: jid.MustParse("Romeo@example.net"), Name: "Romeo", Subscription: SubscriptionBoth,
		Ask: true, Approved: true, Groups: []string{"Friends", "Lovers"},
	}
	tests := []struct {
		name string
		do   func(s session.Sender) error
		want string // sent; "" for nothing
		err  error
	}{
		{
			name: "set sends jid, name and groups only",
			do:   func(s session.Sender) error { return Set(context.Background(), s, full) },
			want: `set <query xmlns='jabber:iq:roster'><item jid='romeo@example.net' name='Romeo'><group>Friends</group><group>Lovers</group></item></query>`,
		},
		{
			name: "set a bare item",
			do:   func(s session.Sender) error { return Set(context.Background(), s, Item{JID: nurse.JID}) },
			want: `set <query xmlns='jabber:iq:roster'><item jid='nurse@example.com'/></query>`,
		},
		{
			name: "set with a remove subscription does not remove",
			do: func(s session.Sender) error {
				return Set(context.Background(), s, Item{JID: nurse.JID, Subscription: SubscriptionRemove})
			},
			want: `set <query xmlns='jabber:iq:roster'><item jid='nurse@example.com'/></query>`,
		},
		{
			name: "set keeps the caller's envelope",
			do: func(s session.Sender) error {
				return SetIQ(context.Background(), s, &stanza.IQ{Header: stanza.Header{ID: "x1"}, Type: stanza.IQGet}, Item{JID: nurse.JID})
			},
			want: `set <query xmlns='jabber:iq:roster'><item jid='nurse@example.com'/></query>`,
		},
		{
			name: "remove",
			do:   func(s session.Sender) error { return Remove(context.Background(), s, nurse.JID) },
			want: `set <query xmlns='jabber:iq:roster'><item jid='nurse@example.com' subscription='remove'/></query>`,
		},
		{
			name: "set without a JID",
			do:   func(s session.Sender) error { return Set(context.Background(), s, Item{Name: "x"}) },
			err:  ErrInvalidItem,
		},
		{
			name: "set with an empty group",
			do: func(s session.Sender) error {
				return Set(context.Background(), s, Item{JID: nurse.JID, Groups: []string{"a", ""}})
			},
			err: ErrInvalidItem,
		},
		{
			name: "set with a group twice",
			do: func(s session.Sender) error {
				return Set(context.Background(), s, Item{JID: nurse.JID, Groups: []string{"a", "b", "a"}})
			},
			err: ErrInvalidItem,
		},
		{
			name: "remove without a JID",
			do:   func(s session.Sender) error { return Remove(context.Background(), s, jid.JID{}) },
			err:  ErrInvalidItem,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &fakeSender{addr: jid.MustParse(julietFull), reply: result("")}
			err := tt.do(s)
			if tt.err != nil {
				assert.ErrorIs(t, err, tt.err)
				assert.Empty(t, s.sent, "nothing is sent")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, []string{tt.want}, s.sent)
		})
	}
}

func TestSetServerError(t *testing.T) {
	t.Parallel()
	s := &fakeSender{addr: jid.MustParse(julietFull), reply: func(*stanza.IQ) (*stanza.IQ, error) {
		return nil, stanza.NewError(stanza.NotAcceptable, "name too long")
	}}
	err := Set(context.Background(), s, nurse)
	assert.ErrorIs(t, err, stanza.NotAcceptable)
	assert.EqualError(t, err, "roster: set nurse@example.com: "+stanza.NewError(stanza.NotAcceptable, "name too long").Error())
	err = Remove(context.Background(), s, nurse.JID)
	assert.ErrorIs(t, err, stanza.NotAcceptable)
	var se *stanza.Error
	assert.ErrorAs(t, err, &se)
}

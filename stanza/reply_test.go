package stanza

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
)

func TestMessageReply(t *testing.T) {
	t.Parallel()
	romeo := jid.MustParse("romeo@example.net/orchard")
	room := jid.MustParse("coven@chat.shakespeare.lit")
	occupant := jid.MustParse("coven@chat.shakespeare.lit/thirdwitch")
	thread := Thread{ID: "e0ffe42b28561960c6b12b944a092794b9683a38", Parent: "7edac73ab41e45c4aafa7b2d7b749080"}
	tests := []struct {
		name string
		in   Message
		want Message
	}{
		{
			name: "chat",
			in: Message{Header: Header{ID: "m1", From: romeo, To: juliet, Lang: "en"}, Type: MessageChat,
				Body: "Art thou not Romeo?", Thread: thread, Subject: "s", Extensions: []Payload{mustRaw(t, `<active xmlns='http://jabber.org/protocol/chatstates'/>`)}},
			want: Message{Header: Header{To: romeo}, Type: MessageChat, Body: "Neither, fair saint", Thread: thread},
		},
		{
			name: "normal without thread",
			in:   Message{Header: Header{ID: "m2", From: romeo, To: juliet}, Type: MessageNormal, Body: "hi"},
			want: Message{Header: Header{To: romeo}, Type: MessageNormal, Body: "Neither, fair saint"},
		},
		{
			name: "type left out",
			in:   Message{Header: Header{From: romeo}, Body: "hi"},
			want: Message{Header: Header{To: romeo}, Type: MessageNormal, Body: "Neither, fair saint"},
		},
		{
			name: "headline",
			in:   Message{Header: Header{From: romeo}, Type: MessageHeadline, Body: "news"},
			want: Message{Header: Header{To: romeo}, Type: MessageHeadline, Body: "Neither, fair saint"},
		},
		{
			name: "groupchat goes to the room",
			in:   Message{Header: Header{ID: "g1", From: occupant, To: juliet}, Type: MessageGroupChat, Body: "Thrice", Thread: Thread{ID: "t1"}},
			want: Message{Header: Header{To: room}, Type: MessageGroupChat, Body: "Neither, fair saint", Thread: Thread{ID: "t1"}},
		},
		{
			name: "groupchat from the room itself",
			in:   Message{Header: Header{From: room}, Type: MessageGroupChat, Subject: "Cauldron"},
			want: Message{Header: Header{To: room}, Type: MessageGroupChat, Body: "Neither, fair saint"},
		},
		{
			name: "error becomes normal",
			in:   Message{Header: Header{ID: "e1", From: romeo}, Type: MessageError, Error: NewError(ItemNotFound, "")},
			want: Message{Header: Header{To: romeo}, Type: MessageNormal, Body: "Neither, fair saint"},
		},
		{
			name: "unknown type becomes normal",
			in:   Message{Header: Header{From: romeo}, Type: "bogus"},
			want: Message{Header: Header{To: romeo}, Type: MessageNormal, Body: "Neither, fair saint"},
		},
		{
			name: "groupchat without sender",
			in:   Message{Type: MessageGroupChat, Body: "from nowhere"},
			want: Message{Type: MessageGroupChat, Body: "Neither, fair saint"},
		},
		{
			name: "no sender",
			in:   Message{Header: Header{ID: "s1", To: juliet}, Type: MessageChat, Body: "from the server"},
			want: Message{Type: MessageChat, Body: "Neither, fair saint"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := tt.in.Reply("Neither, fair saint")
			assert.Equal(t, &tt.want, got)
			_, err := got.AppendXML(nil)
			assert.NoError(t, err)
		})
	}
}

func TestErrorReplies(t *testing.T) {
	t.Parallel()
	romeo := jid.MustParse("romeo@example.net/orchard")
	e := NewError(ServiceUnavailable, "")
	tests := []struct {
		name string
		got  Stanza
		want Stanza
		xml  string
	}{
		{
			name: "message",
			got: (&Message{Header: Header{ID: "m1", From: romeo, To: juliet, Lang: "en"}, Type: MessageChat,
				Body: "hi", Thread: Thread{ID: "t1"}}).ErrorReply(e),
			want: &Message{Header: Header{ID: "m1", From: juliet, To: romeo}, Type: MessageError, Error: e},
			xml:  `<message id='m1' from='juliet@example.com/balcony' to='romeo@example.net/orchard' type='error'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`,
		},
		{
			name: "message without id or to",
			got:  (&Message{Header: Header{From: romeo}, Type: MessageGroupChat}).ErrorReply(e),
			want: &Message{Header: Header{To: romeo}, Type: MessageError, Error: e},
			xml:  `<message to='romeo@example.net/orchard' type='error'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`,
		},
		{
			name: "presence",
			got: (&Presence{Header: Header{ID: "p1", From: romeo, To: juliet}, Type: PresenceSubscribe,
				Status: "let me in"}).ErrorReply(e),
			want: &Presence{Header: Header{ID: "p1", From: juliet, To: romeo}, Type: PresenceError, Error: e},
			xml:  `<presence id='p1' from='juliet@example.com/balcony' to='romeo@example.net/orchard' type='error'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, tt.got)
			b, err := tt.got.AppendXML(nil)
			require.NoError(t, err)
			assert.Equal(t, tt.xml, string(b))
		})
	}
}

package presence

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/disco"
	"github.com/parleyim/parley/stanza"
)

func rawPresence(t *testing.T, exts ...string) *stanza.Presence {
	t.Helper()
	p := &stanza.Presence{}
	for _, x := range exts {
		r, err := stanza.ParseRaw([]byte(x))
		require.NoError(t, err)
		p.Extensions = append(p.Extensions, r)
	}
	return p
}

// parsedCaps.find answers what disco.FindCaps answers, the first time and
// from memory.
func TestParsedCapsFind(t *testing.T) {
	t.Parallel()
	valid := disco.Caps{Hash: "sha-1", Node: "https://example.net/c", Ver: "QgayPKawpkPSDYmwT/WM94uAlu0="}
	tests := []struct {
		name string
		p    *stanza.Presence
		want disco.Caps
		ok   bool
	}{
		{name: "none", p: rawPresence(t, `<nick xmlns='http://jabber.org/protocol/nick'>R</nick>`)},
		{name: "valid", p: rawPresence(t, `<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://example.net/c' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/>`), want: valid, ok: true},
		{name: "after another extension", p: rawPresence(t, `<nick xmlns='http://jabber.org/protocol/nick'>R</nick>`,
			`<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://example.net/c' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/>`), want: valid, ok: true},
		{name: "legacy, without hash", p: rawPresence(t, `<c xmlns='http://jabber.org/protocol/caps' node='n' ver='1.0'/>`)},
		{name: "a Caps value", p: &stanza.Presence{Extensions: []stanza.Payload{valid}}, want: valid, ok: true},
		{name: "over the length bound", p: rawPresence(t, `<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='`+strings.Repeat("n", maxParsedCapsLen)+`' ver='v'/>`),
			want: disco.Caps{Hash: "sha-1", Node: strings.Repeat("n", maxParsedCapsLen), Ver: "v"}, ok: true},
	}
	var pc parsedCaps
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantC, wantOK := disco.FindCaps(tt.p)
			require.Equal(t, tt.want, wantC, "what disco.FindCaps says")
			require.Equal(t, tt.ok, wantOK)
			for i := range 2 {
				c, ok := pc.find(tt.p)
				assert.Equal(t, tt.want, c, "lookup %d", i)
				assert.Equal(t, tt.ok, ok, "lookup %d", i)
			}
		})
	}
	pc.mu.Lock()
	assert.Len(t, pc.seen, 2, "each distinct element under the length bound, valid or not, once")
	pc.mu.Unlock()
}

func TestParsedCapsBounded(t *testing.T) {
	t.Parallel()
	var pc parsedCaps
	for i := range maxParsedCaps + 10 {
		p := rawPresence(t, `<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='`+strconv.Itoa(i)+`'/>`)
		c, ok := pc.find(p)
		require.True(t, ok)
		require.Equal(t, strconv.Itoa(i), c.Ver)
		pc.mu.Lock()
		n := len(pc.seen)
		pc.mu.Unlock()
		require.LessOrEqual(t, n, maxParsedCaps)
	}
}

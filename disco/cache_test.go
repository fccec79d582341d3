package disco_test

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/disco"
	"github.com/parleyim/parley/internal/testkit/scripted"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

// The XEP-0115 §5.2 example, as an entity would answer it.
const (
	exodusVer  = "QgayPKawpkPSDYmwT/WM94uAlu0="
	exodusNode = "http://code.google.com/p/exodus"
	exodusInfo = `<identity category='client' name='Exodus 0.9.1' type='pc'/>
<feature var='http://jabber.org/protocol/caps'/>
<feature var='http://jabber.org/protocol/disco#info'/>
<feature var='http://jabber.org/protocol/disco#items'/>
<feature var='http://jabber.org/protocol/muc'/>`
)

var exodusCaps = disco.Caps{Hash: "sha-1", Node: exodusNode, Ver: exodusVer}

// infoReply answers a disco#info query from the queried entity with the
// given query children.
func infoReply(children string) func(iq *stanza.IQ, raw *stanza.Raw) string {
	return func(iq *stanza.IQ, raw *stanza.Raw) string {
		node := raw.Attr("node")
		return "<iq type='result' id='$id' from='" + iq.To.String() + "'><query xmlns='http://jabber.org/protocol/disco#info' node='" + node + "'>" + children + "</query></iq>"
	}
}

func TestCacheLookup(t *testing.T) {
	t.Parallel()
	romeo := jid.MustParse("romeo@example.net/orchard")
	tests := []struct {
		name  string
		caps  disco.Caps
		reply func(iq *stanza.IQ, raw *stanza.Raw) string
		err   error
		// queries is how many disco#info queries the entity should see.
		queries int32
	}{
		{name: "honest entity", caps: exodusCaps, reply: infoReply(exodusInfo), queries: 1},
		{
			name:    "lying entity: an extra feature",
			caps:    exodusCaps,
			reply:   infoReply(exodusInfo + "<feature var='urn:xmpp:evil'/>"),
			err:     disco.ErrVerMismatch,
			queries: 1,
		},
		{
			name:    "ill-formed: duplicate feature",
			caps:    exodusCaps,
			reply:   infoReply(exodusInfo + "<feature var='http://jabber.org/protocol/muc'/>"),
			err:     disco.ErrIllFormed,
			queries: 1,
		},
		{
			name: "entity answers with an error",
			caps: exodusCaps,
			reply: func(*stanza.IQ, *stanza.Raw) string {
				return `<iq type='error' id='$id' from='romeo@example.net/orchard'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`
			},
			err:     stanza.ItemNotFound,
			queries: 1,
		},
		{
			name:    "unsupported hash: no query",
			caps:    disco.Caps{Hash: "md5", Node: exodusNode, Ver: exodusVer},
			reply:   infoReply(exodusInfo),
			err:     disco.ErrUnsupportedHash,
			queries: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var n atomic.Int32
			var node atomic.Value
			s, _ := dial(t, nil, replier(t, &n, func(iq *stanza.IQ, raw *stanza.Raw) string {
				node.Store(raw.Attr("node"))
				return tt.reply(iq, raw)
			}))
			cache := disco.NewCache(0)
			for range 2 {
				info, err := cache.Lookup(ctxT(t), s, romeo, tt.caps)
				if tt.err != nil {
					assert.ErrorIs(t, err, tt.err)
					assert.Nil(t, info)
					continue
				}
				require.NoError(t, err)
				assert.True(t, info.HasFeature("http://jabber.org/protocol/muc"))
				assert.Empty(t, info.Node)
			}
			if tt.err != nil {
				// Failures are not cached: each lookup asks again.
				assert.Equal(t, 2*tt.queries, n.Load())
				assert.Equal(t, 0, cache.Len())
				_, ok := cache.Get(tt.caps.Hash, tt.caps.Ver)
				assert.False(t, ok)
			} else {
				assert.Equal(t, tt.queries, n.Load(), "second lookup should come from the cache")
				assert.Equal(t, 1, cache.Len())
				_, ok := cache.Get(tt.caps.Hash, tt.caps.Ver)
				assert.True(t, ok)
			}
			if tt.queries > 0 {
				assert.Equal(t, exodusNode+"#"+exodusVer, node.Load())
			}
		})
	}
}

func TestCacheLiarDoesNotPoison(t *testing.T) {
	t.Parallel()
	mallory := jid.MustParse("mallory@evil.example/x")
	romeo := jid.MustParse("romeo@example.net/orchard")
	s, _ := dial(t, nil, replier(t, nil, func(iq *stanza.IQ, raw *stanza.Raw) string {
		if iq.To.Equal(mallory) {
			return infoReply(exodusInfo+"<feature var='urn:xmpp:evil'/>")(iq, raw)
		}
		return infoReply(exodusInfo)(iq, raw)
	}))
	cache := disco.NewCache(0)
	_, err := cache.Lookup(ctxT(t), s, mallory, exodusCaps)
	require.ErrorIs(t, err, disco.ErrVerMismatch)
	info, err := cache.Lookup(ctxT(t), s, romeo, exodusCaps)
	require.NoError(t, err)
	assert.False(t, info.HasFeature("urn:xmpp:evil"))
	// Now mallory's claim is answered from the verified entry.
	info, err = cache.Lookup(ctxT(t), s, mallory, exodusCaps)
	require.NoError(t, err)
	assert.False(t, info.HasFeature("urn:xmpp:evil"))
}

func TestCacheConcurrentLookupsShareOneQuery(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	s, c := dial(t, nil, nil)
	cache := disco.NewCache(0)
	const lookups = 8
	var wg sync.WaitGroup
	errs := make(chan error, lookups)
	for range lookups {
		wg.Go(func() {
			_, err := cache.Lookup(ctxT(t), s, jid.MustParse("romeo@example.net/orchard"), exodusCaps)
			errs <- err
		})
	}
	// Answer the one query only after giving the others time to pile up.
	el := c.Received()
	n.Add(1)
	iq, err := scripted.IQ(el)
	require.NoError(t, err)
	time.Sleep(50 * time.Millisecond)
	raw, _ := iq.Raw()
	c.Send(strings.ReplaceAll(infoReply(exodusInfo)(iq, raw), "$id", iq.ID))
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	assert.Equal(t, int32(1), n.Load())
}

func TestCacheBounded(t *testing.T) {
	t.Parallel()
	cache := disco.NewCache(2)
	infos := make([]*disco.Info, 3)
	vers := make([]string, 3)
	for i := range infos {
		infos[i] = &disco.Info{
			Identities: []disco.Identity{{Category: "client", Type: "pc"}},
			Features:   []string{"urn:feature:" + string(rune('a'+i))},
		}
		var err error
		vers[i], err = disco.Ver(infos[i], "sha-1")
		require.NoError(t, err)
	}
	require.NoError(t, cache.Add(infos[0], "sha-1", vers[0]))
	require.NoError(t, cache.Add(infos[1], "sha-1", vers[1]))
	_, ok := cache.Get("sha-1", vers[0]) // 0 is now the most recent
	require.True(t, ok)
	require.NoError(t, cache.Add(infos[2], "sha-1", vers[2]))
	assert.Equal(t, 2, cache.Len())
	_, ok = cache.Get("sha-1", vers[1])
	assert.False(t, ok, "least recently used entry kept")
	_, ok = cache.Get("sha-1", vers[0])
	assert.True(t, ok)
	_, ok = cache.Get("sha-1", vers[2])
	assert.True(t, ok)

	// Add refuses what does not match.
	assert.ErrorIs(t, cache.Add(infos[0], "sha-1", vers[1]), disco.ErrVerMismatch)

	// Entries are copies.
	got, _ := cache.Get("sha-1", vers[0])
	got.Features[0] = "changed"
	again, _ := cache.Get("sha-1", vers[0])
	assert.Equal(t, "urn:feature:a", again.Features[0])
}

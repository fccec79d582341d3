package xmpptest_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
	"github.com/parleyim/parley/xmpptest"
)

// FuzzStreamManagement authenticates alice by hand and sends arbitrary
// bytes where she would bind (or resume, XEP-0198): the seeds bind,
// enable stream management and then send <r/>, <a/> with all kinds of h,
// <resume/> with all kinds of previd and h. The server must not panic,
// must let alice's resource go (its hibernation is 1 ms long) and must
// never pass bob anything his session cannot read.
func FuzzStreamManagement(f *testing.F) {
	const (
		bind   = "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>raw</resource></bind></iq>"
		enable = "<enable xmlns='urn:xmpp:sm:3' resume='true'/>"
		toBob  = "<message to='bob@example.test/fuzz'><body>x</body></message>"
	)
	for _, seed := range []string{
		"<resume xmlns='urn:xmpp:sm:3' previd='nope' h='0'/>",
		"<resume xmlns='urn:xmpp:sm:3' h='x'/>" + bind,
		"<resume xmlns='urn:xmpp:sm:3' previd='' h='4294967295'/>" + bind,
		enable + bind + enable,
		bind + enable + "<r xmlns='urn:xmpp:sm:3'/>" + toBob + "<r xmlns='urn:xmpp:sm:3'/>",
		bind + enable + "<a xmlns='urn:xmpp:sm:3' h='0'/>",
		bind + enable + "<a xmlns='urn:xmpp:sm:3' h='1'/>",
		bind + enable + "<a xmlns='urn:xmpp:sm:3' h='-1'/>",
		bind + enable + "<a xmlns='urn:xmpp:sm:3' h='4294967296'/>",
		bind + enable + "<a xmlns='urn:xmpp:sm:3' h=' 1'/>",
		bind + enable + "<a xmlns='urn:xmpp:sm:3'/>",
		bind + "<a xmlns='urn:xmpp:sm:3' h='0'/>",
		bind + "<r xmlns='urn:xmpp:sm:3'/>",
		bind + enable + "<resume xmlns='urn:xmpp:sm:3' previd='x' h='0'/>",
		bind + "<enable xmlns='urn:xmpp:sm:3'/>" + toBob + "<x xmlns='urn:xmpp:sm:3'/>",
		bind + enable + "<presence/><message to='alice@example.test/raw'><body>self</body></message><r xmlns='urn:xmpp:sm:3'/></stream:stream>",
	} {
		f.Add([]byte(seed))
	}
	srv, err := xmpptest.Start(&xmpptest.Config{ResumeTimeout: time.Millisecond})
	require.NoError(f, err)
	f.Cleanup(func() { _ = srv.Close() })
	for _, u := range []string{"alice", "bob"} {
		_, err := srv.AddUser(u, "pw-"+u)
		require.NoError(f, err)
	}
	alice := jid.MustParse("alice@example.test")
	ctx := context.Background()
	bob, err := srv.Connect(ctx, jid.MustParse("bob@example.test/fuzz"), "pw-bob", nil)
	require.NoError(f, err)
	f.Cleanup(func() { _ = bob.Close(ctx) })
	require.NoError(f, bob.Send(ctx, &stanza.Presence{}))

	f.Fuzz(func(t *testing.T, data []byte) {
		c := dialRaw(t, srv)
		pipe := c.conn
		domain := srv.Domain().String()
		c.open(domain)
		c.startTLS()
		c.open(domain)
		c.auth("alice", "pw-alice")
		c.rd.Restart()
		c.open(domain)
		drained := make(chan struct{})
		go func() {
			defer close(drained)
			_, _ = io.Copy(io.Discard, c.conn)
		}()
		_, _ = c.conn.Write(data)
		pipe.Close()
		<-drained
		require.Eventually(t, func() bool { return len(srv.Resources(alice)) == 0 }, 10*time.Second, time.Millisecond,
			"the server kept alice's resource")
		select {
		case <-bob.Done():
			t.Fatalf("bob's session ended: %v", bob.Err())
		default:
		}
	})
}

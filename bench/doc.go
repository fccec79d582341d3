// Package bench compares Parley with other Go XMPP client libraries on
// the same server and the same machine, in the same run. It is a module
// of its own so that Parley itself does not depend on them; nothing in it
// runs in CI.
//
//	cd bench && go test -run '^$' -bench . -benchtime 1x
//
// BenchmarkIdleSession logs N accounts in (PARLEY_BENCH_SESSIONS, default
// 10,000) over STARTTLS to an xmpptest server that runs in a child process,
// so that only the clients' memory is counted, and reports heap in use
// plus stack in use after GC, divided by N, for each library. Each library
// is used as its documentation says a client reads its stream: Parley's
// session reads by itself; mellium.im/xmpp needs Session.Serve on a
// goroutine; github.com/xmppo/go-xmpp needs a goroutine calling Recv.
package bench

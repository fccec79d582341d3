// Package bench compares Parley with other Go XMPP client libraries —
// mellium.im/xmpp, gosrc.io/xmpp and github.com/xmppo/go-xmpp — on the
// same machine, in the same run. It is a module of its own so that Parley
// itself does not depend on them; nothing in it runs in CI, which only
// vets it.
//
//	cd bench && go test -run '^TestCompare$' -compare -timeout 60m
//
// TestCompare measures, in interleaved rounds: decoding a seeded corpus of
// stanzas through each library's receive path (go-xmpp's, unexported, is
// reproduced in goxmpp_test.go) and the encoding/xml RawToken floor;
// encoding a chat message, with the EncodeToken floor; CPU time per
// message received and sent between two clients of one library through
// Prosody, with a floor that only moves the bytes; and memory per idle
// session, with and without TLS. It writes results/results.md,
// results/ratios.svg and the results in README.md, which says what each
// part does and which library decodes what into typed values.
//
// BenchmarkIdleSession is the older memory measure: N accounts
// (PARLEY_BENCH_SESSIONS, default 10,000) over STARTTLS to an xmpptest
// server in a child process, heap plus stack per session after GC:
//
//	cd bench && go test -run '^$' -bench IdleSession -benchtime 1x
//
// A plain go test runs only TestDecodersAgree and TestEncodersAgree, which
// check that the libraries read and write the same stanzas.
package bench

// Package streamrec records what Prosody and ejabberd send to a Parley
// client: the regression corpus of internal/wire/testdata/streams, which
// internal/wire's tests read with the stream reader and with plain
// encoding/xml and compare.
//
// The recorder is an interop test (build tag interop). It starts each
// server with internal/testkit/xmppd, drives a few Parley sessions
// through the scenarios the corpus covers, and takes the bytes each
// session received from its Config.Trace. Without flags it records into a
// temporary folder and checks what it got; with -write it replaces the
// files in internal/wire/testdata/streams:
//
//	PARLEY_REQUIRE_SERVERS=1 go test -p 1 -tags interop -run TestRecordStreams ./internal/testkit/streamrec/ -write
//
// internal/wire/testdata/streams/README.md says what each file holds.
package streamrec

// Package interop holds Parley's interoperability tests: the session
// package (RFC 6120 client streams: STARTTLS and direct TLS, SASL, resource
// binding) and XEP-0199 pings against real Prosody and ejabberd servers that
// internal/testkit/xmppd starts on 127.0.0.1.
//
// The tests are behind the build tag interop, so that a plain go test ./...
// needs nothing but Go. Install the servers with scripts/install-servers.sh,
// then run
//
//	go test -race -count=1 -tags interop ./internal/testkit/interop
//
// With PARLEY_REQUIRE_SERVERS=1 a missing server fails the tests instead of
// skipping them. The feature packages (disco, ping) keep their interop
// tests beside their code and start servers with internal/testkit/xmppd
// themselves: no package under internal/ imports session.
package interop

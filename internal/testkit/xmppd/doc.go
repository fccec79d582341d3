// Package xmppd starts real XMPP server daemons, Prosody and ejabberd from
// the distribution's packages, on 127.0.0.1 for Parley's interop tests.
//
// Each [Start] renders a private configuration into a fresh temporary
// folder (configuration, self-signed certificate, data, spool, logs,
// pidfile, Erlang cookie), picks free ports on 127.0.0.1, creates the
// accounts of [Options.Users], launches the server in the foreground as a
// child of the test process and waits until its client port (RFC 6120
// STARTTLS, and optionally XEP-0368 direct TLS) accepts connections.
// [Server.Stop], registered with testing.TB.Cleanup, ends the server's
// whole process group and removes the folder. Several instances of either
// kind run side by side: ports, ejabberd node names, Erlang distribution
// ports and folders are all distinct. Servers never listen on anything but
// 127.0.0.1, server-to-server is off, and the servers never dial out.
//
// Readiness is read from the kernel, not guessed from a dial: Start waits
// until the server's own processes listen on the chosen ports (so a port
// taken by someone else is noticed, and Start retries with fresh ports),
// and for ejabberd also until it logs that it has started. Accounts are
// made with prosodyctl before Prosody starts, and with in-band registration
// (XEP-0077) once ejabberd is up, which spares one Erlang VM boot per
// account; Server.AddUser works on both while they run.
//
// In-band registration is on for every instance, from loopback only
// (Prosody: allow_registration with allowlist_registration_only and the
// default allowlist 127.0.0.1 and ::1; ejabberd: mod_register with
// ip_access allowing 127.0.0.0/8 and ::1), so that tests create, change
// and remove accounts the way clients do; ejabberd's own account setup
// needs it.
//
// Start skips the calling test when the server's binaries are missing;
// scripts/install-servers.sh installs them. When the environment variable
// PARLEY_REQUIRE_SERVERS is set to 1, a missing server fails the test
// instead, so a CI job cannot pass by skipping everything.
//
// PARLEY_EJABBERDCTL names the ejabberdctl to use instead of the installed
// one, to run another ejabberd release unpacked beside it (dpkg-deb -x of
// its packages into a folder): a copy of that release's ejabberdctl whose
// ERL_LIBS line names the unpacked library folders, since the server's
// environment is not inherited from the test's.
//
// The package is for tests only. Of Parley it imports only internal/ns and
// internal/serverside/selfsigned, none of the client's code. Its own tests that start servers, like every interop test, are behind the
// build tag interop (go test -tags interop ./internal/...), so that a plain
// go test ./... needs nothing but Go.
package xmppd

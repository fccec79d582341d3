//go:build interop

package interop_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/testkit/xmppd"
	"github.com/parleyim/parley/sasl"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// offered is what each server offers after STARTTLS, in its own order, by
// password storage and by the TLS version the client allows. Prosody offers
// -PLUS only under TLS 1.2 (it knows tls-unique only); ejabberd offers it
// under TLS 1.3 too, where Go's crypto/tls has no tls-unique, so a Parley
// client cannot use it there.
var offered = map[xmppd.Kind]map[storage]map[tlsVersion][]string{
	xmppd.Prosody: {
		hashed: {
			tls13: {"PLAIN", "SCRAM-SHA-1"},
			tls12: {"PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-1-PLUS"},
		},
		plaintext: {
			tls13: {"SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"},
			tls12: {"SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS"},
		},
	},
	xmppd.Ejabberd: {
		hashed: {
			tls13: {"PLAIN", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1"},
			tls12: {"PLAIN", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1"},
		},
		plaintext: {
			tls13: {"PLAIN", "SCRAM-SHA-512-PLUS", "SCRAM-SHA-512", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1"},
			tls12: {"PLAIN", "SCRAM-SHA-512-PLUS", "SCRAM-SHA-512", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1"},
		},
	},
}

// outcome is how a login ends.
type outcome string

const (
	loggedIn      outcome = "pass"
	notOffered    outcome = "not offered"       // sasl.ErrNoMechanism, nothing in common
	unusable      outcome = "offered, unusable" // sasl.ErrNoMechanism: -PLUS without tls-unique
	notAuthorized outcome = "not-authorized"    // the server's SASL failure
)

// expectFor derives the outcome of a login pinned to mech from offered.
func expectFor(kind xmppd.Kind, st storage, v tlsVersion, mech string) outcome {
	switch {
	case !slices.Contains(offered[kind][st][v], mech):
		return notOffered
	case strings.HasSuffix(mech, "-PLUS") && v == tls13:
		return unusable
	}
	return loggedIn
}

// loginCase is one login. want is per server kind; a missing entry means
// loggedIn.
type loginCase struct {
	name  string
	spec  dialSpec
	prefs []sasl.Mechanism // nil: sasl.DefaultMechanisms()
	want  map[xmppd.Kind]outcome
	// wantMech is the mechanism the session must pick from prefs, per kind
	// ("" : not checked beyond a single pinned mechanism).
	wantMech map[xmppd.Kind]string
}

// loginCases returns the login table for kind: every mechanism pinned alone
// for each storage and TLS version, the default preference list, direct
// TLS and wrong credentials.
func loginCases(kind xmppd.Kind) []loginCase {
	var cases []loginCase
	for _, st := range []storage{hashed, plaintext} {
		for _, v := range []tlsVersion{tls13, tls12} {
			for _, m := range sasl.DefaultMechanisms() {
				cases = append(cases, loginCase{
					name:  fmt.Sprintf("%s/%s/%s", st, v, m.Name()),
					spec:  dialSpec{store: st, tls: v},
					prefs: []sasl.Mechanism{m},
					want:  map[xmppd.Kind]outcome{kind: expectFor(kind, st, v, m.Name())},
				})
			}
		}
	}
	return append(cases,
		// The default preference list picks the strongest usable
		// mechanism: never a -PLUS one under TLS 1.3.
		loginCase{
			name: "hashed/TLS1.3/defaults",
			spec: dialSpec{store: hashed, tls: tls13},
			wantMech: map[xmppd.Kind]string{
				xmppd.Prosody: "SCRAM-SHA-1", xmppd.Ejabberd: "SCRAM-SHA-1"},
		},
		loginCase{
			name: "hashed/TLS1.2/defaults",
			spec: dialSpec{store: hashed, tls: tls12},
			wantMech: map[xmppd.Kind]string{
				xmppd.Prosody: "SCRAM-SHA-1-PLUS", xmppd.Ejabberd: "SCRAM-SHA-1-PLUS"},
		},
		loginCase{
			name: "plaintext/TLS1.3/defaults",
			spec: dialSpec{store: plaintext, tls: tls13},
			wantMech: map[xmppd.Kind]string{
				xmppd.Prosody: "SCRAM-SHA-256", xmppd.Ejabberd: "SCRAM-SHA-512"},
		},
		loginCase{
			name: "plaintext/TLS1.2/defaults",
			spec: dialSpec{store: plaintext, tls: tls12},
			wantMech: map[xmppd.Kind]string{
				xmppd.Prosody: "SCRAM-SHA-256-PLUS", xmppd.Ejabberd: "SCRAM-SHA-512-PLUS"},
		},
		loginCase{
			name: "direct-TLS/TLS1.3/defaults",
			spec: dialSpec{store: hashed, tls: tls13, direct: true},
			wantMech: map[xmppd.Kind]string{
				xmppd.Prosody: "SCRAM-SHA-1", xmppd.Ejabberd: "SCRAM-SHA-1"},
		},
		loginCase{
			name:  "direct-TLS/TLS1.2/SCRAM-SHA-1-PLUS",
			spec:  dialSpec{store: hashed, tls: tls12, direct: true},
			prefs: []sasl.Mechanism{sasl.ScramSHA1Plus},
		},
		loginCase{
			name:  "direct-TLS/TLS1.3/PLAIN",
			spec:  dialSpec{store: hashed, tls: tls13, direct: true},
			prefs: []sasl.Mechanism{sasl.Plain},
		},
		loginCase{
			name:  "wrong-password/SCRAM-SHA-1",
			spec:  dialSpec{store: hashed, tls: tls13, password: "not-the-password"},
			prefs: []sasl.Mechanism{sasl.ScramSHA1},
			want:  map[xmppd.Kind]outcome{kind: notAuthorized},
		},
		loginCase{
			name:  "wrong-password/SCRAM-SHA-1-PLUS",
			spec:  dialSpec{store: hashed, tls: tls12, password: "not-the-password"},
			prefs: []sasl.Mechanism{sasl.ScramSHA1Plus},
			want:  map[xmppd.Kind]outcome{kind: notAuthorized},
		},
		loginCase{
			name:  "wrong-password/PLAIN",
			spec:  dialSpec{store: hashed, tls: tls13, password: "not-the-password"},
			prefs: []sasl.Mechanism{sasl.Plain},
			want:  map[xmppd.Kind]outcome{kind: notAuthorized},
		},
		loginCase{
			name:  "unknown-user/SCRAM-SHA-256",
			spec:  dialSpec{store: plaintext, tls: tls13, user: "nobody", password: "whatever"},
			prefs: []sasl.Mechanism{sasl.ScramSHA256},
			want:  map[xmppd.Kind]outcome{kind: notAuthorized},
		},
	)
}

func runLoginCases(t *testing.T, e *env) {
	for _, tt := range loginCases(e.kind) {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := tt.want[e.kind]
			if want == "" {
				want = loggedIn
			}
			prefs := tt.prefs
			if prefs == nil {
				prefs = sasl.DefaultMechanisms()
			}
			spec := tt.spec
			mechs, chosen := recorded(prefs)
			spec.tune = func(c *session.Config) { c.Mechanisms = mechs }
			s, trace, err := e.dial(t, spec)
			names, bindings := chosen.started()
			t.Logf("matrix: %s %s %s %s -> %s (started %v)", e.kind, tt.spec.store, tt.spec.tls, tt.name, got(err), names)

			switch want {
			case loggedIn:
				require.NoError(t, err)
				require.Len(t, names, 1, "exactly one mechanism is started")
				if w := tt.wantMech[e.kind]; w != "" {
					assert.Equal(t, w, names[0], "mechanism chosen")
				} else if len(prefs) == 1 {
					assert.Equal(t, prefs[0].Name(), names[0])
				}
				if strings.HasSuffix(names[0], "-PLUS") {
					assert.Equal(t, sasl.TLSUnique, bindings[0], "channel binding type")
				} else {
					assert.Empty(t, bindings[0], "no channel binding without -PLUS")
				}
				assert.ElementsMatch(t, offered[e.kind][tt.spec.store][tt.spec.tls], s.Negotiation().Mechanisms, "mechanisms offered")
				assert.Equal(t, names[0], s.Negotiation().Mechanism, "the mechanism the session reports")
				require.NotNil(t, s.TLS())
				wantVersion := uint16(0x0304)
				if tt.spec.tls == tls12 {
					wantVersion = 0x0303
				}
				assert.Equal(t, wantVersion, s.TLS().Version, "TLS version")
				if tt.spec.direct {
					assert.NotContains(t, trace.String(), "<starttls", "no STARTTLS on a direct TLS connection")
				} else {
					assert.Contains(t, trace.String(), "SEND <starttls")
				}
				assert.Equal(t, "alice@"+e.servers[hashed].Domain, s.Addr().Bare().String())
				assert.NotEmpty(t, s.Addr().Resourcepart())
				assert.NoError(t, s.Err())
			case notOffered, unusable:
				require.Error(t, err)
				assert.ErrorIs(t, err, sasl.ErrNoMechanism)
				assert.Empty(t, names, "no mechanism may start")
				if want == unusable {
					assert.ErrorContains(t, err, "unusable")
				} else {
					assert.ErrorContains(t, err, "no mechanism in common")
				}
			case notAuthorized:
				require.Error(t, err)
				assert.ErrorIs(t, err, sasl.NotAuthorized)
				var f *sasl.Failure
				assert.ErrorAs(t, err, &f)
				var se *stanza.StreamError
				assert.False(t, errors.As(err, &se), "a SASL failure is not a stream error: %v", err)
			}
		})
	}
}

// got names the outcome err shows, for the matrix in the log.
func got(err error) string {
	if err == nil {
		return string(loggedIn)
	}
	return "error: " + err.Error()
}

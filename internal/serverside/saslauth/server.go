// Package saslauth implements the server side of the SASL mechanisms of
// package sasl, for the servers Parley's tests run (xmpptest, the scripted
// peer of internal/testkit/scripted): SCRAM-SHA-1, SCRAM-SHA-256 and
// SCRAM-SHA-512 (RFC 5802, RFC 7677), their -PLUS variants with
// tls-exporter (RFC 9266) and tls-unique (RFC 5929) channel binding, and
// PLAIN (RFC 4616). Failures carry the conditions of RFC 6120 §6.5 as
// *sasl.Failure values. It is server-side code: the client never runs it.
//
// It is written independently of the client in package sasl, so that tests
// of one against the other check both; the two share only the functions
// and grammar checks of internal/scram.
package saslauth

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"slices"

	"github.com/parleyim/parley/sasl"
)

// DefaultIterations is the SCRAM iteration count used when
// Server.Iterations is zero.
const DefaultIterations = 4096

// Server authenticates clients. Its fields are read, never written, by its
// methods: set them before first use; then a Server is safe for use by
// several goroutines at once.
type Server struct {
	// Lookup returns the password of a user (the SASL simple user name,
	// i.e. the JID's localpart), or false if there is no such user.
	Lookup func(username string) (password string, ok bool)
	// Domain is the server's domain. An authorization identity is accepted
	// when it is empty or the user's bare JID username@Domain; anything
	// else fails with invalid-authzid.
	Domain string
	// Iterations is the SCRAM iteration count; zero means
	// DefaultIterations.
	Iterations int
	// Salt returns the SCRAM salt of a user. Nil means a fresh random
	// 16-byte salt for each exchange (the test server stores passwords,
	// not salted keys, so any salt will do).
	Salt func(username string) []byte
	// NoPlain leaves PLAIN out of the offered mechanisms.
	NoPlain bool
	// NoPlus leaves the -PLUS mechanisms out, as a server that cannot
	// bind does; a client's GS2 flag "y" is then no sign of a downgrade.
	NoPlus bool
	// Certificate is the server's own certificate, for the
	// tls-server-end-point channel binding (which a server cannot read
	// from its connection state); nil means that binding is refused.
	Certificate *x509.Certificate

	// nonce makes the server's part of the SCRAM nonce; tests replace it
	// to replay published exchanges.
	nonce func() (string, error)
}

var scramHashes = []string{"SCRAM-SHA-512", "SCRAM-SHA-256", "SCRAM-SHA-1"}

// Mechanisms returns the mechanism names to offer on a stream whose TLS
// connection state is state (nil when unencrypted): the -PLUS variants when
// a channel binding can be verified on it, the SCRAM family, and PLAIN
// under TLS.
func (s *Server) Mechanisms(state *tls.ConnectionState) []string {
	var names []string
	plus := s.offersPlus(state)
	for _, h := range scramHashes {
		if plus {
			names = append(names, h+"-PLUS")
		}
		names = append(names, h)
	}
	if state != nil && !s.NoPlain {
		names = append(names, "PLAIN")
	}
	return names
}

// offersPlus reports whether the -PLUS mechanisms are offered on state.
func (s *Server) offersPlus(state *tls.ConnectionState) bool {
	return !s.NoPlus && len(ChannelBindingTypes(state)) > 0
}

// ChannelBindingTypes returns the channel binding types the server can
// verify on the connection (to advertise under XEP-0440): tls-exporter on
// TLS 1.3, tls-unique on TLS 1.2.
func ChannelBindingTypes(state *tls.ConnectionState) []string {
	var types []string
	for _, typ := range []string{sasl.TLSExporter, sasl.TLSUnique} {
		if _, err := sasl.ChannelBindingFor(state, typ); err == nil {
			types = append(types, typ)
		}
	}
	return types
}

// binding computes the channel binding of type typ that the client must
// have sent on the connection.
func (s *Server) binding(state *tls.ConnectionState, typ string) (*sasl.ChannelBinding, error) {
	if typ != sasl.TLSServerEndPoint {
		return sasl.ChannelBindingFor(state, typ)
	}
	if state == nil || s.Certificate == nil {
		return nil, fmt.Errorf("%w: no server certificate for tls-server-end-point", sasl.ErrNoBinding)
	}
	return sasl.ServerEndPoint(s.Certificate)
}

// Exchange is one authentication in progress on the server. It is used by
// one goroutine.
type Exchange struct {
	step     func(response []byte) (challenge []byte, done bool, err error)
	username string
	done     bool
}

// Start begins an authentication with the mechanism the client named in
// <auth/>. initial is the initial response, nil when the client sent none
// (then the server sends an empty challenge). It returns the exchange and
// either a challenge to send (done false) or, when done, the additional
// data for <success/> (nil for none). A non-nil error is a *sasl.Failure
// to send as <failure/>.
func (s *Server) Start(mech string, initial []byte, state *tls.ConnectionState) (ex *Exchange, challenge []byte, done bool, err error) {
	if !slices.Contains(s.Mechanisms(state), mech) {
		if mech == "PLAIN" && state == nil && !s.NoPlain {
			return nil, nil, false, fail(sasl.EncryptionRequired, "PLAIN needs TLS")
		}
		return nil, nil, false, fail(sasl.InvalidMechanism, fmt.Sprintf("mechanism %q is not offered", mech))
	}
	ex = &Exchange{}
	if mech == "PLAIN" {
		ex.step = func(resp []byte) ([]byte, bool, error) { return s.plain(ex, resp) }
	} else {
		sc, err := s.newSCRAM(ex, mech, state)
		if err != nil {
			return nil, nil, false, err
		}
		ex.step = sc.step
	}
	if initial == nil {
		return ex, []byte{}, false, nil
	}
	challenge, done, err = ex.Next(initial)
	return ex, challenge, done, err
}

// Next answers a <response/>: the next challenge, or done with the
// additional data for <success/>, or a *sasl.Failure.
func (e *Exchange) Next(response []byte) (challenge []byte, done bool, err error) {
	if e.done {
		return nil, false, fail(sasl.MalformedRequest, "exchange already ended")
	}
	challenge, done, err = e.step(response)
	if err != nil || done {
		e.done = true
	}
	return challenge, done, err
}

// Username returns the authenticated user's name once Next (or Start) has
// reported success, and "" before.
func (e *Exchange) Username() string { return e.username }

// iterations returns the SCRAM iteration count.
func (s *Server) iterations() int {
	if s.Iterations > 0 {
		return s.Iterations
	}
	return DefaultIterations
}

func (s *Server) salt(username string) ([]byte, error) {
	if s.Salt != nil {
		if salt := s.Salt(username); len(salt) > 0 {
			return salt, nil
		}
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("saslauth: reading salt: %w", err)
	}
	return salt, nil
}

func (s *Server) serverNonce() (string, error) {
	if s.nonce != nil {
		return s.nonce()
	}
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("saslauth: reading nonce: %w", err)
	}
	return base64.RawStdEncoding.EncodeToString(b), nil
}

// authzidOK reports whether the authorization identity may be used by the
// user: empty, or the user's bare JID.
func (s *Server) authzidOK(username, authzid string) bool {
	return authzid == "" || (s.Domain != "" && authzid == username+"@"+s.Domain)
}

func fail(c sasl.Condition, text string) *sasl.Failure {
	return &sasl.Failure{Condition: c, Text: text}
}

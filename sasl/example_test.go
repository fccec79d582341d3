package sasl_test

import (
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/parleyim/parley/sasl"
)

// wire stands for the session's stream: it sends <auth/> and <response/>
// and reads the server's answer.
type wire interface {
	Auth(mechanism string, initial []byte) (kind string, data []byte, err error)
	Response(resp []byte) (kind string, data []byte, err error)
	Abort()
}

// login is how a session drives a mechanism: any error ends the login, and
// no other mechanism is tried.
func login(w wire, offered []string, state *tls.ConnectionState, user, password string) error {
	mech, neg, err := sasl.Select(sasl.DefaultMechanisms(), sasl.Offer{Mechanisms: offered, TLS: state})
	if err != nil {
		return err
	}
	neg.Username, neg.Password = user, password
	ex, initial, err := mech.Start(&neg)
	if err != nil {
		return err
	}
	kind, data, err := w.Auth(mech.Name(), initial)
	for err == nil {
		switch kind {
		case "challenge":
			var resp []byte
			if resp, err = ex.Next(data); err != nil {
				w.Abort()
				return err
			}
			kind, data, err = w.Response(resp)
		case "success":
			return ex.Verify(data)
		default: // "failure": the session parses the condition and text
			return sasl.NewFailure("not-authorized", "", "")
		}
	}
	return err
}

// Example shows the shape of a login; the session package does this.
func Example() {
	_ = login
}

// ExampleSelect shows that the client's preference order wins over the
// server's.
func ExampleSelect() {
	offer := sasl.Offer{Mechanisms: []string{"PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"}}
	mech, neg, err := sasl.Select(sasl.DefaultMechanisms(), offer)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(mech.Name(), neg.Encrypted)
	// Output: SCRAM-SHA-256 false
}

// ExampleSelect_pinned restricts the client to SCRAM: a server that offers
// only PLAIN is refused, and the error says why.
func ExampleSelect_pinned() {
	scramOnly := []sasl.Mechanism{sasl.ScramSHA256Plus, sasl.ScramSHA256, sasl.ScramSHA1Plus, sasl.ScramSHA1}
	_, _, err := sasl.Select(scramOnly, sasl.Offer{Mechanisms: []string{"PLAIN"}})
	fmt.Println(err)
	fmt.Println(errors.Is(err, sasl.ErrNoMechanism))
	// Output:
	// sasl: no mechanism in common: server offers [PLAIN], client accepts [SCRAM-SHA-256-PLUS SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-1]
	// true
}

// ExampleFailure shows how a <failure/> from the server becomes an error
// that callers test with errors.Is.
func ExampleFailure() {
	err := fmt.Errorf("session: login: %w", sasl.NewFailure("not-authorized", "Invalid username or password", "en"))
	fmt.Println(err)
	fmt.Println(errors.Is(err, sasl.NotAuthorized), errors.Is(err, sasl.AccountDisabled))
	// Output:
	// session: login: sasl: authentication failed: not-authorized (Invalid username or password)
	// true false
}

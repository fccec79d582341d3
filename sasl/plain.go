package sasl

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/text/secure/precis"
)

// Plain is the PLAIN mechanism (RFC 4616): the password is sent as it is,
// so it is a Plaintext mechanism, refused on an unencrypted stream.
var Plain Mechanism = plain{}

// ErrUnencrypted is returned when PLAIN is asked to start on an unencrypted
// stream.
var ErrUnencrypted = errors.New("sasl: PLAIN refused on an unencrypted stream")

type plain struct{}

// Name implements Mechanism.
func (plain) Name() string { return "PLAIN" }

// RevealsPassword implements Plaintext.
func (plain) RevealsPassword() bool { return true }

// Start implements Mechanism: the initial response is
// authzid NUL username NUL password, with the password prepared with
// OpaqueString.
func (plain) Start(n *Negotiation) (Exchange, []byte, error) {
	if n == nil {
		return nil, nil, errors.New("sasl: PLAIN: no negotiation")
	}
	if !n.Encrypted {
		return nil, nil, ErrUnencrypted
	}
	if n.Binding != nil {
		return nil, nil, errors.New("sasl: PLAIN given channel binding data")
	}
	if n.Username == "" {
		return nil, nil, errors.New("sasl: PLAIN: empty username")
	}
	if strings.ContainsRune(n.Username+n.Authzid, 0) {
		return nil, nil, errors.New("sasl: PLAIN: NUL in username or authzid")
	}
	password, err := precis.OpaqueString.String(n.Password)
	if err != nil {
		return nil, nil, fmt.Errorf("sasl: PLAIN: preparing password: %w", err)
	}
	msg := make([]byte, 0, len(n.Authzid)+len(n.Username)+len(password)+2)
	msg = append(msg, n.Authzid...)
	msg = append(msg, 0)
	msg = append(msg, n.Username...)
	msg = append(msg, 0)
	msg = append(msg, password...)
	return &plainExchange{}, msg, nil
}

// plainExchange is a PLAIN login: the server sends no challenge, and
// <success/> carries no data.
type plainExchange struct{}

// Next implements Exchange: PLAIN has no challenges.
func (*plainExchange) Next([]byte) ([]byte, error) {
	return nil, errors.New("sasl: PLAIN: unexpected challenge")
}

// Verify implements Exchange: the additional data must be empty.
func (*plainExchange) Verify(additional []byte) error {
	if len(additional) != 0 {
		return errors.New("sasl: PLAIN: unexpected data in success")
	}
	return nil
}

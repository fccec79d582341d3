package sasl

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strings"

	"golang.org/x/text/secure/precis"

	"github.com/parleyim/parley/internal/scram"
)

// The SCRAM mechanisms (RFC 5802, RFC 7677). The -PLUS variants bind the
// authentication to the TLS connection and need Negotiation.Binding.
var (
	ScramSHA512Plus Mechanism = newSCRAM("SCRAM-SHA-512-PLUS", sha512.New, true)
	ScramSHA512     Mechanism = newSCRAM("SCRAM-SHA-512", sha512.New, false)
	ScramSHA256Plus Mechanism = newSCRAM("SCRAM-SHA-256-PLUS", sha256.New, true)
	ScramSHA256     Mechanism = newSCRAM("SCRAM-SHA-256", sha256.New, false)
	ScramSHA1Plus   Mechanism = newSCRAM("SCRAM-SHA-1-PLUS", sha1.New, true)
	ScramSHA1       Mechanism = newSCRAM("SCRAM-SHA-1", sha1.New, false)
)

// Errors of a SCRAM exchange, wrapped with details by the errors the
// exchange returns.
var (
	// ErrServerSignature: the server-final-message's signature is wrong;
	// the server does not know the password (or the exchange was tampered
	// with).
	ErrServerSignature = errors.New("sasl: SCRAM server signature does not verify")
	// ErrNonce: the server's nonce does not extend the client's.
	ErrNonce = errors.New("sasl: SCRAM server nonce does not extend the client nonce")
	// ErrIterations: the iteration count is outside the accepted range.
	ErrIterations = errors.New("sasl: SCRAM iteration count out of range")
	// ErrMandatoryExtension: the server asked for an extension (m=)
	// Parley does not implement.
	ErrMandatoryExtension = errors.New("sasl: SCRAM mandatory extension not supported")
	// ErrMalformed: a server message does not follow RFC 5802's grammar.
	ErrMalformed = errors.New("sasl: malformed SCRAM message")
	// ErrUnexpected: the server sent a message the exchange did not expect
	// at this point.
	ErrUnexpected = errors.New("sasl: unexpected SCRAM message")
)

// ServerError is a SCRAM server-error (e=…, RFC 5802 §7) such as
// "invalid-proof" or "channel-bindings-dont-match".
type ServerError struct {
	Value string
}

// Error implements error.
func (e *ServerError) Error() string { return "sasl: SCRAM server error: " + e.Value }

// nonceLength is the number of random bytes in a client nonce.
const nonceLength = 24

// scramMechanism is a SCRAM mechanism of one hash function.
type scramMechanism struct {
	name string
	hash func() hash.Hash
	plus bool
	// nonce makes the client nonce; tests replace it to replay vectors.
	nonce func() (string, error)
}

func newSCRAM(name string, h func() hash.Hash, plus bool) *scramMechanism {
	return &scramMechanism{name: name, hash: h, plus: plus, nonce: randomNonce}
}

// randomNonce returns 24 bytes from crypto/rand in base64 (without
// padding), which uses only printable characters other than ','.
func randomNonce() (string, error) {
	b := make([]byte, nonceLength)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("sasl: reading random nonce: %w", err)
	}
	return base64.RawStdEncoding.EncodeToString(b), nil
}

// Name implements Mechanism.
func (m *scramMechanism) Name() string { return m.name }

// Start implements Mechanism: it prepares the password, builds the GS2
// header and returns the client-first-message.
func (m *scramMechanism) Start(n *Negotiation) (Exchange, []byte, error) {
	if n == nil {
		return nil, nil, fmt.Errorf("sasl: %s: no negotiation", m.name)
	}
	if n.Username == "" {
		return nil, nil, fmt.Errorf("sasl: %s: empty username", m.name)
	}
	if m.plus && n.Binding == nil {
		return nil, nil, fmt.Errorf("sasl: %s needs channel binding data", m.name)
	}
	if !m.plus && n.Binding != nil {
		return nil, nil, fmt.Errorf("sasl: %s given channel binding data; use the -PLUS variant", m.name)
	}
	password, err := precis.OpaqueString.String(n.Password)
	if err != nil {
		return nil, nil, fmt.Errorf("sasl: %s: preparing password: %w", m.name, err)
	}
	nonce, err := m.nonce()
	if err != nil {
		return nil, nil, err
	}
	ex := &scramExchange{
		mech:          m,
		password:      password,
		clientNonce:   nonce,
		minIterations: n.minIterations(),
		maxIterations: n.maxIterations(),
	}
	// gs2-header = gs2-cbind-flag "," [ authzid ] ","
	ex.gs2Header = gs2Flag(n) + ","
	if n.Authzid != "" {
		ex.gs2Header += "a=" + escapeSASLName(n.Authzid)
	}
	ex.gs2Header += ","
	if n.Binding != nil {
		ex.cbData = n.Binding.Data
	}
	ex.clientFirstBare = "n=" + escapeSASLName(n.Username) + ",r=" + nonce
	return ex, []byte(ex.gs2Header + ex.clientFirstBare), nil
}

// gs2Flag returns the GS2 channel binding flag of RFC 5802 §7:
// "p=<type>" when binding, "n" when the server offered a -PLUS mechanism
// that is not used or when there is no TLS to bind to, "y" otherwise.
func gs2Flag(n *Negotiation) string {
	switch {
	case n.Binding != nil:
		return "p=" + n.Binding.Type
	case n.ServerOffersPlus || !n.Encrypted:
		return "n"
	default:
		return "y"
	}
}

// escapeSASLName escapes ',' and '=' in a saslname (RFC 5802 §5.1).
func escapeSASLName(s string) string {
	if !strings.ContainsAny(s, ",=") {
		return s
	}
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(s)
}

type scramState int

const (
	awaitServerFirst scramState = iota
	awaitServerFinal
	verified
	failed
)

// scramExchange is the client side of one SCRAM exchange.
type scramExchange struct {
	mech            *scramMechanism
	password        string
	clientNonce     string
	gs2Header       string
	cbData          []byte
	clientFirstBare string
	minIterations   int
	maxIterations   int

	state           scramState
	serverSignature []byte
}

// Next implements Exchange. The first challenge is the server-first-message
// and is answered with the client-final-message. Some servers send the
// server-final-message as a second challenge; it is verified and answered
// with an empty response.
func (e *scramExchange) Next(challenge []byte) ([]byte, error) {
	switch e.state {
	case awaitServerFirst:
		resp, err := e.clientFinal(challenge)
		if err != nil {
			e.state = failed
			return nil, err
		}
		e.state = awaitServerFinal
		return resp, nil
	case awaitServerFinal:
		if err := e.verifyServerFinal(challenge); err != nil {
			e.state = failed
			return nil, err
		}
		e.state = verified
		return []byte{}, nil
	default:
		e.state = failed
		return nil, fmt.Errorf("%w: challenge after the exchange ended", ErrUnexpected)
	}
}

// Verify implements Exchange: it checks the server signature in the
// additional data of <success/>, unless a challenge already carried it (then
// the additional data must be empty).
func (e *scramExchange) Verify(additional []byte) error {
	switch e.state {
	case awaitServerFinal:
		if len(additional) == 0 {
			e.state = failed
			return fmt.Errorf("%w: success without the server signature", ErrServerSignature)
		}
		if err := e.verifyServerFinal(additional); err != nil {
			e.state = failed
			return err
		}
		e.state = verified
		return nil
	case verified:
		if len(additional) != 0 {
			e.state = failed
			return fmt.Errorf("%w: success with data after the server-final-message", ErrUnexpected)
		}
		return nil
	case awaitServerFirst:
		e.state = failed
		return fmt.Errorf("%w: success before the server-first-message", ErrUnexpected)
	default:
		return fmt.Errorf("%w: exchange already failed", ErrUnexpected)
	}
}

// clientFinal answers the server-first-message.
func (e *scramExchange) clientFinal(msg []byte) ([]byte, error) {
	sf, err := parseServerFirst(msg)
	if err != nil {
		return nil, err
	}
	if len(sf.nonce) <= len(e.clientNonce) || !strings.HasPrefix(sf.nonce, e.clientNonce) {
		return nil, ErrNonce
	}
	if sf.iterations < e.minIterations || sf.iterations > e.maxIterations {
		return nil, fmt.Errorf("%w: server asks for %d, accepted %d to %d",
			ErrIterations, sf.iterations, e.minIterations, e.maxIterations)
	}
	cbInput := append([]byte(e.gs2Header), e.cbData...)
	withoutProof := "c=" + base64.StdEncoding.EncodeToString(cbInput) + ",r=" + sf.nonce
	authMessage := []byte(e.clientFirstBare + "," + string(msg) + "," + withoutProof)

	h := e.mech.hash
	salted, err := pbkdf2.Key(h, e.password, sf.salt, sf.iterations, h().Size())
	if err != nil {
		return nil, fmt.Errorf("sasl: %s: deriving key: %w", e.mech.name, err)
	}
	clientKey := scram.HMAC(h, salted, []byte("Client Key"))
	storedKey := scram.H(h, clientKey)
	clientSignature := scram.HMAC(h, storedKey, authMessage)
	proof := make([]byte, len(clientKey))
	subtle.XORBytes(proof, clientKey, clientSignature)
	serverKey := scram.HMAC(h, salted, []byte("Server Key"))
	e.serverSignature = scram.HMAC(h, serverKey, authMessage)

	return []byte(withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof)), nil
}

// verifyServerFinal checks the server-final-message.
func (e *scramExchange) verifyServerFinal(msg []byte) error {
	sig, err := parseServerFinal(msg)
	if err != nil {
		return err
	}
	if !hmac.Equal(sig, e.serverSignature) {
		return ErrServerSignature
	}
	return nil
}

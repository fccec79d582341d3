package sasl

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/parleyim/parley/internal/scram"
)

// serverFirst is a parsed server-first-message (RFC 5802 §7):
//
//	server-first-message = [reserved-mext ","] nonce "," salt ","
//	                       iteration-count ["," extensions]
type serverFirst struct {
	nonce      string
	salt       []byte
	iterations int
}

// maxIterationDigits bounds the iteration count's length before it is
// converted, so no input can overflow.
const maxIterationDigits = 10

// parseServerFirst parses a server-first-message. It rejects a mandatory
// extension (m=) and reports a server-error (e=), which some servers send
// in place of the server-first-message, as a *ServerError.
func parseServerFirst(msg []byte) (serverFirst, error) {
	var sf serverFirst
	attrs, err := splitAttributes(msg)
	if err != nil {
		return sf, err
	}
	switch attrs[0].name {
	case 'm':
		return sf, ErrMandatoryExtension
	case 'e':
		return sf, &ServerError{Value: attrs[0].value}
	}
	if len(attrs) < 3 {
		return sf, fmt.Errorf("%w: server-first-message has %d attributes, want at least 3", ErrMalformed, len(attrs))
	}
	if attrs[0].name != 'r' || attrs[1].name != 's' || attrs[2].name != 'i' {
		return sf, fmt.Errorf("%w: server-first-message must start with r=, s=, i=", ErrMalformed)
	}
	sf.nonce = attrs[0].value
	if !scram.Printable(sf.nonce) {
		return sf, fmt.Errorf("%w: nonce is empty or has a character outside %%x21-7E or a ','", ErrMalformed)
	}
	sf.salt, err = base64.StdEncoding.Strict().DecodeString(attrs[1].value)
	if err != nil {
		return sf, fmt.Errorf("%w: salt: %w", ErrMalformed, err)
	}
	if len(sf.salt) == 0 {
		return sf, fmt.Errorf("%w: empty salt", ErrMalformed)
	}
	sf.iterations, err = parseCount(attrs[2].value)
	if err != nil {
		return sf, err
	}
	return sf, nil
}

// parseServerFinal parses a server-final-message and returns the server
// signature it carries:
//
//	server-final-message = (server-error / verifier) ["," extensions]
func parseServerFinal(msg []byte) ([]byte, error) {
	attrs, err := splitAttributes(msg)
	if err != nil {
		return nil, err
	}
	switch attrs[0].name {
	case 'e':
		return nil, &ServerError{Value: attrs[0].value}
	case 'v':
		sig, err := base64.StdEncoding.Strict().DecodeString(attrs[0].value)
		if err != nil {
			return nil, fmt.Errorf("%w: verifier: %w", ErrMalformed, err)
		}
		return sig, nil
	default:
		return nil, fmt.Errorf("%w: server-final-message must start with v= or e=", ErrMalformed)
	}
}

type attribute struct {
	name  byte
	value string
}

// splitAttributes splits a SCRAM message into its attr=value pairs; each
// name is one ASCII letter.
func splitAttributes(msg []byte) ([]attribute, error) {
	if len(msg) == 0 {
		return nil, fmt.Errorf("%w: empty message", ErrMalformed)
	}
	parts := strings.Split(string(msg), ",")
	attrs := make([]attribute, 0, len(parts))
	for _, p := range parts {
		if !scram.IsAttrVal(p) {
			return nil, fmt.Errorf("%w: %q is not an attribute", ErrMalformed, truncate(p))
		}
		attrs = append(attrs, attribute{name: p[0], value: p[2:]})
	}
	return attrs, nil
}

// parseCount parses an iteration count: a positive decimal number.
func parseCount(s string) (int, error) {
	if s == "" || len(s) > maxIterationDigits {
		return 0, fmt.Errorf("%w: iteration count %q", ErrMalformed, truncate(s))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%w: iteration count %q", ErrMalformed, truncate(s))
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%w: iteration count: %w", ErrMalformed, err)
	}
	return n, nil
}

// truncate shortens server data quoted in an error.
func truncate(s string) string {
	const max = 32
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

package saslauth

import (
	"bytes"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"hash"
	"strconv"
	"strings"

	"golang.org/x/text/secure/precis"

	"github.com/parleyim/parley/internal/scram"
	"github.com/parleyim/parley/sasl"
)

// scramExchange is the server side of one SCRAM exchange.
type scramExchange struct {
	srv   *Server
	ex    *Exchange
	hash  func() hash.Hash
	plus  bool
	state *tls.ConnectionState

	// After the client-first-message:
	gs2Header       string
	binding         []byte
	username        string
	authzid         string
	known           bool
	clientFirstBare string
	serverFirst     string
	nonce           string
	saltedPassword  []byte
	secondStep      bool
}

func (s *Server) newSCRAM(ex *Exchange, mech string, state *tls.ConnectionState) (*scramExchange, error) {
	sc := &scramExchange{srv: s, ex: ex, state: state}
	base, plus := strings.CutSuffix(mech, "-PLUS")
	sc.plus = plus
	switch base {
	case "SCRAM-SHA-1":
		sc.hash = sha1.New
	case "SCRAM-SHA-256":
		sc.hash = sha256.New
	case "SCRAM-SHA-512":
		sc.hash = sha512.New
	default:
		return nil, fail(sasl.InvalidMechanism, "unknown mechanism "+mech)
	}
	return sc, nil
}

func (sc *scramExchange) step(resp []byte) ([]byte, bool, error) {
	if !sc.secondStep {
		sc.secondStep = true
		challenge, err := sc.first(resp)
		return challenge, false, err
	}
	success, err := sc.final(resp)
	if err != nil {
		return nil, false, err
	}
	return success, true, nil
}

// clientFirst is a parsed client-first-message.
type clientFirst struct {
	flag     byte   // 'n', 'y' or 'p'
	cbType   string // with flag 'p'
	authzid  string
	header   string // the gs2-header, as sent
	bare     string // client-first-message-bare
	username string
	nonce    string
}

var errMalformed = errors.New("malformed client-first-message")

// parseClientFirst parses a client-first-message (RFC 5802 §7):
//
//	gs2-header = gs2-cbind-flag "," [ authzid ] ","
//	client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
func parseClientFirst(msg []byte) (clientFirst, error) {
	var cf clientFirst
	s := string(msg)
	flag, rest, ok := strings.Cut(s, ",")
	if !ok {
		return cf, errMalformed
	}
	switch {
	case flag == "n" || flag == "y":
		cf.flag = flag[0]
	case strings.HasPrefix(flag, "p=") && len(flag) > 2 && validCBName(flag[2:]):
		cf.flag, cf.cbType = 'p', flag[2:]
	default:
		return cf, errMalformed
	}
	az, bare, ok := strings.Cut(rest, ",")
	if !ok {
		return cf, errMalformed
	}
	if az != "" {
		v, ok := strings.CutPrefix(az, "a=")
		if !ok {
			return cf, errMalformed
		}
		name, err := unescapeSASLName(v)
		if err != nil || name == "" {
			return cf, errMalformed
		}
		cf.authzid = name
	}
	cf.header = s[:len(s)-len(bare)]
	cf.bare = bare
	attrs := strings.Split(bare, ",")
	if len(attrs) < 2 {
		return cf, errMalformed
	}
	user, ok := strings.CutPrefix(attrs[0], "n=")
	if !ok {
		// Includes a reserved-mext (m=), which this server does not
		// support.
		return cf, errMalformed
	}
	name, err := unescapeSASLName(user)
	if err != nil || name == "" {
		return cf, errMalformed
	}
	cf.username = name
	nonce, ok := strings.CutPrefix(attrs[1], "r=")
	if !ok || !scram.Printable(nonce) {
		return cf, errMalformed
	}
	cf.nonce = nonce
	for _, a := range attrs[2:] {
		if !scram.IsAttrVal(a) {
			return cf, errMalformed
		}
	}
	return cf, nil
}

// first answers the client-first-message with the server-first-message.
func (sc *scramExchange) first(msg []byte) ([]byte, error) {
	cf, err := parseClientFirst(msg)
	if err != nil {
		return nil, fail(sasl.MalformedRequest, err.Error())
	}
	offersPlus := sc.srv.offersPlus(sc.state)
	switch {
	case sc.plus && cf.flag != 'p':
		return nil, fail(sasl.NotAuthorized, "a -PLUS mechanism needs channel binding")
	case !sc.plus && cf.flag == 'p':
		return nil, fail(sasl.NotAuthorized, "channel binding requested with a mechanism without -PLUS")
	case cf.flag == 'y' && offersPlus:
		// RFC 5802 §6: the client believes the server cannot bind, but
		// it offered -PLUS: the offer was stripped in transit.
		return nil, fail(sasl.NotAuthorized, "channel binding downgrade detected")
	case cf.flag == 'p':
		cb, err := sc.srv.binding(sc.state, cf.cbType)
		if err != nil {
			return nil, fail(sasl.NotAuthorized, "unsupported channel binding type "+cf.cbType)
		}
		sc.binding = cb.Data
	}
	if !sc.srv.authzidOK(cf.username, cf.authzid) {
		return nil, fail(sasl.InvalidAuthzid, "")
	}
	sc.gs2Header, sc.username, sc.authzid, sc.clientFirstBare = cf.header, cf.username, cf.authzid, cf.bare

	salt, err := sc.srv.salt(cf.username)
	if err != nil {
		return nil, fail(sasl.TemporaryAuthFailure, "")
	}
	// An unknown user gets a challenge like any other and fails at the
	// end, so the exchange does not tell which users exist.
	password := ""
	if sc.srv.Lookup != nil {
		password, sc.known = sc.srv.Lookup(cf.username)
	}
	if sc.known {
		prepared, err := precis.OpaqueString.String(password)
		if err != nil {
			sc.known = false
		}
		password = prepared
	}
	if !sc.known {
		password = "unknown user"
	}
	iter := sc.srv.iterations()
	sc.saltedPassword, err = pbkdf2.Key(sc.hash, password, salt, iter, sc.hash().Size())
	if err != nil {
		return nil, fail(sasl.TemporaryAuthFailure, "")
	}
	serverNonce, err := sc.srv.serverNonce()
	if err != nil {
		return nil, fail(sasl.TemporaryAuthFailure, "")
	}
	sc.nonce = cf.nonce + serverNonce
	sc.serverFirst = "r=" + sc.nonce + ",s=" + base64.StdEncoding.EncodeToString(salt) + ",i=" + strconv.Itoa(iter)
	return []byte(sc.serverFirst), nil
}

// final checks the client-final-message and returns the
// server-final-message:
//
//	client-final-message = channel-binding "," nonce ["," extensions] "," proof
func (sc *scramExchange) final(msg []byte) ([]byte, error) {
	s := string(msg)
	i := strings.LastIndex(s, ",p=")
	if i < 0 {
		return nil, fail(sasl.MalformedRequest, "client-final-message without proof")
	}
	withoutProof := s[:i]
	proof, err := base64.StdEncoding.Strict().DecodeString(s[i+len(",p="):])
	if err != nil || len(proof) != sc.hash().Size() {
		return nil, fail(sasl.MalformedRequest, "bad proof")
	}
	attrs := strings.Split(withoutProof, ",")
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "c=") || !strings.HasPrefix(attrs[1], "r=") {
		return nil, fail(sasl.MalformedRequest, "client-final-message must start with c=, r=")
	}
	cbind, err := base64.StdEncoding.Strict().DecodeString(attrs[0][2:])
	if err != nil {
		return nil, fail(sasl.MalformedRequest, "bad channel binding encoding")
	}
	want := append([]byte(sc.gs2Header), sc.binding...)
	if subtle.ConstantTimeCompare(cbind, want) != 1 {
		return nil, fail(sasl.NotAuthorized, "channel bindings don't match")
	}
	if attrs[1][2:] != sc.nonce {
		return nil, fail(sasl.NotAuthorized, "nonce mismatch")
	}
	authMessage := []byte(sc.clientFirstBare + "," + sc.serverFirst + "," + withoutProof)

	clientKey := scram.HMAC(sc.hash, sc.saltedPassword, []byte("Client Key"))
	storedKey := scram.H(sc.hash, clientKey)
	clientSignature := scram.HMAC(sc.hash, storedKey, authMessage)
	gotKey := make([]byte, len(proof))
	subtle.XORBytes(gotKey, proof, clientSignature)
	if !sc.known || !bytes.Equal(scram.H(sc.hash, gotKey), storedKey) {
		return nil, fail(sasl.NotAuthorized, "")
	}
	serverKey := scram.HMAC(sc.hash, sc.saltedPassword, []byte("Server Key"))
	sig := scram.HMAC(sc.hash, serverKey, authMessage)
	sc.ex.username = sc.username
	return []byte("v=" + base64.StdEncoding.EncodeToString(sig)), nil
}

// unescapeSASLName undoes saslname escaping: "=2C" is ',', "=3D" is '=',
// and any other '=' or a bare ',' is an error (RFC 5802 §5.1).
func unescapeSASLName(s string) (string, error) {
	if strings.Contains(s, ",") {
		return "", errMalformed
	}
	if !strings.Contains(s, "=") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "=2C"):
			b.WriteByte(',')
		case strings.HasPrefix(s[i:], "=3D"):
			b.WriteByte('=')
		default:
			return "", errMalformed
		}
		i += 2
	}
	return b.String(), nil
}

func validCBName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !scram.IsAlpha(c) && (c < '0' || c > '9') && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

package saslauth

import (
	"bytes"
	"crypto/subtle"

	"golang.org/x/text/secure/precis"

	"github.com/parleyim/parley/sasl"
)

// plain checks a PLAIN message: authzid NUL authcid NUL passwd.
func (s *Server) plain(ex *Exchange, msg []byte) ([]byte, bool, error) {
	parts := bytes.Split(msg, []byte{0})
	if len(parts) != 3 || len(parts[1]) == 0 || len(parts[2]) == 0 {
		return nil, false, fail(sasl.MalformedRequest, "PLAIN message is not authzid NUL authcid NUL passwd")
	}
	username, authzid := string(parts[1]), string(parts[0])
	if !s.checkPassword(username, string(parts[2])) {
		return nil, false, fail(sasl.NotAuthorized, "")
	}
	if !s.authzidOK(username, authzid) {
		return nil, false, fail(sasl.InvalidAuthzid, "")
	}
	ex.username = username
	return nil, true, nil
}

// checkPassword compares a PLAIN password with the stored one, both
// prepared with OpaqueString.
func (s *Server) checkPassword(username, password string) bool {
	if s.Lookup == nil {
		return false
	}
	stored, ok := s.Lookup(username)
	if !ok {
		return false
	}
	want, err1 := precis.OpaqueString.Bytes([]byte(stored))
	got, err2 := precis.OpaqueString.Bytes([]byte(password))
	if err1 != nil || err2 != nil {
		return false
	}
	return subtle.ConstantTimeCompare(want, got) == 1
}

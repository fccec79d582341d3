package jid

// Error reports why a string is not a valid JID or JID part. Every error
// returned by this package is an *Error; its message reads like
// "jid: localpart contains '@'". When a PRECIS, IDNA or IP address check is
// the cause, Err holds that error and errors.Unwrap returns it.
type Error struct {
	// Part names the offending part: "localpart", "domainpart" or
	// "resourcepart".
	Part string
	// Reason says which rule the part breaks, e.g. "is empty" or
	// "contains '@'".
	Reason string
	// Err is the underlying error, or nil.
	Err error
}

// Error implements the error interface.
func (e *Error) Error() string {
	msg := "jid: " + e.Part + " " + e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying error, or nil.
func (e *Error) Unwrap() error { return e.Err }

// The part names used in Error.Part.
const (
	partLocal    = "localpart"
	partDomain   = "domainpart"
	partResource = "resourcepart"
)

func newError(part, reason string, err error) *Error {
	return &Error{Part: part, Reason: reason, Err: err}
}

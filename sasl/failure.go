package sasl

import "strings"

// Condition is a SASL failure condition of RFC 6120 §6.5: the name of the
// child element of <failure/>. It implements error, so
// errors.Is(err, sasl.NotAuthorized) tells why a login failed.
type Condition string

// The defined conditions of RFC 6120 §6.5.
const (
	Aborted              Condition = "aborted"
	AccountDisabled      Condition = "account-disabled"
	CredentialsExpired   Condition = "credentials-expired"
	EncryptionRequired   Condition = "encryption-required"
	IncorrectEncoding    Condition = "incorrect-encoding"
	InvalidAuthzid       Condition = "invalid-authzid"
	InvalidMechanism     Condition = "invalid-mechanism"
	MalformedRequest     Condition = "malformed-request"
	MechanismTooWeak     Condition = "mechanism-too-weak"
	NotAuthorized        Condition = "not-authorized"
	TemporaryAuthFailure Condition = "temporary-auth-failure"
)

var knownConditions = map[Condition]bool{
	Aborted: true, AccountDisabled: true, CredentialsExpired: true,
	EncryptionRequired: true, IncorrectEncoding: true, InvalidAuthzid: true,
	InvalidMechanism: true, MalformedRequest: true, MechanismTooWeak: true,
	NotAuthorized: true, TemporaryAuthFailure: true,
}

// ParseCondition maps the local name of a <failure/> child element to its
// Condition. A name RFC 6120 does not define is kept as it is (Known reports
// false): it is still a failure.
func ParseCondition(name string) Condition {
	return Condition(strings.TrimSpace(name))
}

// Error implements error.
func (c Condition) Error() string {
	if c == "" {
		return "sasl: failure without a condition"
	}
	return "sasl: " + string(c)
}

// Known reports whether c is one of the conditions RFC 6120 §6.5 defines.
func (c Condition) Known() bool { return knownConditions[c] }

// Temporary reports whether the failure may go away if the client tries
// again later (temporary-auth-failure).
func (c Condition) Temporary() bool { return c == TemporaryAuthFailure }

// Failure is the server's <failure/>: a condition and the optional
// human-readable <text/> with its xml:lang. errors.Is(err, cond) reports
// whether a *Failure carries cond.
type Failure struct {
	Condition Condition
	Text      string
	Lang      string
}

// NewFailure returns the Failure for a <failure/> element whose child is
// named condition and whose <text/> is text in language lang (both may be
// empty). The session parses the XML and calls it.
func NewFailure(condition, text, lang string) *Failure {
	return &Failure{Condition: ParseCondition(condition), Text: text, Lang: lang}
}

// Error implements error: "sasl: authentication failed: not-authorized
// (text)".
func (f *Failure) Error() string {
	cond := string(f.Condition)
	if cond == "" {
		cond = "no condition given"
	}
	msg := "sasl: authentication failed: " + cond
	if f.Text != "" {
		msg += " (" + f.Text + ")"
	}
	return msg
}

// Unwrap returns the failure's Condition, so errors.Is and errors.As see it.
func (f *Failure) Unwrap() error { return f.Condition }

package stanza

import (
	"strings"

	"github.com/parleyim/parley/jid"
)

// ErrorType is the type attribute of a stanza error (RFC 6120 §8.3.2).
type ErrorType string

// Stanza error types.
const (
	ErrorAuth     ErrorType = "auth"
	ErrorCancel   ErrorType = "cancel"
	ErrorContinue ErrorType = "continue"
	ErrorModify   ErrorType = "modify"
	ErrorWait     ErrorType = "wait"
)

func (t ErrorType) valid() bool {
	switch t {
	case ErrorAuth, ErrorCancel, ErrorContinue, ErrorModify, ErrorWait:
		return true
	}
	return false
}

// Condition is a defined condition of a stanza error (RFC 6120 §8.3.3).
// It implements error, so errors.Is(err, stanza.ItemNotFound) reports
// whether err is or wraps a *Error with that condition.
type Condition string

// The 22 defined conditions of RFC 6120 §8.3.3.
const (
	BadRequest            Condition = "bad-request"
	Conflict              Condition = "conflict"
	FeatureNotImplemented Condition = "feature-not-implemented"
	Forbidden             Condition = "forbidden"
	Gone                  Condition = "gone"
	InternalServerError   Condition = "internal-server-error"
	ItemNotFound          Condition = "item-not-found"
	JIDMalformed          Condition = "jid-malformed"
	NotAcceptable         Condition = "not-acceptable"
	NotAllowed            Condition = "not-allowed"
	NotAuthorized         Condition = "not-authorized"
	PolicyViolation       Condition = "policy-violation"
	RecipientUnavailable  Condition = "recipient-unavailable"
	Redirect              Condition = "redirect"
	RegistrationRequired  Condition = "registration-required"
	RemoteServerNotFound  Condition = "remote-server-not-found"
	RemoteServerTimeout   Condition = "remote-server-timeout"
	ResourceConstraint    Condition = "resource-constraint"
	ServiceUnavailable    Condition = "service-unavailable"
	SubscriptionRequired  Condition = "subscription-required"
	UndefinedCondition    Condition = "undefined-condition"
	UnexpectedRequest     Condition = "unexpected-request"
)

// defaultTypes maps each condition to the error type RFC 6120 §8.3.3 gives
// it.
var defaultTypes = map[Condition]ErrorType{
	BadRequest:            ErrorModify,
	Conflict:              ErrorCancel,
	FeatureNotImplemented: ErrorCancel,
	Forbidden:             ErrorAuth,
	Gone:                  ErrorCancel,
	InternalServerError:   ErrorCancel,
	ItemNotFound:          ErrorCancel,
	JIDMalformed:          ErrorModify,
	NotAcceptable:         ErrorModify,
	NotAllowed:            ErrorCancel,
	NotAuthorized:         ErrorAuth,
	PolicyViolation:       ErrorModify,
	RecipientUnavailable:  ErrorWait,
	Redirect:              ErrorModify,
	RegistrationRequired:  ErrorAuth,
	RemoteServerNotFound:  ErrorCancel,
	RemoteServerTimeout:   ErrorWait,
	ResourceConstraint:    ErrorWait,
	ServiceUnavailable:    ErrorCancel,
	SubscriptionRequired:  ErrorAuth,
	UndefinedCondition:    ErrorCancel,
	UnexpectedRequest:     ErrorWait,
}

// Error returns "stanza: " and the condition.
func (c Condition) Error() string { return "stanza: " + string(c) }

// Known reports whether c is one of the 22 defined conditions.
func (c Condition) Known() bool {
	_, ok := defaultTypes[c]
	return ok
}

// DefaultType returns the error type that RFC 6120 §8.3.3 associates with
// c (its examples' type), or ErrorCancel for an unknown condition.
func DefaultType(c Condition) ErrorType {
	if t, ok := defaultTypes[c]; ok {
		return t
	}
	return ErrorCancel
}

// Error is a stanza error (RFC 6120 §8.3): the <error/> child of a stanza
// of type error, and the Go error that a failed request returns.
//
// Decoding fills every field: an unknown or missing condition reads as
// UndefinedCondition, an unknown or missing type as DefaultType of the
// condition, an invalid by as the zero JID. Encoding writes an empty Type
// as DefaultType(Condition) and an empty Condition as UndefinedCondition,
// and refuses unknown ones.
//
// An Error is a plain value: not safe to mutate from several goroutines.
type Error struct {
	Type      ErrorType
	Condition Condition
	// Text is the first human-readable description, in the language
	// TextLang (empty: the stanza's). AltTexts holds any further <text/>
	// elements, in other languages, in document order.
	Text     string
	TextLang string
	AltTexts []Text
	// By is the entity that generated the error, when it said so.
	By jid.JID
	// URI is the content of a gone or redirect condition: where the
	// entity went. Other conditions carry none.
	URI string
	// App is the application-specific condition, if any.
	App Payload
}

// NewError returns an error with condition c, the condition's default
// type and text (which may be empty).
func NewError(c Condition, text string) *Error {
	return &Error{Type: DefaultType(c), Condition: c, Text: text}
}

// Error returns a description such as
// "stanza: cancel item-not-found: no such node".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("stanza: ")
	b.WriteString(string(e.typ()))
	b.WriteByte(' ')
	b.WriteString(string(e.cond()))
	if e.Text != "" {
		b.WriteString(": ")
		b.WriteString(e.Text)
	}
	return b.String()
}

// Is reports whether target is e's Condition, or a *Error with the same
// condition and, if target's Type is set, the same type.
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case Condition:
		return e.cond() == t
	case *Error:
		return t != nil && e.cond() == t.cond() && (t.Type == "" || e.typ() == t.Type)
	}
	return false
}

func (e *Error) cond() Condition {
	if e.Condition == "" {
		return UndefinedCondition
	}
	return e.Condition
}

func (e *Error) typ() ErrorType {
	if e.Type == "" {
		return DefaultType(e.cond())
	}
	return e.Type
}

func (e *Error) hasURI() bool {
	c := e.cond()
	return (c == Gone || c == Redirect) && e.URI != ""
}

// check reports an error that encoding e would run into.
func (e *Error) check() error {
	if !e.cond().Known() {
		return &encodeError{"error", "unknown condition " + string(e.Condition)}
	}
	if !e.typ().valid() {
		return &encodeError{"error", "unknown type " + string(e.Type)}
	}
	return nil
}

func (e *Error) encode(o out) {
	o.open(NS, "error")
	o.attr("type", string(e.typ()))
	if !e.By.IsZero() {
		o.attr("by", e.By.String())
	}
	c := string(e.cond())
	o.open(NSStanzaErrors, c)
	if e.hasURI() {
		o.text(e.URI)
	}
	o.end(NSStanzaErrors, c)
	if e.Text != "" || e.TextLang != "" || len(e.AltTexts) > 0 {
		textElem(o, NSStanzaErrors, "text", e.TextLang, e.Text)
	}
	for _, t := range e.AltTexts {
		textElem(o, NSStanzaErrors, "text", t.Lang, t.Value)
	}
	if e.App != nil {
		o.payload(e.App)
	}
	o.end(NS, "error")
}

// encodeError is returned for a stanza that cannot be encoded as it is.
type encodeError struct{ what, why string }

func (e *encodeError) Error() string { return "stanza: cannot encode " + e.what + ": " + e.why }

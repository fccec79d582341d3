package stanza

import (
	"encoding/xml"
	"strings"

	"mellium.im/xmlstream"
)

// StreamCondition is a defined condition of a stream error (RFC 6120
// §4.9.3). It implements error, so errors.Is(err, stanza.StreamConflict)
// reports whether err is or wraps a *StreamError with that condition.
type StreamCondition string

// The 25 defined conditions of RFC 6120 §4.9.3.
const (
	StreamBadFormat              StreamCondition = "bad-format"
	StreamBadNamespacePrefix     StreamCondition = "bad-namespace-prefix"
	StreamConflict               StreamCondition = "conflict"
	StreamConnectionTimeout      StreamCondition = "connection-timeout"
	StreamHostGone               StreamCondition = "host-gone"
	StreamHostUnknown            StreamCondition = "host-unknown"
	StreamImproperAddressing     StreamCondition = "improper-addressing"
	StreamInternalServerError    StreamCondition = "internal-server-error"
	StreamInvalidFrom            StreamCondition = "invalid-from"
	StreamInvalidNamespace       StreamCondition = "invalid-namespace"
	StreamInvalidXML             StreamCondition = "invalid-xml"
	StreamNotAuthorized          StreamCondition = "not-authorized"
	StreamNotWellFormed          StreamCondition = "not-well-formed"
	StreamPolicyViolation        StreamCondition = "policy-violation"
	StreamRemoteConnectionFailed StreamCondition = "remote-connection-failed"
	StreamReset                  StreamCondition = "reset"
	StreamResourceConstraint     StreamCondition = "resource-constraint"
	StreamRestrictedXML          StreamCondition = "restricted-xml"
	StreamSeeOtherHost           StreamCondition = "see-other-host"
	StreamSystemShutdown         StreamCondition = "system-shutdown"
	StreamUndefinedCondition     StreamCondition = "undefined-condition"
	StreamUnsupportedEncoding    StreamCondition = "unsupported-encoding"
	StreamUnsupportedFeature     StreamCondition = "unsupported-feature"
	StreamUnsupportedStanzaType  StreamCondition = "unsupported-stanza-type"
	StreamUnsupportedVersion     StreamCondition = "unsupported-version"
)

// Known reports whether c is one of the 25 defined conditions.
func (c StreamCondition) Known() bool {
	switch c {
	case StreamBadFormat, StreamBadNamespacePrefix, StreamConflict, StreamConnectionTimeout,
		StreamHostGone, StreamHostUnknown, StreamImproperAddressing, StreamInternalServerError,
		StreamInvalidFrom, StreamInvalidNamespace, StreamInvalidXML, StreamNotAuthorized,
		StreamNotWellFormed, StreamPolicyViolation, StreamRemoteConnectionFailed, StreamReset,
		StreamResourceConstraint, StreamRestrictedXML, StreamSeeOtherHost, StreamSystemShutdown,
		StreamUndefinedCondition, StreamUnsupportedEncoding, StreamUnsupportedFeature,
		StreamUnsupportedStanzaType, StreamUnsupportedVersion:
		return true
	}
	return false
}

// Error returns "stanza: stream error " and the condition.
func (c StreamCondition) Error() string { return "stanza: stream error " + string(c) }

// StreamError is a stream error (RFC 6120 §4.9): <stream:error/>. Every
// stream error ends the stream.
//
// Decoding reads an unknown or missing condition as
// StreamUndefinedCondition. Encoding writes an empty Condition as
// StreamUndefinedCondition and refuses unknown ones.
//
// A StreamError is a plain value: not safe to mutate from several
// goroutines at once.
type StreamError struct {
	Condition StreamCondition
	// Text is the first human-readable description, in the language
	// TextLang; AltTexts holds further ones in document order.
	Text     string
	TextLang string
	AltTexts []Text
	// Host is the content of see-other-host: where to reconnect.
	Host string
	// App is the application-specific condition, if any.
	App Payload
}

// Error returns a description such as "stanza: stream error conflict:
// replaced by new connection".
func (e *StreamError) Error() string {
	var b strings.Builder
	b.WriteString("stanza: stream error ")
	b.WriteString(string(e.cond()))
	if e.Host != "" && e.cond() == StreamSeeOtherHost {
		b.WriteString(" ")
		b.WriteString(e.Host)
	}
	if e.Text != "" {
		b.WriteString(": ")
		b.WriteString(e.Text)
	}
	return b.String()
}

// Is reports whether target is e's condition, or a *StreamError with the
// same condition.
func (e *StreamError) Is(target error) bool {
	switch t := target.(type) {
	case StreamCondition:
		return e.cond() == t
	case *StreamError:
		return t != nil && e.cond() == t.cond()
	}
	return false
}

func (e *StreamError) cond() StreamCondition {
	if e.Condition == "" {
		return StreamUndefinedCondition
	}
	return e.Condition
}

func (e *StreamError) check() error {
	if !e.cond().Known() {
		return &encodeError{"stream error", "unknown condition " + string(e.Condition)}
	}
	return nil
}

func (e *StreamError) encode(o out) {
	o.open(NSStream, "error")
	c := string(e.cond())
	o.open(NSStreamErrors, c)
	if e.cond() == StreamSeeOtherHost {
		o.text(e.Host)
	}
	o.end(NSStreamErrors, c)
	if e.Text != "" || e.TextLang != "" || len(e.AltTexts) > 0 {
		textElem(o, NSStreamErrors, "text", e.TextLang, e.Text)
	}
	for _, t := range e.AltTexts {
		textElem(o, NSStreamErrors, "text", t.Lang, t.Value)
	}
	if e.App != nil {
		o.payload(e.App)
	}
	o.end(NSStream, "error")
}

// WriteXML writes the stream error as tokens; the element's Name is
// {NSStream, "error"}.
func (e *StreamError) WriteXML(w xmlstream.TokenWriter) (int, error) {
	if err := e.check(); err != nil {
		return 0, err
	}
	return writeWith(w, e)
}

// AppendXML appends <stream:error>…</stream:error> to b, for a stream
// whose header binds the prefix "stream" to NSStream, as Parley's always
// does. On error it returns b unchanged.
func (e *StreamError) AppendXML(b []byte) ([]byte, error) {
	if err := e.check(); err != nil {
		return b, err
	}
	return appendWith(b, e)
}

// DecodeStreamError reads the stream error whose start element start has
// just been read from r, through its end element. Only errors of r are
// returned.
func DecodeStreamError(r xml.TokenReader, start xml.StartElement) (*StreamError, error) {
	t := &tokens{r: r}
	e := &StreamError{}
	textSeen := false
	for {
		tok, err := t.next()
		if err != nil {
			return nil, err
		}
		var child xml.StartElement
		switch tok := tok.(type) {
		case xml.EndElement:
			if !e.Condition.Known() {
				e.Condition = StreamUndefinedCondition
			}
			return e, nil
		case xml.StartElement:
			child = tok
		default:
			continue
		}
		switch {
		case child.Name.Space == NSStreamErrors && child.Name.Local == "text":
			v, err := t.text()
			if err != nil {
				return nil, err
			}
			keepText(&e.Text, &e.TextLang, &e.AltTexts, &textSeen, langOf(&child), v)
		case child.Name.Space == NSStreamErrors && e.Condition == "" && StreamCondition(child.Name.Local).Known():
			e.Condition = StreamCondition(child.Name.Local)
			v, err := t.text()
			if err != nil {
				return nil, err
			}
			if e.Condition == StreamSeeOtherHost {
				e.Host = strings.TrimSpace(v)
			}
		case child.Name.Space != NSStreamErrors && e.App == nil:
			raw, bad, err := t.raw(&child)
			if err != nil {
				return nil, err
			}
			if bad == nil {
				e.App = raw
			}
		default:
			if err := t.skip(); err != nil {
				return nil, err
			}
		}
	}
}

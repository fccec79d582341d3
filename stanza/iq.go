package stanza

import (
	"encoding/xml"
	"strconv"

	"mellium.im/xmlstream"
)

// IQ is an info/query stanza (RFC 6120 §8.2.3).
//
// A get or set carries exactly one Payload, a result zero or one. An error
// carries Error and, optionally, the request's payload in Payload. Decoded
// payloads are *Raw.
//
// An IQ is a plain value: not safe to mutate from several goroutines at
// once; encoding and reading it concurrently is safe.
type IQ struct {
	Header
	Type IQType

	Payload Payload
	// Error is the stanza error of an iq of type error.
	Error *Error
}

// Name returns {NS, "iq"}.
func (iq *IQ) Name() xml.Name { return xml.Name{Space: NS, Local: "iq"} }

func (*IQ) isStanza() {}

// Raw returns the payload if it is a *Raw, as it is after decoding.
func (iq *IQ) Raw() (*Raw, bool) {
	r, ok := iq.Payload.(*Raw)
	return r, ok && r != nil
}

// Result returns the result that answers iq, carrying p (which may be
// nil): same id, from and to swapped.
func (iq *IQ) Result(p Payload) *IQ {
	return &IQ{Header: iq.Header.reply(), Type: IQResult, Payload: p}
}

// ErrorReply returns the error that answers iq with e: same id, from and
// to swapped. The request's payload is not echoed.
func (iq *IQ) ErrorReply(e *Error) *IQ {
	return &IQ{Header: iq.Header.reply(), Type: IQError, Error: e}
}

func (iq *IQ) check() error {
	if iq.ID == "" {
		return &encodeError{"iq", "no id"}
	}
	switch iq.Type {
	case IQGet, IQSet:
		if iq.Payload == nil {
			return &encodeError{"iq", "a " + string(iq.Type) + " needs a payload"}
		}
	case IQResult:
	case IQError:
		if iq.Error == nil {
			return &encodeError{"iq", "an error needs an Error"}
		}
	default:
		return &encodeError{"iq", "unknown type " + strconv.Quote(string(iq.Type))}
	}
	if iq.Error != nil {
		return iq.Error.check()
	}
	return nil
}

func (iq *IQ) encode(o out) {
	o.open(NS, "iq")
	encodeHeader(o, &iq.Header, string(iq.Type))
	if iq.Payload != nil {
		o.payload(iq.Payload)
	}
	if iq.Error != nil && iq.Type == IQError {
		iq.Error.encode(o)
	}
	o.end(NS, "iq")
}

// WriteXML writes the iq as tokens to w (a mellium.im/xmlstream
// TokenWriter; an *xml.Encoder is one).
func (iq *IQ) WriteXML(w xmlstream.TokenWriter) (int, error) {
	if err := iq.check(); err != nil {
		return 0, err
	}
	return writeWith(w, iq)
}

// AppendXML appends the iq to b, for a stream whose default namespace is
// jabber:client. On error it returns b unchanged.
func (iq *IQ) AppendXML(b []byte) ([]byte, error) {
	if err := iq.check(); err != nil {
		return b, err
	}
	return appendWith(b, iq)
}

// DecodeIQ reads the iq whose start element start has just been read from
// r, through its end element. An iq without id, of unknown type, or with
// the wrong number of payloads is an *InvalidError with bad-request. See
// Decode.
func DecodeIQ(r xml.TokenReader, start xml.StartElement) (*IQ, error) {
	return decodeIQ(r, start, "")
}

func decodeIQ(r xml.TokenReader, start xml.StartElement, lang string) (*IQ, error) {
	var s stanzaReader
	s.init(r, &start, lang)
	iq := newIQ(&s.tokens)
	iq.Type = IQType(s.typ)
	if s.h.ID == "" {
		s.fault(BadRequest, "no id", nil)
	}
	if !iq.Type.valid() {
		s.fault(BadRequest, "unknown iq type "+strconv.Quote(s.typ), nil)
	}
	payloads := 0
	for {
		c, err := s.child()
		if err != nil {
			return nil, err
		}
		if c == nil {
			break
		}
		switch {
		case iq.Type == IQError && c.Name.Space == NS && c.Name.Local == "error" && iq.Error == nil:
			iq.Error, err = s.error(c)
		case iq.Type == IQError && c.Name.Space == NS && c.Name.Local == "error":
			err = s.skip()
		default:
			payloads++
			if payloads > 1 {
				err = s.skip()
				break
			}
			var raw *Raw
			if raw, err = s.extension(c); raw != nil {
				iq.Payload = raw
			}
		}
		if err != nil {
			return nil, err
		}
	}
	switch {
	case (iq.Type == IQGet || iq.Type == IQSet) && payloads != 1:
		s.fault(BadRequest, "a "+s.typ+" needs exactly one payload, not "+strconv.Itoa(payloads), nil)
	case iq.Type == IQResult && payloads > 1:
		s.fault(BadRequest, "a result carries at most one payload, not "+strconv.Itoa(payloads), nil)
	case iq.Type == IQError && iq.Error == nil:
		iq.Error = &Error{Type: ErrorCancel, Condition: UndefinedCondition}
	}
	iq.Header = s.h
	if err := s.result(); err != nil {
		return nil, err
	}
	return iq, nil
}

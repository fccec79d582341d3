package im

import (
	"encoding/xml"
	"errors"
	"fmt"
	"time"

	"mellium.im/xmlstream"

	"github.com/parleyim/parley/internal/xmlenc"
	"github.com/parleyim/parley/jid"
)

var delayName = xml.Name{Space: NSDelay, Local: "delay"}

// Delay is <delay xmlns='urn:xmpp:delay'/> (XEP-0203): a stanza was
// delivered late, for example from offline storage or a room's history.
// Stamp is when the stanza was first sent or stored, in UTC; From is the
// entity that delayed it (zero when not given); Reason is the optional
// natural-language text.
//
// Anyone who sends a stanza can put any delay in it: a Delay says what
// its From would vouch for only when From is an entity the receiver
// trusts, such as the account's own server for offline storage.
//
// Delay implements stanza.Payload. It is a plain value; compare stamps
// with time.Time.Equal.
type Delay struct {
	From   jid.JID
	Stamp  time.Time
	Reason string
}

// WriteXML writes the delay with its stamp in UTC as a XEP-0082 date-time
// (fractional seconds only when not zero). A zero Stamp, or one whose year
// in UTC is outside 0000–9999, is an error.
func (d Delay) WriteXML(w xmlstream.TokenWriter) (int, error) {
	if d.Stamp.IsZero() {
		return 0, errors.New("im: delay without a stamp")
	}
	stamp := d.Stamp.UTC()
	if y := stamp.Year(); y < 0 || y > 9999 {
		return 0, fmt.Errorf("im: delay stamp %v: year out of range", d.Stamp)
	}
	attrs := make([]xml.Attr, 0, 2)
	if !d.From.IsZero() {
		attrs = append(attrs, xml.Attr{Name: xml.Name{Local: "from"}, Value: d.From.String()})
	}
	attrs = append(attrs, xml.Attr{Name: xml.Name{Local: "stamp"}, Value: stamp.Format(time.RFC3339Nano)})
	t := xmlenc.Tokens{W: w}
	t.Start(delayName, attrs...)
	if d.Reason != "" {
		t.Token(xml.CharData(d.Reason))
	}
	t.End(delayName)
	return t.N, t.Err
}

// parseStamp reads a XEP-0082 DateTime, CCYY-MM-DDThh:mm:ss[.sss]TZD
// with TZD Z or ±hh:mm, and returns it in UTC. Fractional seconds may
// have any number of digits; those past the nanosecond are dropped. The
// date must exist, hours are 00–23, minutes and seconds 00–59 (no leap
// second), and offsets under 24 hours. time.Parse is laxer: it takes a
// comma before the fraction and an offset of +24:00.
func parseStamp(s string) (time.Time, error) {
	t, reason := stampValue(s)
	if reason != "" {
		return time.Time{}, fmt.Errorf("%w: delay stamp %q: %s", ErrMalformed, s, reason)
	}
	return t, nil
}

// stampValue does parseStamp's work; reason says what is wrong.
func stampValue(s string) (t time.Time, reason string) {
	const layout = "dddd-dd-ddTdd:dd:dd"
	if len(s) < len(layout)+1 {
		return t, "too short"
	}
	for i := range len(layout) {
		if layout[i] == 'd' {
			if s[i] < '0' || s[i] > '9' {
				return t, "not CCYY-MM-DDThh:mm:ss"
			}
		} else if s[i] != layout[i] {
			return t, "not CCYY-MM-DDThh:mm:ss"
		}
	}
	year, month, day := num(s[0:4]), num(s[5:7]), num(s[8:10])
	hour, minute, sec := num(s[11:13]), num(s[14:16]), num(s[17:19])
	rest := s[len(layout):]
	nsec := 0
	if rest[0] == '.' {
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			if i <= 9 {
				nsec = nsec*10 + int(rest[i]-'0')
			}
			i++
		}
		if i == 1 {
			return t, "no digits after the decimal point"
		}
		for d := i; d <= 9; d++ {
			nsec *= 10
		}
		rest = rest[i:]
	}
	offset := 0
	switch {
	case rest == "Z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':' &&
		digits(rest[1:3]) && digits(rest[4:6]):
		oh, om := num(rest[1:3]), num(rest[4:6])
		if oh > 23 || om > 59 {
			return t, "time zone offset out of range"
		}
		offset = (oh*60 + om) * 60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return t, "no time zone (Z or ±hh:mm)"
	}
	if month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return t, "field out of range"
	}
	t = time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if t.Day() != day {
		return time.Time{}, "no such day"
	}
	t = t.Add(-time.Duration(offset) * time.Second)
	if y := t.Year(); y < 0 || y > 9999 {
		return time.Time{}, "year out of range in UTC"
	}
	return t, ""
}

// num returns the value of s, which holds ASCII digits only.
func num(s string) int {
	n := 0
	for i := range len(s) {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// digits reports whether s holds ASCII digits only.
func digits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

package xmpptest

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"strings"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/xmlenc"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/sasl"
	"github.com/parleyim/parley/stanza"
)

// maxAuthFailures is how many failed SASL attempts a connection may make
// before the server ends its stream (RFC 6120 §6.4.5).
const maxAuthFailures = 3

// authenticate runs SASL (RFC 6120 §6) until a success, or ends the stream
// after too many failures.
func (c *conn) authenticate() error {
	for {
		start, err := c.next()
		if err != nil {
			return err
		}
		raw, err := stanza.ReadRaw(c.rd, start)
		if err != nil {
			return asStreamError(err)
		}
		switch raw.Name() {
		case xml.Name{Space: ns.SASL, Local: "auth"}:
		case xml.Name{Space: ns.SASL, Local: "abort"}:
			if err := c.saslFailure(sasl.Aborted, ""); err != nil {
				return err
			}
			continue
		case xml.Name{Space: ns.Client, Local: "iq"}:
			if !c.srv.cfg.Registration {
				return outOfOrder(start)
			}
			if err := c.preAuthIQ(raw); err != nil {
				return err
			}
			continue
		default:
			return outOfOrder(start)
		}
		done, err := c.saslExchange(raw)
		if err != nil || done {
			return err
		}
	}
}

// saslExchange runs one authentication started by <auth/>. done reports a
// success; a failure has been answered when done is false and err nil.
func (c *conn) saslExchange(auth *stanza.Raw) (done bool, err error) {
	mech := auth.Attr("mechanism")
	data, ok := decode64(auth.Text())
	if !ok {
		return false, c.saslFailure(sasl.IncorrectEncoding, "")
	}
	ex, chal, ok2, ferr := c.srv.sasl.Start(mech, data, c.tlsState)
	for {
		if ferr != nil {
			var f *sasl.Failure
			if !errors.As(ferr, &f) {
				f = sasl.NewFailure(string(sasl.TemporaryAuthFailure), "", "")
			}
			return false, c.saslFailure(f.Condition, f.Text)
		}
		if ok2 {
			if err := c.write(append(append([]byte("<success xmlns='"+ns.SASL+"'>"), enc64(chal)...), "</success>"...)); err != nil {
				return false, err
			}
			c.user = ex.Username()
			if j, err := jid.New(c.user, c.srv.domain.Domainpart(), ""); err == nil {
				c.user = j.Localpart() // as lookup found it
			}
			c.rd.Restart()
			return true, nil
		}
		if err := c.write(append(append([]byte("<challenge xmlns='"+ns.SASL+"'>"), enc64(chal)...), "</challenge>"...)); err != nil {
			return false, err
		}
		start, err := c.next()
		if err != nil {
			return false, err
		}
		resp, err := stanza.ReadRaw(c.rd, start)
		if err != nil {
			return false, asStreamError(err)
		}
		switch resp.Name() {
		case xml.Name{Space: ns.SASL, Local: "response"}:
		case xml.Name{Space: ns.SASL, Local: "abort"}:
			return false, c.saslFailure(sasl.Aborted, "")
		default:
			return false, outOfOrder(start)
		}
		data, ok := decode64(resp.Text())
		if !ok {
			return false, c.saslFailure(sasl.IncorrectEncoding, "")
		}
		chal, ok2, ferr = ex.Next(data)
	}
}

// saslFailure answers with <failure/>, and ends the stream after
// maxAuthFailures of them.
func (c *conn) saslFailure(cond sasl.Condition, text string) error {
	if cond == "" {
		cond = sasl.NotAuthorized
	}
	b := append([]byte("<failure xmlns='"+ns.SASL+"'><"), cond...)
	b = append(b, "/>"...)
	if text != "" {
		b = append(b, "<text xml:lang='en'>"...)
		b = xmlenc.AppendEscaped(b, text)
		b = append(b, "</text>"...)
	}
	b = append(b, "</failure>"...)
	if err := c.write(b); err != nil {
		return err
	}
	c.failures++
	if c.failures >= maxAuthFailures {
		return &stanza.StreamError{Condition: stanza.StreamPolicyViolation, Text: "too many failed authentication attempts"}
	}
	return nil
}

func enc64(b []byte) []byte {
	if len(b) == 0 {
		return []byte("=")
	}
	out := make([]byte, base64.StdEncoding.EncodedLen(len(b)))
	base64.StdEncoding.Encode(out, b)
	return out
}

func decode64(s string) ([]byte, bool) {
	s = strings.TrimSpace(s)
	if s == "" || s == "=" {
		return []byte{}, true
	}
	b, err := base64.StdEncoding.DecodeString(s)
	return b, err == nil
}

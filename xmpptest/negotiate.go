package xmpptest

import (
	"crypto/tls"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/wire"
	"github.com/parleyim/parley/internal/xmlenc"
	"github.com/parleyim/parley/stanza"
)

// negotiate runs the stream up to a bound resource: header, STARTTLS,
// SASL, header again, bind.
// A resumption (XEP-0198) instead of bind returns the resource
// resumed, which the connection now serves.
func (c *conn) negotiate() (*conn, error) {
	for {
		if err := c.openStream(); err != nil {
			return c, err
		}
		switch {
		case c.tlsState == nil:
			if err := c.awaitStartTLS(); err != nil {
				return c, err
			}
		case c.user == "":
			if err := c.authenticate(); err != nil {
				return c, err
			}
		default:
			return c.awaitBind()
		}
	}
}

// openStream reads the client's header and answers with the server's and
// the features of the stream's stage.
func (c *conn) openStream() error {
	c.wmu.Lock()
	c.headerSent = false
	c.wmu.Unlock()
	h, err := c.rd.ReadHeader()
	if err != nil {
		return err
	}
	c.lang = h.Lang
	if err := c.writeHeader(); err != nil {
		return err
	}
	switch {
	case h.NS != "" && h.NS != ns.Client:
		return &stanza.StreamError{Condition: stanza.StreamInvalidNamespace, Text: "the content namespace must be jabber:client"}
	case h.To == "":
		return &stanza.StreamError{Condition: stanza.StreamHostUnknown, Text: "the stream header has no 'to'"}
	case !strings.EqualFold(h.To, c.srv.domain.Domainpart()):
		return &stanza.StreamError{Condition: stanza.StreamHostUnknown, Text: "this server serves " + c.srv.domain.Domainpart()}
	}
	if major, _, _ := strings.Cut(h.Version, "."); major != "1" {
		return &stanza.StreamError{Condition: stanza.StreamUnsupportedVersion, Text: "version 1.0 is required"}
	}
	return c.write(c.appendFeatures(nil))
}

func (c *conn) writeHeader() error {
	id := newID()
	b := wire.AppendHeader(nil, wire.Header{From: c.srv.domain.Domainpart(), ID: id, Version: "1.0", Lang: "en"})
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.writeLocked(b); err != nil {
		return err
	}
	c.headerSent = true
	return nil
}

// appendFeatures appends <stream:features> for the stream's stage.
func (c *conn) appendFeatures(b []byte) []byte {
	b = append(b, "<stream:features>"...)
	switch {
	case c.tlsState == nil:
		b = append(b, "<starttls xmlns='"+ns.TLS+"'><required/></starttls>"...)
	case c.user == "":
		b = append(b, "<mechanisms xmlns='"+ns.SASL+"'>"...)
		for _, m := range c.srv.sasl.Mechanisms(c.tlsState) {
			b = append(b, "<mechanism>"...)
			b = xmlenc.AppendEscaped(b, m)
			b = append(b, "</mechanism>"...)
		}
		b = append(b, "</mechanisms>"...)
		if types := advertisedBindings(c); len(types) > 0 {
			b = append(b, "<sasl-channel-binding xmlns='"+ns.SASLCB+"'>"...)
			for _, t := range types {
				b = append(b, "<channel-binding type='"...)
				b = xmlenc.AppendEscaped(b, t)
				b = append(b, "'/>"...)
			}
			b = append(b, "</sasl-channel-binding>"...)
		}
		if c.srv.cfg.Registration {
			b = append(b, registerFeature...)
		}
	default:
		b = append(b, "<bind xmlns='"+ns.Bind+"'/>"...)
		if c.srv.cfg.RequireSession {
			b = append(b, "<session xmlns='"+ns.Session+"'/>"...)
		} else {
			b = append(b, "<session xmlns='"+ns.Session+"'><optional/></session>"...)
		}
		// The limit the server enforces on what it reads (XEP-0478), so
		// that a client can keep below it.
		b = append(b, "<limits xmlns='"+ns.Limits+"'><max-bytes>"...)
		b = strconv.AppendInt(b, int64(c.srv.cfg.MaxStanzaBytes), 10)
		b = append(b, "</max-bytes></limits>"...)
		for _, f := range c.srv.streamFeatures {
			b = append(b, f...)
		}
		if !c.srv.cfg.NoStreamManagement {
			b = append(b, "<sm xmlns='"+ns.SM+"'/>"...)
		}
	}
	return append(b, "</stream:features>"...)
}

// next reads the start of the client's next element. A stream error or
// the end of the client's stream is errPeerClosed.
func (c *conn) next() (xml.StartElement, error) {
	start, err := c.rd.NextElement()
	if errors.Is(err, wire.ErrStreamClosed) {
		return start, errPeerClosed
	}
	if err != nil {
		return start, err
	}
	if start.Name == (xml.Name{Space: ns.Stream, Local: "error"}) {
		_, _ = stanza.DecodeStreamError(c.rd, start)
		return start, errPeerClosed
	}
	return start, nil
}

// outOfOrder is the stream error for an element that the stage does not
// allow: a stanza before a resource is bound is not-authorized (RFC 6120
// §4.9.3.12), anything else an unsupported-stanza-type.
func outOfOrder(start xml.StartElement) error {
	if start.Name.Space == ns.Client {
		return &stanza.StreamError{Condition: stanza.StreamNotAuthorized, Text: "<" + start.Name.Local + "/> before authentication and resource binding"}
	}
	return &stanza.StreamError{Condition: stanza.StreamUnsupportedStanzaType, Text: "unexpected <" + start.Name.Local + "/>"}
}

// awaitStartTLS runs the plaintext stage (RFC 6120 §5.4): STARTTLS is
// required.
func (c *conn) awaitStartTLS() error {
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
		case xml.Name{Space: ns.TLS, Local: "starttls"}:
			if err := c.write([]byte("<proceed xmlns='" + ns.TLS + "'/>")); err != nil {
				return err
			}
			c.wmu.Lock()
			nc := c.nc
			c.wmu.Unlock()
			tc := tls.Server(nc, c.srv.tlsConf)
			if err := c.handshake(tc); err != nil {
				return err
			}
			c.setConn(tc)
			return nil
		case xml.Name{Space: ns.SASL, Local: "auth"}:
			if err := c.write([]byte("<failure xmlns='" + ns.SASL + "'><encryption-required/></failure>")); err != nil {
				return err
			}
		default:
			return outOfOrder(start)
		}
	}
}

// awaitBind runs resource binding (RFC 6120 §7), or a stream
// management resumption (XEP-0198 §5), which returns the resource
// resumed.
func (c *conn) awaitBind() (*conn, error) {
	for {
		start, err := c.next()
		if err != nil {
			return c, err
		}
		if start.Name.Space == ns.SM && !c.srv.cfg.NoStreamManagement {
			raw, err := stanza.ReadRaw(c.rd, start)
			if err != nil {
				return c, asStreamError(err)
			}
			switch raw.Name().Local {
			case "enable": // XEP-0198 §3: only once a resource is bound
				if err := c.write(smFailed("unexpected-request", nil)); err != nil {
					return c, err
				}
				continue
			case "resume":
				o, err := c.resume(raw)
				if o != nil {
					return o, err
				}
				if err != nil {
					return c, err
				}
				continue
			}
			return c, outOfOrder(start)
		}
		if start.Name != (xml.Name{Space: ns.Client, Local: "iq"}) {
			if err := skip(c.rd, start); err != nil {
				return c, err
			}
			return c, outOfOrder(start)
		}
		st, err := stanza.Decoder{}.Decode(c.rd, start)
		if err != nil {
			if ierr := (*stanza.InvalidError)(nil); errors.As(err, &ierr) {
				if ierr.Answerable() {
					if err := c.writeStanza(&stanza.IQ{Header: stanza.Header{ID: ierr.ID}, Type: stanza.IQError, Error: ierr.Reply}); err != nil {
						return c, err
					}
				}
				continue
			}
			return c, asStreamError(err)
		}
		iq := st.(*stanza.IQ)
		raw, ok := iq.Raw()
		if iq.Type != stanza.IQSet || !ok || raw.Name() != (xml.Name{Space: ns.Bind, Local: "bind"}) {
			return c, outOfOrder(start)
		}
		bound, err := c.bind(iq, raw)
		if err != nil || bound {
			return c, err
		}
	}
}

// skip reads the rest of the element whose start was just read.
func skip(r *wire.Reader, start xml.StartElement) error {
	for {
		_, err := r.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return asStreamError(err)
		}
	}
}

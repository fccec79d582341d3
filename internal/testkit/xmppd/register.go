package xmppd

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/parleyim/parley/internal/ns"
)

// This file holds the one piece of XMPP the package speaks itself: in-band
// registration (XEP-0077) of accounts on a freshly started server, over
// STARTTLS (RFC 6120 section 5). It spares ejabberd one ejabberdctl call,
// and so one Erlang VM boot, per account.

// registerRequest is the iq that asks for an account.
type registerRequest struct {
	XMLName xml.Name `xml:"jabber:client iq"`
	Type    string   `xml:"type,attr"`
	ID      string   `xml:"id,attr"`
	Query   struct {
		XMLName  xml.Name `xml:"jabber:iq:register query"`
		Username string   `xml:"username"`
		Password string   `xml:"password"`
	}
}

// iqReply is the part of the server's answer that matters.
type iqReply struct {
	Type  string `xml:"type,attr"`
	ID    string `xml:"id,attr"`
	Error *struct {
		Conditions []struct {
			XMLName xml.Name
		} `xml:",any"`
	} `xml:"error"`
}

// registerAccounts creates the accounts on the server at addr with
// in-band registration, one stream for all of them. It returns the names
// the server refused as existing in conflicts.
func registerAccounts(ctx context.Context, addr, domain string, pool *x509.CertPool, users map[string]string) (conflicts []string, err error) {
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("xmppd: register: %w", err)
	}
	defer raw.Close()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(30 * time.Second)
	}
	if err := raw.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("xmppd: register: %w", err)
	}

	dec, err := openStream(raw, domain)
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(raw, "<starttls xmlns='"+ns.TLS+"'/>"); err != nil {
		return nil, fmt.Errorf("xmppd: register: %w", err)
	}
	start, err := nextElement(dec)
	if err != nil {
		return nil, err
	}
	if start.Name != (xml.Name{Space: ns.TLS, Local: "proceed"}) {
		return nil, fmt.Errorf("xmppd: register: STARTTLS refused with <%s/>", start.Name.Local)
	}
	conn := tls.Client(raw, &tls.Config{RootCAs: pool, ServerName: domain})
	if err := conn.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("xmppd: register: TLS: %w", err)
	}
	if dec, err = openStream(conn, domain); err != nil {
		return nil, err
	}

	for user, pass := range users {
		var req registerRequest
		req.Type, req.ID = "set", "reg-"+user
		req.Query.Username, req.Query.Password = user, pass
		out, err := xml.Marshal(req)
		if err != nil {
			return nil, fmt.Errorf("xmppd: register: %w", err)
		}
		if _, err := conn.Write(out); err != nil {
			return nil, fmt.Errorf("xmppd: register: %w", err)
		}
		reply, err := readIQ(dec)
		if err != nil {
			return nil, err
		}
		switch {
		case reply.ID != req.ID:
			return nil, fmt.Errorf("xmppd: register %s: reply to %q", user, reply.ID)
		case reply.Type == "result":
		case reply.Error != nil && hasCondition(reply, "conflict"):
			conflicts = append(conflicts, user)
		default:
			return nil, fmt.Errorf("xmppd: register %s: iq %s %v", user, reply.Type, conditions(reply))
		}
	}
	_, _ = io.WriteString(conn, "</stream:stream>")
	return conflicts, nil
}

// openStream sends a stream header for domain and reads the server's
// header and stream features, returning the decoder for what follows.
func openStream(conn io.ReadWriter, domain string) (*xml.Decoder, error) {
	var to bytes.Buffer
	if err := xml.EscapeText(&to, []byte(domain)); err != nil {
		return nil, fmt.Errorf("xmppd: register: %w", err)
	}
	header := "<?xml version='1.0'?><stream:stream to='" + to.String() +
		"' version='1.0' xmlns='" + ns.Client + "' xmlns:stream='" + ns.Stream + "'>"
	if _, err := io.WriteString(conn, header); err != nil {
		return nil, fmt.Errorf("xmppd: register: %w", err)
	}
	dec := xml.NewDecoder(conn)
	start, err := nextElement(dec)
	if err != nil {
		return nil, err
	}
	if start.Name != (xml.Name{Space: ns.Stream, Local: "stream"}) {
		return nil, fmt.Errorf("xmppd: register: expected stream header, got <%s>", start.Name.Local)
	}
	feats, err := nextElement(dec)
	if err != nil {
		return nil, err
	}
	if feats.Name != (xml.Name{Space: ns.Stream, Local: "features"}) {
		return nil, fmt.Errorf("xmppd: register: expected stream features, got <%s>", feats.Name.Local)
	}
	if err := dec.Skip(); err != nil {
		return nil, fmt.Errorf("xmppd: register: %w", err)
	}
	return dec, nil
}

// nextElement returns the next start element, failing on the end of the
// stream.
func nextElement(dec *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := dec.Token()
		if err != nil {
			return xml.StartElement{}, fmt.Errorf("xmppd: register: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t, nil
		case xml.EndElement:
			return xml.StartElement{}, errors.New("xmppd: register: server closed the stream")
		}
	}
}

// readIQ reads the next iq, skipping other top-level elements.
func readIQ(dec *xml.Decoder) (*iqReply, error) {
	for {
		start, err := nextElement(dec)
		if err != nil {
			return nil, err
		}
		if start.Name.Local != "iq" {
			if err := dec.Skip(); err != nil {
				return nil, fmt.Errorf("xmppd: register: %w", err)
			}
			continue
		}
		var reply iqReply
		if err := dec.DecodeElement(&reply, &start); err != nil {
			return nil, fmt.Errorf("xmppd: register: %w", err)
		}
		return &reply, nil
	}
}

func conditions(reply *iqReply) []string {
	if reply.Error == nil {
		return nil
	}
	var names []string
	for _, c := range reply.Error.Conditions {
		if c.XMLName.Space == ns.StanzaErrors {
			names = append(names, c.XMLName.Local)
		}
	}
	return names
}

func hasCondition(reply *iqReply, name string) bool {
	for _, c := range conditions(reply) {
		if c == name {
			return true
		}
	}
	return false
}

package bench

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	goxmpp "github.com/xmppo/go-xmpp"
)

// github.com/xmppo/go-xmpp v0.4.1 reads stanzas in Client.Recv, which
// needs a logged-in connection; the parse step under it is unexported.
// decodeGoXMPP does what that receive path does, step for step, over the
// same encoding/xml Decoder: find the next start element with Token and
// CopyToken under the client's mutex; pick the struct by the element's
// name; DecodeElement into it; then turn it into what Recv returns — a
// Chat (with the other children's text collected and the delay stamp
// parsed), a Presence, or for an iq: the roster push marshalled back to
// bytes in an IQ, the ping answered with a result written to the
// connection (here io.Discard) and not returned, the disco#info result
// unmarshalled a second time from the iq's inner XML into a DiscoResult.
// The structs below have the library's fields and tags, which is what
// decides encoding/xml's work. Only the branches the corpus reaches are
// here (no pubsub events, no stream errors).

type gxOriginID struct {
	XMLName xml.Name `xml:"origin-id"`
	Text    string   `xml:",chardata"`
	Xmlns   string   `xml:"xmlns,attr"`
	ID      string   `xml:"id,attr"`
}

type gxPubsubItem struct {
	XMLName xml.Name `xml:"item"`
	ID      string   `xml:"id,attr"`
	Body    []byte   `xml:",innerxml"`
}

type gxPubsubEvent struct {
	XMLName xml.Name `xml:"event"`
	XMLNS   string   `xml:"xmlns,attr"`
	Items   struct {
		XMLName xml.Name       `xml:"items"`
		Node    string         `xml:"node,attr"`
		Items   []gxPubsubItem `xml:"item"`
	} `xml:"items"`
}

type gxMessage struct {
	XMLName  xml.Name        `xml:"jabber:client message"`
	From     string          `xml:"from,attr"`
	ID       string          `xml:"id,attr"`
	To       string          `xml:"to,attr"`
	Type     string          `xml:"type,attr"`
	Lang     string          `xml:"lang,attr"`
	Subject  string          `xml:"subject"`
	Body     string          `xml:"body"`
	Thread   string          `xml:"thread"`
	OriginID gxOriginID      `xml:"origin-id"`
	StanzaID goxmpp.StanzaID `xml:"stanza-id"`
	Event    gxPubsubEvent   `xml:"event"`
	Oob      goxmpp.Oob
	Other    []goxmpp.XMLElement `xml:",any"`
	Delay    struct {
		Stamp string `xml:"stamp,attr"`
	} `xml:"delay"`
}

type gxPresence struct {
	XMLName xml.Name `xml:"jabber:client presence"`
	From    string   `xml:"from,attr"`
	ID      string   `xml:"id,attr"`
	To      string   `xml:"to,attr"`
	Type    string   `xml:"type,attr"`
	Lang    string   `xml:"lang,attr"`
	X       struct {
		Text  string `xml:",chardata"`
		Xmlns string `xml:"xmlns,attr"`
		Item  struct {
			Text        string `xml:",chardata"`
			Affiliation string `xml:"affiliation,attr"`
			Jid         string `xml:"jid,attr"`
			Role        string `xml:"role,attr"`
		} `xml:"item"`
	} `xml:"x"`
	Show     string `xml:"show"`
	Status   string `xml:"status"`
	Priority string `xml:"priority,attr"` // sic: an attribute in the library
	Error    struct {
		By   string   `xml:"by,attr"`
		Type string   `xml:"type,attr"`
		Any  xml.Name `xml:",any"`
	} `xml:"error"`
}

type gxError struct {
	XMLName xml.Name `xml:"jabber:client error"`
	Any     xml.Name `xml:",any"`
	Code    string   `xml:",attr"`
	Type    string   `xml:"type,attr"`
	Text    struct {
		Text  string `xml:",chardata"`
		Xmlns string `xml:"xmlns,attr"`
		Lang  string `xml:"lang,attr"`
	} `xml:"text"`
}

type gxIQ struct {
	XMLName xml.Name          `xml:"jabber:client iq"`
	From    string            `xml:"from,attr"`
	ID      string            `xml:"id,attr"`
	To      string            `xml:"to,attr"`
	Type    string            `xml:"type,attr"`
	Query   goxmpp.XMLElement `xml:",any"`
	Error   gxError
	Bind    struct {
		XMLName  xml.Name `xml:"urn:ietf:params:xml:ns:xmpp-bind bind"`
		Resource string
		Jid      string `xml:"jid"`
	}
	InnerXML []byte `xml:",innerxml"`
}

type gxDiscoQuery struct {
	XMLName  xml.Name `xml:"query"`
	Features []struct {
		XMLName xml.Name `xml:"feature"`
		Var     string   `xml:"var,attr"`
	} `xml:"feature"`
	Identities []struct {
		XMLName  xml.Name `xml:"identity"`
		Category string   `xml:"category,attr"`
		Type     string   `xml:"type,attr"`
		Name     string   `xml:"name,attr"`
	} `xml:"identity"`
	X []goxmpp.DiscoX `xml:"x"`
}

// goxmppReader is the part of the library's Client that reading uses.
type goxmppReader struct {
	p  *xml.Decoder
	mu sync.Mutex
	w  io.Writer
}

func (c *goxmppReader) nextStart() (xml.StartElement, error) {
	for {
		c.mu.Lock()
		to, err := c.p.Token()
		if err != nil || to == nil {
			c.mu.Unlock()
			return xml.StartElement{}, err
		}
		t := xml.CopyToken(to)
		switch t := t.(type) {
		case xml.StartElement:
			c.mu.Unlock()
			return t, nil
		case xml.EndElement:
			if t.Name.Space == "http://etherx.jabber.org/streams" && t.Name.Local == "stream" {
				c.mu.Unlock()
				return xml.StartElement{}, errStreamClosed
			}
		}
		c.mu.Unlock()
	}
}

var errStreamClosed = errors.New("server closed stream")

// next is the library's next for the client stanzas.
func (c *goxmppReader) next() (any, error) {
	se, err := c.nextStart()
	if err != nil {
		return nil, err
	}
	var nv any
	switch se.Name.Space + " " + se.Name.Local {
	case "jabber:client message":
		nv = &gxMessage{}
	case "jabber:client presence":
		nv = &gxPresence{}
	case "jabber:client iq":
		nv = &gxIQ{}
	default:
		return nil, errors.New("unexpected XMPP message " + se.Name.Space + " <" + se.Name.Local + "/>")
	}
	c.mu.Lock()
	if err := c.p.DecodeElement(nv, &se); err != nil {
		return nil, err
	}
	c.mu.Unlock()
	return nv, nil
}

// recv is Recv for the stanzas of the corpus. raw is the struct the
// value came from, for the cross-check (a Chat has no To).
func (c *goxmppReader) recv() (v any, raw any, err error) {
	for {
		val, err := c.next()
		if err != nil {
			return nil, nil, err
		}
		switch v := val.(type) {
		case *gxMessage:
			stamp, _ := time.Parse("2006-01-02T15:04:05Z", v.Delay.Stamp)
			other := make([]string, len(v.Other))
			for i := range v.Other {
				other[i] = v.Other[i].String()
			}
			return goxmpp.Chat{
				Remote: v.From, Type: v.Type, Text: v.Body, Subject: v.Subject, Thread: v.Thread,
				Other: other, OtherElem: v.Other, Stamp: stamp, Lang: v.Lang, ID: v.ID,
				OriginID: v.OriginID.ID, StanzaID: v.StanzaID, Oob: v.Oob,
			}, v, nil
		case *gxPresence:
			return goxmpp.Presence{From: v.From, To: v.To, Type: v.Type, Show: v.Show, Status: v.Status,
				Priority: v.Priority, ID: v.ID, Affiliation: v.X.Item.Affiliation, Role: v.X.Item.Role,
				JID: v.X.Item.Jid, Error: v.Error.Any.Local}, v, nil
		case *gxIQ:
			switch {
			case v.Query.XMLName.Space == "urn:xmpp:ping" && v.Type == "get":
				fmt.Fprintf(c.w, "<iq type='result' to='%s' id='%s'/>\n", xmlEscape(v.From), xmlEscape(v.ID))
				return nil, v, nil // answered, not returned: the caller goes on
			case v.Type == "result" && v.Query.XMLName.Space == "http://jabber.org/protocol/disco#info":
				var disco gxDiscoQuery
				if err := xml.Unmarshal(v.InnerXML, &disco); err != nil {
					return nil, nil, err
				}
				var features []string
				for _, f := range disco.Features {
					features = append(features, f.Var)
				}
				var ids []goxmpp.DiscoIdentity
				for _, id := range disco.Identities {
					ids = append(ids, goxmpp.DiscoIdentity{Category: id.Category, Type: id.Type, Name: id.Name})
				}
				return goxmpp.DiscoResult{ID: v.ID, From: v.From, To: v.To, Features: features, Identities: ids, X: disco.X}, v, nil
			default:
				res, err := xml.Marshal(v.Query)
				if err != nil {
					return nil, nil, err
				}
				return goxmpp.IQ{ID: v.ID, From: v.From, To: v.To, Type: v.Type, Query: res}, v, nil
			}
		}
	}
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	xml.Escape(&b, []byte(s))
	return b.String()
}

func decodeGoXMPP(data []byte, visit func(v, raw any)) error {
	c := &goxmppReader{p: xml.NewDecoder(bytes.NewReader(data)), w: io.Discard}
	// Connecting, the library reads the stream header with nextStart.
	if _, err := c.nextStart(); err != nil {
		return err
	}
	for {
		v, raw, err := c.recv()
		if errors.Is(err, errStreamClosed) {
			return nil
		}
		if err != nil {
			return err
		}
		visit(v, raw)
	}
}

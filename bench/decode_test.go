package bench

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"

	goxmpp "github.com/xmppo/go-xmpp"
	gsstanza "gosrc.io/xmpp/stanza"
	"mellium.im/xmlstream"
	mxmpp "mellium.im/xmpp"
	mjid "mellium.im/xmpp/jid"
	mstanza "mellium.im/xmpp/stanza"
	mstream "mellium.im/xmpp/stream"

	"github.com/parleyim/parley/im"
	"github.com/parleyim/parley/internal/wire"
	"github.com/parleyim/parley/stanza"
)

// A decoder reads the corpus as one stream through a library's receive
// path and hands each stanza, as the library gives it to an application,
// to visit.
type decoder struct {
	name   string
	decode func(data []byte, visit func(any)) error
}

const floorName = "encoding/xml (floor)"

var decoders = []decoder{
	{"parley", decodeParley},
	{"mellium", decodeMellium},
	{"gosrc", decodeGosrc},
	{"go-xmpp", func(data []byte, visit func(any)) error {
		return decodeGoXMPP(data, func(_, raw any) { visit(raw) })
	}},
	{floorName, decodeRawToken},
}

// decodeParley is the session's reader (session/read.go) without the
// queue: the stream reader finds each top-level element, the stanza
// decoder makes it a typed stanza, and for a message im.Parse reads its
// extensions, as the im package's Manager does before handing it on.
func decodeParley(data []byte, visit func(any)) error {
	rd := wire.NewReader(bytes.NewReader(data), wire.Limits{})
	h, err := rd.ReadHeader()
	if err != nil {
		return err
	}
	dec := stanza.Decoder{Lang: h.Lang}
	for {
		name, err := rd.NextName()
		if errors.Is(err, wire.ErrStreamClosed) {
			return nil
		}
		if err != nil {
			return err
		}
		st, err := dec.Decode(rd, xml.StartElement{Name: name})
		if err != nil {
			return err
		}
		if m, ok := st.(*stanza.Message); ok {
			x, err := im.Parse(m)
			if err != nil {
				return err
			}
			visit(&im.Message{Message: m, Extensions: x})
			continue
		}
		visit(st)
	}
}

// mellium.im/xmpp hands a handler the start element and a reader of the
// rest; as its mux's handlers do, the start goes back in front and the
// whole decodes into a struct that embeds the stanza type with the
// children the application wants.
type mMessage struct {
	mstanza.Message
	Body   string `xml:"body"`
	Thread string `xml:"thread"`
}

type mPresence struct {
	mstanza.Presence
	Show     string `xml:"show"`
	Status   string `xml:"status"`
	Priority int8   `xml:"priority"`
}

var (
	mAccount = mjid.MustParse(account)
	mDomain  = mjid.MustParse("example.test")
)

// decodeMellium runs a Session over the corpus: a Negotiator that only
// reads the stream header stands in for the login, and Serve then reads
// the stanzas as it does on a connection, writing what it sends (its
// error replies to iq gets and sets the handler leaves unanswered) to
// io.Discard.
func decodeMellium(data []byte, visit func(any)) error {
	rw := struct {
		io.Reader
		io.Writer
	}{bytes.NewReader(data), io.Discard}
	s, err := mxmpp.NewSession(context.Background(), mDomain, mAccount, rw, 0,
		func(_ context.Context, in, _ *mstream.Info, s *mxmpp.Session, _ any) (mxmpp.SessionState, io.ReadWriter, any, error) {
			r := s.TokenReader()
			defer r.Close()
			for {
				tok, err := r.Token()
				if err != nil {
					return 0, nil, nil, err
				}
				if start, ok := tok.(xml.StartElement); ok {
					return mxmpp.Ready | mxmpp.Secure | mxmpp.Authn, nil, nil, in.FromStartElement(start)
				}
			}
		})
	if err != nil {
		return err
	}
	return s.Serve(mxmpp.HandlerFunc(func(t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
		switch start.Name.Local {
		case "message":
			var m mMessage
			if err := xml.NewTokenDecoder(xmlstream.MultiReader(xmlstream.Token(*start), t)).Decode(&m); err != nil {
				return err
			}
			visit(&m)
		case "presence":
			var p mPresence
			if err := xml.NewTokenDecoder(xmlstream.MultiReader(xmlstream.Token(*start), t)).Decode(&p); err != nil {
				return err
			}
			visit(&p)
		case "iq":
			iq, err := mstanza.NewIQ(*start)
			if err != nil {
				return err
			}
			visit(&iq)
		}
		return nil
	}))
}

// decodeGosrc is the loop of gosrc.io/xmpp's Client.recv: NextPacket on
// the transport's xml.Decoder, after the stream header.
func decodeGosrc(data []byte, visit func(any)) error {
	d := xml.NewDecoder(bytes.NewReader(data))
	if _, err := gsstanza.NextStart(d); err != nil {
		return err
	}
	for {
		p, err := gsstanza.NextPacket(d)
		if err != nil {
			return err
		}
		if _, ok := p.(gsstanza.StreamClosePacket); ok {
			return nil
		}
		visit(p)
	}
}

// decodeRawToken is the floor: encoding/xml's tokenizer without namespace
// resolution or any stanza, counting the top-level elements.
func decodeRawToken(data []byte, visit func(any)) error {
	d := xml.NewDecoder(bytes.NewReader(data))
	depth := 0
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 {
				visit(t.Name.Local)
			}
		case xml.EndElement:
			depth--
		}
	}
}

// item is the common projection the decoders must agree on.
type item struct {
	Kind, ID, From, To, Body string
}

// project maps what a decoder handed on to the projection.
func project(v any) (item, error) {
	switch v := v.(type) {
	case string: // the floor
		return item{Kind: v}, nil
	case *im.Message:
		return item{"message", v.ID, v.From.String(), v.To.String(), v.Body}, nil
	case *stanza.Presence:
		return item{"presence", v.ID, v.From.String(), v.To.String(), ""}, nil
	case *stanza.IQ:
		return item{"iq", v.ID, v.From.String(), v.To.String(), ""}, nil
	case *mMessage:
		return item{"message", v.ID, v.From.String(), v.To.String(), v.Body}, nil
	case *mPresence:
		return item{"presence", v.ID, v.From.String(), v.To.String(), ""}, nil
	case *mstanza.IQ:
		return item{"iq", v.ID, v.From.String(), v.To.String(), ""}, nil
	case gsstanza.Message:
		return item{"message", v.Id, v.From, v.To, v.Body}, nil
	case gsstanza.Presence:
		return item{"presence", v.Id, v.From, v.To, ""}, nil
	case *gsstanza.IQ:
		return item{"iq", v.Id, v.From, v.To, ""}, nil
	case *gxMessage:
		return item{"message", v.ID, v.From, v.To, v.Body}, nil
	case *gxPresence:
		return item{"presence", v.ID, v.From, v.To, ""}, nil
	case *gxIQ:
		return item{"iq", v.ID, v.From, v.To, ""}, nil
	case goxmpp.Chat:
		return item{}, errors.New("unexpected goxmpp.Chat")
	}
	return item{}, fmt.Errorf("unexpected %T", v)
}

// projection decodes data with d and projects every stanza.
func projection(d decoder, data []byte) ([]item, error) {
	var items []item
	var perr error
	err := d.decode(data, func(v any) {
		it, err := project(v)
		if err != nil && perr == nil {
			perr = err
		}
		items = append(items, it)
	})
	if err == nil {
		err = perr
	}
	return items, err
}

package disco

import (
	"context"
	"encoding/xml"
	"slices"
	"strings"
	"sync"

	"github.com/parleyim/parley/form"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// DefaultNode is the caps node a Responder announces unless SetNode
// changes it: a URI that names the software (XEP-0115).
const DefaultNode = "https://github.com/parleyim/parley"

// Responder answers disco#info queries about this client. Handle creates
// it and registers it on a Mux. Its answer is built at each query from the
// Mux's Features (so it lists exactly the namespaces of the handlers
// registered at that moment, plus Mux.AddFeature), and from the identities
// and forms set on the Responder.
//
// It answers queries for no node and for its caps node "node#ver" with the
// current ver; any other node gets item-not-found.
//
// A Responder is safe for concurrent use: the setters may be called while
// queries are being answered.
type Responder struct {
	mux *session.Mux

	mu         sync.RWMutex
	identities []Identity
	forms      []form.Form
	node       string
}

// Handle registers a disco#info responder on mux and returns it. It declares
// the features http://jabber.org/protocol/disco#info and
// http://jabber.org/protocol/caps on mux. With no identities the client
// announces DefaultIdentity.
func Handle(mux *session.Mux, identities ...Identity) *Responder {
	r := &Responder{mux: mux, node: DefaultNode}
	r.SetIdentities(identities...)
	mux.HandleIQ(stanza.IQGet, xml.Name{Space: NSInfo, Local: "query"}, r)
	mux.AddFeature(NSInfo)
	mux.AddFeature(NSCaps)
	return r
}

// SetIdentities replaces the client's identities; none means
// DefaultIdentity.
func (r *Responder) SetIdentities(identities ...Identity) {
	ids := slices.Clone(identities)
	if len(ids) == 0 {
		ids = []Identity{DefaultIdentity}
	}
	r.mu.Lock()
	r.identities = ids
	r.mu.Unlock()
}

// SetForms replaces the extended information forms (XEP-0128) announced
// with the client's disco#info. Each should carry a hidden FORM_TYPE (see
// form.New).
func (r *Responder) SetForms(forms ...form.Form) {
	fs := make([]form.Form, len(forms))
	for i, f := range forms {
		fs[i] = f.Clone()
	}
	r.mu.Lock()
	r.forms = fs
	r.mu.Unlock()
}

// SetNode sets the caps node, a URI naming the client software.
func (r *Responder) SetNode(node string) {
	r.mu.Lock()
	r.node = node
	r.mu.Unlock()
}

// Info returns the disco#info the Responder would answer now, for no node.
func (r *Responder) Info() *Info {
	info, _ := r.snapshot()
	return info
}

func (r *Responder) snapshot() (*Info, string) {
	features := r.mux.Features()
	r.mu.RLock()
	defer r.mu.RUnlock()
	info := &Info{Identities: slices.Clone(r.identities), Features: features}
	for _, f := range r.forms {
		info.Forms = append(info.Forms, f.Clone())
	}
	return info, r.node
}

// Caps returns the caps element for the client's current disco#info,
// with DefaultHash. It fails with ErrIllFormed when the identities or forms
// set break the rules of XEP-0115 (a duplicate identity, say).
func (r *Responder) Caps() (Caps, error) {
	info, node := r.snapshot()
	ver, err := Ver(info, DefaultHash)
	if err != nil {
		return Caps{}, err
	}
	return Caps{Hash: DefaultHash, Node: node, Ver: ver}, nil
}

// Attach puts the client's current caps element into p, replacing any caps
// element p already has. Send it with every available presence; call
// Attach again after registering handlers, since the ver changes with the
// features.
func (r *Responder) Attach(p *stanza.Presence) error {
	c, err := r.Caps()
	if err != nil {
		return err
	}
	p.Extensions = slices.DeleteFunc(p.Extensions, isCapsPayload)
	p.Extensions = append(p.Extensions, c)
	return nil
}

func isCapsPayload(x stanza.Payload) bool {
	switch v := x.(type) {
	case Caps, *Caps:
		return true
	case *stanza.Raw:
		return v.Name() == xml.Name{Space: NSCaps, Local: "c"}
	}
	return false
}

// HandleIQ answers a disco#info get. It implements session.IQHandler.
func (r *Responder) HandleIQ(_ context.Context, _ *session.Session, iq *stanza.IQ) (stanza.Payload, error) {
	node := ""
	if raw, ok := iq.Raw(); ok {
		if start, err := firstStart(raw.TokenReader()); err == nil {
			node = attrValue(start, "node")
		}
	}
	info, capsNode := r.snapshot()
	if node == "" {
		return info, nil
	}
	if ver, ok := strings.CutPrefix(node, capsNode+"#"); ok && capsNode != "" {
		if cur, err := Ver(info, DefaultHash); err == nil && cur == ver {
			info.Node = node
			return info, nil
		}
	}
	return nil, stanza.ItemNotFound
}

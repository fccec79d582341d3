package session

import (
	"context"
	"encoding/xml"
	"slices"
	"sync"

	"github.com/parleyim/parley/stanza"
)

// IQHandler answers an iq get or set. The payload it returns is sent in the
// result (nil sends an empty result); an error is sent as the iq error: a
// *stanza.Error as it is, a stanza.Condition with its default type, and
// any other error as internal-server-error (its text is logged, not sent).
type IQHandler interface {
	HandleIQ(ctx context.Context, s *Session, iq *stanza.IQ) (stanza.Payload, error)
}

// IQHandlerFunc adapts a function to an IQHandler.
type IQHandlerFunc func(ctx context.Context, s *Session, iq *stanza.IQ) (stanza.Payload, error)

// HandleIQ calls f(ctx, s, iq).
func (f IQHandlerFunc) HandleIQ(ctx context.Context, s *Session, iq *stanza.IQ) (stanza.Payload, error) {
	return f(ctx, s, iq)
}

// MessageHandler handles an incoming message.
type MessageHandler interface {
	HandleMessage(ctx context.Context, s *Session, m *stanza.Message)
}

// MessageHandlerFunc adapts a function to a MessageHandler.
type MessageHandlerFunc func(ctx context.Context, s *Session, m *stanza.Message)

// HandleMessage calls f(ctx, s, m).
func (f MessageHandlerFunc) HandleMessage(ctx context.Context, s *Session, m *stanza.Message) {
	f(ctx, s, m)
}

// PresenceHandler handles an incoming presence.
type PresenceHandler interface {
	HandlePresence(ctx context.Context, s *Session, p *stanza.Presence)
}

// PresenceHandlerFunc adapts a function to a PresenceHandler.
type PresenceHandlerFunc func(ctx context.Context, s *Session, p *stanza.Presence)

// HandlePresence calls f(ctx, s, p).
func (f PresenceHandlerFunc) HandlePresence(ctx context.Context, s *Session, p *stanza.Presence) {
	f(ctx, s, p)
}

// MessageRoute selects messages. The zero value selects every message.
type MessageRoute struct {
	// Types lists the message types wanted; empty means all.
	Types []stanza.MessageType
	// Payload, when not zero, requires a child element with this name; a
	// Payload with an empty Local matches any child in that namespace.
	Payload xml.Name
}

// MessageTypes returns the route that selects the messages of the given
// types, whatever their payload:
//
//	mux.HandleMessageFunc(session.MessageTypes(stanza.MessageChat), f)
//
// With no types it selects every message, like the zero MessageRoute.
func MessageTypes(types ...stanza.MessageType) MessageRoute {
	return MessageRoute{Types: slices.Clone(types)}
}

// PresenceRoute selects presence stanzas. The zero value selects all.
type PresenceRoute struct {
	// Types lists the presence types wanted (stanza.PresenceAvailable is
	// a type like the others); empty means all.
	Types []stanza.PresenceType
	// Payload is as in MessageRoute.
	Payload xml.Name
}

// PresenceTypes returns the route that selects the presence stanzas of
// the given types, whatever their payload:
//
//	mux.HandlePresenceFunc(session.PresenceTypes(stanza.PresenceSubscribe), f)
//
// With no types it selects every presence, like the zero PresenceRoute.
func PresenceTypes(types ...stanza.PresenceType) PresenceRoute {
	return PresenceRoute{Types: slices.Clone(types)}
}

// Mux routes incoming stanzas to handlers, in the spirit of
// net/http.ServeMux. It does not belong to any one stream: a client that
// reconnects can give the same Mux (with the handlers, caches and trackers
// registered on it) to each new session.
//
// An iq get or set goes to exactly one handler: the one registered for its
// type and the exact name of its payload, else the one registered for its
// type and the payload's namespace (a name with an empty Local). With none,
// the session answers service-unavailable. Registering a second handler
// for the same type and name panics, as net/http.ServeMux does: replacing
// it silently would switch off someone else's handler. Messages and
// presence go to every handler whose route matches, in registration order.
//
// Lifecycle hooks (HandleStart, HandleClose, HandleEnd) let a feature
// package act when a stream becomes ready, when Close is about to end it
// and when it has ended: fetch the roster before initial presence goes
// out, say goodbye to whoever was sent directed presence, forget who is
// online.
//
// A Mux is safe for concurrent use; registering while stanzas are being
// dispatched is allowed and applies to later stanzas (and hooks to later
// streams).
type Mux struct {
	mu       sync.RWMutex
	iq       map[iqKey]IQHandler
	msg      []msgEntry
	pres     []presEntry
	features []string
	start    []func(ctx context.Context, s *Session, resumed bool)
	end      []func(s *Session, err error)
	closing  []func(ctx context.Context, s *Session)
}

type iqKey struct {
	typ  stanza.IQType
	name xml.Name
}

// String names the payload of k: {space local}, or {space} for a whole
// namespace.
func (k iqKey) String() string {
	if k.name.Local == "" {
		return "{" + k.name.Space + "}"
	}
	return "{" + k.name.Space + " " + k.name.Local + "}"
}

type msgEntry struct {
	route MessageRoute
	h     MessageHandler
}

type presEntry struct {
	route PresenceRoute
	h     PresenceHandler
}

// NewMux returns an empty Mux.
func NewMux() *Mux { return &Mux{iq: make(map[iqKey]IQHandler)} }

// HandleIQ registers h for iqs of type typ (stanza.IQGet or stanza.IQSet)
// whose payload is named payload (or, with an empty Local, is in the
// namespace payload.Space). It panics if a handler is already registered
// for the same type and name (a name and its namespace alone are
// different registrations), if typ is not get or set, or if payload.Space
// is empty: those are programming errors.
func (m *Mux) HandleIQ(typ stanza.IQType, payload xml.Name, h IQHandler) {
	if typ != stanza.IQGet && typ != stanza.IQSet {
		panic("session: HandleIQ for iq type " + string(typ) + ", want get or set")
	}
	if payload.Space == "" {
		panic("session: HandleIQ without a payload namespace")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := iqKey{typ, payload}
	if _, dup := m.iq[k]; dup {
		panic("session: multiple registrations for iq " + string(typ) + " " + k.String())
	}
	if m.iq == nil {
		m.iq = make(map[iqKey]IQHandler)
	}
	m.iq[k] = h
	m.addFeatureLocked(payload.Space)
}

// HandleIQFunc registers f as in HandleIQ.
func (m *Mux) HandleIQFunc(typ stanza.IQType, payload xml.Name, f func(ctx context.Context, s *Session, iq *stanza.IQ) (stanza.Payload, error)) {
	m.HandleIQ(typ, payload, IQHandlerFunc(f))
}

// HandleMessage registers h for the messages that route selects.
func (m *Mux) HandleMessage(route MessageRoute, h MessageHandler) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msg = append(m.msg, msgEntry{route, h})
	if route.Payload.Space != "" {
		m.addFeatureLocked(route.Payload.Space)
	}
}

// HandleMessageFunc registers f as in HandleMessage.
func (m *Mux) HandleMessageFunc(route MessageRoute, f func(ctx context.Context, s *Session, msg *stanza.Message)) {
	m.HandleMessage(route, MessageHandlerFunc(f))
}

// HandlePresence registers h for the presence stanzas that route selects.
func (m *Mux) HandlePresence(route PresenceRoute, h PresenceHandler) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pres = append(m.pres, presEntry{route, h})
}

// HandlePresenceFunc registers f as in HandlePresence.
func (m *Mux) HandlePresenceFunc(route PresenceRoute, f func(ctx context.Context, s *Session, p *stanza.Presence)) {
	m.HandlePresence(route, PresenceHandlerFunc(f))
}

// AddFeature declares a feature (a namespace, XEP-0030) that the client
// supports beyond those implied by its handlers.
func (m *Mux) AddFeature(ns string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.addFeatureLocked(ns)
}

func (m *Mux) addFeatureLocked(ns string) {
	if !slices.Contains(m.features, ns) {
		m.features = append(m.features, ns)
	}
}

// Features returns the features the client supports: the namespaces of
// the iq payloads and message payloads it has handlers for, and those
// added with AddFeature, sorted. Service discovery answers from it, so the
// answer never drifts from what the client really handles.
func (m *Mux) Features() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := slices.Clone(m.features)
	slices.Sort(out)
	return out
}

// iqHandler returns the handler for an iq get or set, or nil.
func (m *Mux) iqHandler(typ stanza.IQType, payload xml.Name) IQHandler {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if h, ok := m.iq[iqKey{typ, payload}]; ok {
		return h
	}
	return m.iq[iqKey{typ, xml.Name{Space: payload.Space}}]
}

// messageHandlers appends the handlers whose route matches msg.
func (m *Mux) messageHandlers(dst []MessageHandler, msg *stanza.Message) []MessageHandler {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, e := range m.msg {
		if (len(e.route.Types) == 0 || slices.Contains(e.route.Types, msg.Type)) &&
			hasPayload(msg.Extensions, e.route.Payload) {
			dst = append(dst, e.h)
		}
	}
	return dst
}

// presenceHandlers appends the handlers whose route matches p.
func (m *Mux) presenceHandlers(dst []PresenceHandler, p *stanza.Presence) []PresenceHandler {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, e := range m.pres {
		if (len(e.route.Types) == 0 || slices.Contains(e.route.Types, p.Type)) &&
			hasPayload(p.Extensions, e.route.Payload) {
			dst = append(dst, e.h)
		}
	}
	return dst
}

// hasPayload reports whether exts has an element matching want; a zero
// want matches anything.
func hasPayload(exts []stanza.Payload, want xml.Name) bool {
	if want == (xml.Name{}) {
		return true
	}
	for _, e := range exts {
		r, ok := e.(*stanza.Raw)
		if !ok {
			continue
		}
		n := r.Name()
		if n.Space == want.Space && (want.Local == "" || n.Local == want.Local) {
			return true
		}
	}
	return false
}

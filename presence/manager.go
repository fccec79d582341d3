package presence

import (
	"context"
	"encoding/xml"
	"log/slog"
	"sync"
	"time"

	"github.com/parleyim/parley/disco"
	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/roster"
	"github.com/parleyim/parley/session"
	"github.com/parleyim/parley/stanza"
)

// Options configures a Manager. The zero value (or nil) is useful: no caps
// sent or resolved, the default bounds, no logging.
type Options struct {
	// Responder, when set, puts the client's own entity capabilities
	// (XEP-0115, Responder.Attach) into every available presence the
	// Manager sends, broadcast and directed.
	Responder *disco.Responder
	// Caps, when set, is where the capabilities that contacts announce
	// in their presence are resolved and verified (disco.Cache.Lookup),
	// outside the handler queue; Manager.Info reads it.
	Caps *disco.Cache
	// CapsLookups is how many caps lookups may run at once on a stream;
	// zero means DefaultCapsLookups.
	CapsLookups int
	// MaxResources is the number of resources per contact the Tracker
	// keeps; zero means DefaultMaxResources.
	MaxResources int
	// MaxPending is the number of unanswered subscription requests
	// Pending keeps (the oldest goes first); zero means
	// DefaultMaxPending.
	MaxPending int
	// Logger receives what the Manager ignores and why; nil means
	// silence.
	Logger *slog.Logger
}

// Manager is the presence of the account a Mux's sessions log in to: what
// it announces (initial presence on each new stream, changes, directed
// presence and going offline), its subscriptions, the application's
// callbacks, and the Tracker of who is online. Handle makes it.
//
// A Manager is safe for concurrent use. Callbacks may be added while
// sessions run and apply to later stanzas. It follows one stream at a
// time, the way a reconnecting client uses a Mux.
type Manager struct {
	roster    *roster.Roster
	tracker   *Tracker
	responder *disco.Responder
	caps      *disco.Cache
	lookups   int
	log       *slog.Logger
	now       func() time.Time
	parsed    parsedCaps

	mu         sync.Mutex
	own        Available // what goes out on each new stream, if available
	available  bool
	directed   map[jid.JID]Available // what each got, sent again on each new stream
	pending    map[jid.JID]Request
	pendingSeq uint64
	maxPending int
	streams    map[*session.Session]*stream

	fmu        sync.RWMutex
	requestFs  []func(ctx context.Context, s *session.Session, req Request) Decision
	changeFs   []func(ctx context.Context, s *session.Session, c Change)
	broadcasts []func(ctx context.Context, s *session.Session, e Event)
	errorFs    []func(ctx context.Context, s *session.Session, from jid.JID, err *stanza.Error)
}

// Handle registers the presence package on mux and returns its Manager.
// rs is the roster that roster.Handle registered on the same mux: call
// roster.Handle first, so that its start hook fetches the roster before
// this one sends initial presence (RFC 6121 §2.2, §4.2), and the Tracker
// knows who the contacts are. Handle registers:
//
//   - a start hook that, on each new stream (not a resumed one), empties
//     the Tracker and the pending requests and sends initial presence:
//     the last available presence set with SetAvailable (plain available
//     presence until then), with the client's caps when Options.Responder
//     is set; after SetUnavailable it sends none until SetAvailable is
//     called. Then it sends each directed presence not yet ended
//     (SendDirected) again, sorted by address, with the same content and
//     the client's caps, available or not: a stream that broke lost them
//     at the server, and they stay remembered. A resumed stream sends
//     nothing and keeps all this state.
//   - a presence handler for every presence: broadcasts update the
//     Tracker and reach HandleBroadcast callbacks, subscription requests
//     HandleRequest callbacks, subscription changes HandleChange
//     callbacks, presence errors HandleError callbacks (see the package
//     documentation for the rules). Presence carrying a MUC user element
//     (XEP-0045) is left to a group-chat package and ignored here.
//   - a close hook (session.Mux.HandleClose) that sends unavailable
//     presence to every entity that got directed presence through the
//     Manager and not yet its end, before Close sends the broadcast one;
//   - an end hook that stops the stream's caps lookups and waits for them;
//   - a roster push callback: a contact removed from the roster, or
//     whose presence the account no longer subscribes to (subscription
//     none or from), is no longer tracked, and a pending request that
//     the roster shows answered is no longer pending.
//
// Handle panics if rs is nil.
func Handle(mux *session.Mux, rs *roster.Roster, opts *Options) *Manager {
	if rs == nil {
		panic("presence: Handle needs the roster: call roster.Handle(mux) first and pass its result")
	}
	if opts == nil {
		opts = &Options{}
	}
	m := &Manager{
		roster:     rs,
		tracker:    newTracker(opts.MaxResources),
		responder:  opts.Responder,
		caps:       opts.Caps,
		lookups:    opts.CapsLookups,
		log:        opts.Logger,
		now:        time.Now,
		available:  true,
		maxPending: opts.MaxPending,
		streams:    make(map[*session.Session]*stream),
	}
	if m.lookups <= 0 {
		m.lookups = DefaultCapsLookups
	}
	if m.maxPending <= 0 {
		m.maxPending = DefaultMaxPending
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	mux.HandleStart(m.start)
	mux.HandlePresence(session.PresenceRoute{}, m)
	mux.HandleClose(m.close)
	mux.HandleEnd(m.end)
	rs.HandlePush(m.rosterPush)
	return m
}

// Tracker returns the Manager's tracker.
func (m *Manager) Tracker() *Tracker { return m.tracker }

// HandleRequest registers f to decide on subscription requests (RFC 6121
// §3.1.3): presence of type subscribe from a contact or from anyone else.
// Callbacks run in registration order until one returns Approve or Deny,
// which the Manager then sends; with Undecided from all (or no callback)
// the request stays pending — in Pending, and on the server, which
// delivers it again at the next login — and can be answered later with
// Approve or Deny. f runs on the session's dispatcher, like a handler.
func (m *Manager) HandleRequest(f func(ctx context.Context, s *session.Session, req Request) Decision) {
	m.fmu.Lock()
	defer m.fmu.Unlock()
	m.requestFs = append(m.requestFs, f)
}

// HandleChange registers f to be called with each change a contact makes
// to a subscription: subscribed (a request of the account's was
// approved), unsubscribed (it was denied, or the contact cancelled the
// account's subscription), unsubscribe (the contact unsubscribed from the
// account's presence, or withdrew its request). f runs on the session's
// dispatcher, like a handler.
func (m *Manager) HandleChange(f func(ctx context.Context, s *session.Session, c Change)) {
	m.fmu.Lock()
	defer m.fmu.Unlock()
	m.changeFs = append(m.changeFs, f)
}

// HandleBroadcast registers f to be called with each change of the
// Tracker: a resource of a contact or of the account came online, changed
// or went offline. It is called after the Tracker has changed, on the
// session's dispatcher, like a handler.
func (m *Manager) HandleBroadcast(f func(ctx context.Context, s *session.Session, e Event)) {
	m.fmu.Lock()
	defer m.fmu.Unlock()
	m.broadcasts = append(m.broadcasts, f)
}

// HandleError registers f to be called with each presence error (RFC 6120
// §8.3): from is the sender, err the error it carried. An error from a
// tracked JID also takes it offline in the Tracker (a full JID that
// resource, a bare JID all of them): its presence is no longer known. f
// runs on the session's dispatcher, like a handler.
func (m *Manager) HandleError(f func(ctx context.Context, s *session.Session, from jid.JID, err *stanza.Error)) {
	m.fmu.Lock()
	defer m.fmu.Unlock()
	m.errorFs = append(m.errorFs, f)
}

// Info returns the verified disco#info (XEP-0115) of the capabilities that
// the online resource with the full JID full announced, once Options.Caps
// holds it. False when the resource is not tracked, announced no caps, or
// its caps are not (or not yet) verified.
func (m *Manager) Info(full jid.JID) (*disco.Info, bool) {
	if m.caps == nil {
		return nil, false
	}
	r, ok := m.tracker.Resource(full)
	if !ok || r.Caps == (disco.Caps{}) {
		return nil, false
	}
	return m.caps.Get(r.Caps.Hash, r.Caps.Ver)
}

// start is the start hook.
func (m *Manager) start(ctx context.Context, s *session.Session, resumed bool) {
	m.mu.Lock()
	if resumed {
		// The same session on a new connection: its lookups go on.
		if _, ok := m.streams[s]; !ok {
			m.streams[s] = newStream(s)
		}
		m.mu.Unlock()
		return
	}
	m.streams[s] = newStream(s)
	m.pending = nil
	a, available := m.own, m.available
	directed := m.directedList()
	m.mu.Unlock()
	m.broadcast(ctx, s, m.tracker.reset(s.Addr(), m.now(), nil))
	if available {
		p, err := m.build(a, jid.JID{})
		if err == nil {
			err = s.Send(ctx, p)
		}
		if err != nil {
			m.log.Warn("presence: initial presence not sent", "err", err)
		}
	}
	for _, d := range directed {
		p, err := m.build(d.a, d.to)
		if err == nil {
			err = s.Send(ctx, p)
		}
		if err != nil {
			m.log.Warn("presence: directed presence not sent again", "to", d.to, "err", err)
		}
	}
}

// close is the close hook: the end of every directed presence.
func (m *Manager) close(ctx context.Context, s *session.Session) {
	m.mu.Lock()
	to := m.takeDirected()
	m.mu.Unlock()
	if err := m.sendUnavailable(ctx, s, to, ""); err != nil {
		m.log.Warn("presence: unavailable presence not sent at close", "err", err)
	}
}

// end is the end hook.
func (m *Manager) end(s *session.Session, _ error) {
	m.mu.Lock()
	st := m.streams[s]
	delete(m.streams, s)
	m.mu.Unlock()
	if st != nil {
		st.stop()
	}
}

func (m *Manager) stream(s *session.Session) *stream {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.streams[s]
}

var mucUser = xml.Name{Space: ns.MUCUser, Local: "x"}

// HandlePresence takes one incoming presence. It implements
// session.PresenceHandler; Handle registers it.
func (m *Manager) HandlePresence(ctx context.Context, s *session.Session, p *stanza.Presence) {
	if _, ok := p.Extension(mucUser); ok {
		return // group chat: not ours
	}
	if p.From.IsZero() {
		m.log.Debug("presence: ignored presence without from", "type", p.Type)
		return
	}
	switch p.Type {
	case stanza.PresenceAvailable, stanza.PresenceUnavailable:
		m.handleBroadcast(ctx, s, p)
	case stanza.PresenceSubscribe:
		m.handleRequest(ctx, s, p)
	case stanza.PresenceSubscribed, stanza.PresenceUnsubscribed, stanza.PresenceUnsubscribe:
		m.handleChange(ctx, s, p)
	case stanza.PresenceError:
		m.handleError(ctx, s, p)
	default:
		// probe: the server's to answer (RFC 6121 §4.3), never a client's.
		m.log.Debug("presence: ignored", "type", p.Type, "from", p.From)
	}
}

// tracked reports whether presence from the bare JID bare is tracked: the
// account itself, or a roster contact.
func (m *Manager) tracked(bare jid.JID) bool {
	if bare == m.tracker.Account() {
		return true
	}
	_, ok := m.roster.Cache().Item(bare)
	return ok
}

func (m *Manager) handleBroadcast(ctx context.Context, s *session.Session, p *stanza.Presence) {
	if !m.tracked(p.From.Bare()) {
		m.log.Debug("presence: not tracked: not in the roster", "from", p.From)
		return
	}
	now := m.now()
	if p.Type == stanza.PresenceUnavailable {
		m.broadcast(ctx, s, m.tracker.unavailable(p.From, p, now, nil))
		return
	}
	caps, hasCaps := m.parsed.find(p)
	e, ok := m.tracker.available(p.From, p, caps, now)
	if !ok {
		if _, online := m.tracker.Resource(p.From); !online {
			m.log.Info("presence: resource not tracked: too many resources", "from", p.From)
		}
		return
	}
	if hasCaps && m.caps != nil {
		if st := m.stream(s); st != nil {
			st.resolve(m, p.From, caps)
		}
	}
	m.broadcast(ctx, s, []Event{e})
}

func (m *Manager) handleError(ctx context.Context, s *session.Session, p *stanza.Presence) {
	if m.tracked(p.From.Bare()) {
		m.broadcast(ctx, s, m.tracker.unavailable(p.From, nil, m.now(), nil))
	}
	m.fmu.RLock()
	fs := m.errorFs
	m.fmu.RUnlock()
	for _, f := range fs {
		f(ctx, s, p.From, p.Error)
	}
}

// broadcast hands events to the HandleBroadcast callbacks.
func (m *Manager) broadcast(ctx context.Context, s *session.Session, events []Event) {
	if len(events) == 0 {
		return
	}
	m.fmu.RLock()
	fs := m.broadcasts
	m.fmu.RUnlock()
	for _, e := range events {
		for _, f := range fs {
			f(ctx, s, e)
		}
	}
}

// rosterPush follows the roster: a contact removed, or whose presence the
// account is no longer subscribed to (subscription none or from), is no
// longer tracked — its presence stops coming, and not every server sends
// the unavailable presence RFC 6121 §3.3.3 asks for (Prosody does not
// when the account unsubscribes); a request the roster shows answered (the
// item removed, or subscription from or both) is no longer pending.
func (m *Manager) rosterPush(ctx context.Context, s *session.Session, it roster.Item) {
	bare := it.JID.Bare()
	switch it.Subscription {
	case roster.SubscriptionRemove, roster.SubscriptionFrom, roster.SubscriptionBoth:
		m.dropPending(bare)
	}
	switch it.Subscription {
	case roster.SubscriptionRemove, roster.SubscriptionNone, roster.SubscriptionFrom:
		if bare != m.tracker.Account() {
			m.broadcast(ctx, s, m.tracker.unavailable(bare, nil, m.now(), nil))
		}
	}
}

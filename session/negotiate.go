package session

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"mellium.im/xmlstream"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/wire"
	"github.com/parleyim/parley/internal/xmlenc"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/sasl"
	"github.com/parleyim/parley/stanza"
)

// Errors of the negotiation that a caller may want to tell apart.
var (
	// ErrNoTLS means the server did not offer STARTTLS and Config.NoTLS
	// was not set: Parley never falls back to plaintext on its own.
	ErrNoTLS = errors.New("session: server does not offer STARTTLS (set Config.NoTLS to allow an unencrypted stream)")
	// ErrTLSRefused means the server answered <starttls/> with <failure/>.
	ErrTLSRefused = errors.New("session: server refused STARTTLS")
	// ErrNoBind means the server offered no resource binding.
	ErrNoBind = errors.New("session: server does not offer resource binding")
)

// BindError is a refused resource binding (RFC 6120 §7.6.2): Resource is
// the resourcepart asked for ("" when the server was to choose) and Err
// the server's *stanza.Error (conflict, not-allowed, resource-constraint,
// bad-request …).
type BindError struct {
	Resource string
	Err      *stanza.Error
}

func (e *BindError) Error() string {
	if e.Resource == "" {
		return "session: resource binding refused: " + e.Err.Error()
	}
	return fmt.Sprintf("session: binding resource %q refused: %s", e.Resource, e.Err.Error())
}

// Unwrap returns the stanza error, so errors.Is(err, stanza.Conflict) works.
func (e *BindError) Unwrap() error { return e.Err }

// negotiator runs the client side of RFC 6120 §4–7 over one transport,
// for a dialer (dial.go).
type negotiator struct {
	*dialer
	tr    transport
	rd    *wire.Reader
	trace *tracer
	buf   []byte

	streamLang  string      // xml:lang of the server's last stream header
	authStarted bool        // credentials have been (or are being) sent
	neg         Negotiation // what was offered before authentication, and chosen

	// Stanzas the server sent to the bound resource while negotiation
	// still waited for an answer (early.go).
	early      []earlyStanza
	earlyBytes int
	bound      bool // a resource is bound: stanzas may be routed to it
	smAsked    bool // <enable/> is out: from now on stanzas count (XEP-0198 §4)
}

func (n *negotiator) limits() wire.Limits {
	return wire.Limits{MaxStanzaBytes: n.cfg.maxStanzaBytes(), MaxDepth: n.cfg.MaxDepth}
}

// run negotiates a stream and returns the established session.
func (n *negotiator) run(ctx context.Context) (*Session, error) {
	feats, err := n.login(ctx)
	if err != nil {
		return nil, err
	}
	// The session keeps this element: its Features describe the
	// established stream, and its Negotiation says how it came about.
	feats.Negotiation = n.neg
	if !feats.Bind {
		return nil, n.fail(&stanza.StreamError{Condition: stanza.StreamUnsupportedFeature, Text: "resource binding is required"}, ErrNoBind)
	}
	full, err := n.bind()
	if err != nil {
		return nil, err
	}
	n.bound = true
	if feats.Session && (!feats.SessionOptional || n.cfg.ForceSessionIQ) {
		if err := n.establishSession(); err != nil {
			return nil, err
		}
	}
	var sm smEnabled
	if feats.StreamManagement && !n.cfg.NoStreamManagement {
		if sm, err = n.enableSM(n.canRedial); err != nil {
			return nil, err
		}
	}
	s := newSession(n, full, feats)
	s.sm.smEnabled = sm
	return s, nil
}

// login secures the stream, authenticates and opens the stream after
// SASL, and returns its features: what binding (run) and resumption
// (resume) start from.
func (n *negotiator) login(ctx context.Context) (*featuresElement, error) {
	feats, err := n.secure(ctx)
	if err != nil {
		return nil, err
	}
	if err := n.authenticate(feats); err != nil {
		return nil, err
	}
	n.rd.Restart()
	return n.openStream()
}

// secure opens the stream and runs STARTTLS (RFC 6120 §5) unless the
// stream is encrypted already, and returns the features of the stream on
// which authentication (or in-band registration) can start. Without
// STARTTLS on offer it fails unless Config.NoTLS allows a plaintext
// stream.
func (n *negotiator) secure(ctx context.Context) (*featuresElement, error) {
	n.rd = wire.NewReader(n.tr, n.limits())
	for {
		feats, err := n.openStream()
		if err != nil {
			return nil, err
		}
		if !n.tr.Encrypted() {
			n.neg.StartTLS, n.neg.StartTLSRequired = feats.StartTLS, feats.StartTLSRequired
			if feats.StartTLS {
				if err := n.startTLS(ctx); err != nil {
					return nil, err
				}
				continue
			}
			if !n.cfg.NoTLS {
				return nil, n.fail(&stanza.StreamError{Condition: stanza.StreamPolicyViolation, Text: "TLS is required"}, ErrNoTLS)
			}
		}
		return feats, nil
	}
}

// openStream sends a stream header, reads the server's and its features.
func (n *negotiator) openStream() (*featuresElement, error) {
	h := wire.Header{To: n.account.Domainpart(), Version: "1.0", Lang: n.cfg.lang()}
	if n.tr.Encrypted() && n.account.Localpart() != "" {
		// RFC 6120 §4.7.1: a from only once the stream is protected,
		// and only when there is an account (not before registration).
		h.From = n.account.Bare().String()
	}
	if err := n.write(n.tr.AppendOpen(n.buf[:0], h)); err != nil {
		return nil, err
	}
	sh, err := n.rd.ReadHeader()
	if err != nil {
		return nil, n.readError(err)
	}
	n.streamLang = sh.Lang
	if major, _, _ := strings.Cut(sh.Version, "."); major != "1" {
		return nil, n.fail(&stanza.StreamError{Condition: stanza.StreamUnsupportedVersion, Text: "version 1.0 is required"},
			fmt.Errorf("session: server speaks stream version %q, not 1.x", sh.Version))
	}
	start, err := n.next()
	if err != nil {
		return nil, err
	}
	if start.Name != (xml.Name{Space: ns.Stream, Local: "features"}) {
		return nil, n.fail(&stanza.StreamError{Condition: stanza.StreamUnsupportedStanzaType, Text: "stream features expected"},
			fmt.Errorf("session: expected stream features, got <%s xmlns='%s'>", start.Name.Local, start.Name.Space))
	}
	feats, err := parseFeatures(n.rd)
	if err != nil {
		return nil, n.readError(err)
	}
	return feats, nil
}

// startTLS runs STARTTLS (RFC 6120 §5.4). Everything buffered from the
// plaintext stream is dropped with the old reader.
func (n *negotiator) startTLS(ctx context.Context) error {
	if err := n.write(append(n.buf[:0], "<starttls xmlns='"+ns.TLS+"'/>"...)); err != nil {
		return err
	}
	start, err := n.next()
	if err != nil {
		return err
	}
	switch start.Name {
	case xml.Name{Space: ns.TLS, Local: "proceed"}:
	case xml.Name{Space: ns.TLS, Local: "failure"}:
		return ErrTLSRefused
	default:
		return n.fail(&stanza.StreamError{Condition: stanza.StreamUnsupportedStanzaType, Text: "expected proceed"},
			fmt.Errorf("session: expected <proceed/>, got <%s>", start.Name.Local))
	}
	if err := n.tr.StartTLS(ctx, n.tlsConfig()); err != nil {
		return err
	}
	n.rd = wire.NewReader(n.tr, n.limits())
	return nil
}

// authenticate runs SASL (RFC 6120 §6) with one mechanism; a failure is
// final: Parley never retries with a weaker mechanism.
func (n *negotiator) authenticate(feats *featuresElement) error {
	if n.account.Localpart() == "" {
		return errors.New("session: the JID has no localpart to log in with")
	}
	state := n.tr.TLS()
	mech, neg, err := sasl.Select(n.cfg.mechanisms(), sasl.Offer{
		Mechanisms: feats.Mechanisms, ChannelBindings: feats.ChannelBindings, TLS: state})
	if err != nil {
		return n.fail(&stanza.StreamError{Condition: stanza.StreamPolicyViolation, Text: "no acceptable SASL mechanism"},
			fmt.Errorf("session: %w", err))
	}
	n.neg.Mechanisms, n.neg.ChannelBindings, n.neg.Mechanism = feats.Mechanisms, feats.ChannelBindings, mech.Name()
	neg.Username, neg.Password, neg.Authzid = n.account.Localpart(), n.password, n.cfg.Authzid
	n.authStarted = true
	n.trace.setRedact(true)
	defer n.trace.setRedact(false)

	ex, initial, err := mech.Start(&neg)
	if err != nil {
		return fmt.Errorf("session: starting SASL %s: %w", mech.Name(), err)
	}
	n.traceSASL("SEND ", xml.Name{Space: ns.SASL, Local: "auth"}, mech.Name(), redactedData(initial))
	b := append(n.buf[:0], "<auth xmlns='"+ns.SASL+"' mechanism='"...)
	b = xmlenc.AppendEscaped(b, mech.Name())
	b = append(b, "'>"...)
	b = appendBase64(b, initial)
	b = append(b, "</auth>"...)
	if err := n.write(b); err != nil {
		return err
	}
	for {
		start, err := n.next()
		if err != nil {
			return err
		}
		if start.Name.Space != ns.SASL {
			n.traceSASL("RECV ", start.Name, "", redactedPayload)
			return n.fail(&stanza.StreamError{Condition: stanza.StreamUnsupportedStanzaType, Text: "unexpected element during SASL"},
				fmt.Errorf("session: unexpected <%s xmlns='%s'> during SASL", start.Name.Local, start.Name.Space))
		}
		switch start.Name.Local {
		case "challenge":
			data, err := n.readSASLData(start.Name)
			if err != nil {
				return err
			}
			resp, err := ex.Next(data)
			if err != nil {
				n.abortSASL()
				return fmt.Errorf("session: SASL %s: %w", mech.Name(), err)
			}
			n.traceSASL("SEND ", xml.Name{Space: ns.SASL, Local: "response"}, "", redactedData(resp))
			b := append(n.buf[:0], "<response xmlns='"+ns.SASL+"'>"...)
			b = appendBase64(b, resp)
			if err := n.write(append(b, "</response>"...)); err != nil {
				return err
			}
		case "success":
			data, err := n.readSASLData(start.Name)
			if err != nil {
				return err
			}
			if err := ex.Verify(data); err != nil {
				return n.fail(&stanza.StreamError{Condition: stanza.StreamNotAuthorized, Text: "server authentication failed"},
					fmt.Errorf("session: SASL %s: server not verified: %w", mech.Name(), err))
			}
			return nil
		case "failure":
			return n.readFailure(mech.Name())
		default:
			n.traceSASL("RECV ", start.Name, "", redactedPayload)
			return n.fail(&stanza.StreamError{Condition: stanza.StreamUnsupportedStanzaType, Text: "unexpected element during SASL"},
				fmt.Errorf("session: unexpected <%s/> during SASL", start.Name.Local))
		}
	}
}

// abortSASL tells the server the client gives up (RFC 6120 §6.4.4).
func (n *negotiator) abortSASL() {
	n.traceSASL("SEND ", xml.Name{Space: ns.SASL, Local: "abort"}, "", "")
	_ = n.write(append(n.buf[:0], "<abort xmlns='"+ns.SASL+"'/>"...))
}

// readSASLData reads the text of the current SASL element, named name,
// and decodes it. "=" and an empty element are both an empty payload.
func (n *negotiator) readSASLData(name xml.Name) ([]byte, error) {
	text, err := n.elementText()
	if err != nil {
		return nil, err
	}
	text = strings.TrimSpace(text)
	if text == "" || text == "=" {
		n.traceSASL("RECV ", name, "", text)
		return []byte{}, nil
	}
	n.traceSASL("RECV ", name, "", redactedPayload)
	data, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return nil, n.fail(&stanza.StreamError{Condition: stanza.StreamBadFormat, Text: "SASL data is not base64"},
			fmt.Errorf("session: SASL data is not base64: %w", err))
	}
	return data, nil
}

// readFailure turns <failure/> into a *sasl.Failure.
func (n *negotiator) readFailure(mech string) error {
	var v struct {
		Children []struct {
			XMLName xml.Name
			Lang    string `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
			Text    string `xml:",chardata"`
		} `xml:",any"`
	}
	if err := n.decodeElement(&v); err != nil {
		return err
	}
	var cond, text, lang string
	for _, c := range v.Children {
		if c.XMLName.Space != ns.SASL {
			continue
		}
		if c.XMLName.Local == "text" {
			text, lang = c.Text, c.Lang
		} else if cond == "" {
			cond = c.XMLName.Local
		}
	}
	// Nothing in a failure is secret: the trace shows it whole, as read.
	n.traceSASL("RECV ", xml.Name{Space: ns.SASL, Local: "failure"}, "", string(appendFailureContent(nil, cond, text, lang)))
	return fmt.Errorf("session: login as %s with %s failed: %w", n.account.Bare(), mech, sasl.NewFailure(cond, text, lang))
}

// bind requests a resource (RFC 6120 §7) and returns the full JID that the
// server assigned.
func (n *negotiator) bind() (jid.JID, error) {
	res := n.cfg.Resource
	if res == "" {
		res = n.account.Resourcepart()
	}
	iq := &stanza.IQ{Header: stanza.Header{ID: stanza.NewID()}, Type: stanza.IQSet, Payload: bindRequest(res)}
	reply, err := n.roundTrip(iq)
	if err != nil {
		return jid.JID{}, err
	}
	if reply.Type == stanza.IQError {
		return jid.JID{}, &BindError{Resource: res, Err: reply.Error}
	}
	raw, ok := reply.Payload.(*stanza.Raw)
	if !ok {
		return jid.JID{}, n.fail(&stanza.StreamError{Condition: stanza.StreamUndefinedCondition, Text: "bind result without jid"},
			errors.New("session: bind result carries no <bind/>"))
	}
	var v struct {
		XMLName xml.Name `xml:"urn:ietf:params:xml:ns:xmpp-bind bind"`
		JID     string   `xml:"jid"`
	}
	if err := raw.Decode(&v); err != nil {
		return jid.JID{}, fmt.Errorf("session: reading the bind result: %w", err)
	}
	full, err := jid.Parse(v.JID)
	if err != nil {
		return jid.JID{}, fmt.Errorf("session: server bound an invalid JID %q: %w", v.JID, err)
	}
	if full.IsBare() || full.Bare() != n.account.Bare() {
		return jid.JID{}, fmt.Errorf("session: server bound %s, which is not a full JID of %s", full, n.account.Bare())
	}
	return full, nil
}

// establishSession sends the RFC 3921 §3 session request.
func (n *negotiator) establishSession() error {
	iq := &stanza.IQ{Header: stanza.Header{ID: stanza.NewID(), To: n.account.Domain()}, Type: stanza.IQSet, Payload: emptyElement{ns.Session, "session"}}
	reply, err := n.roundTrip(iq)
	if err != nil {
		return err
	}
	if reply.Type == stanza.IQError {
		return fmt.Errorf("session: session establishment refused: %w", reply.Error)
	}
	return nil
}

// roundTrip sends an iq during negotiation and reads its reply. Stanzas
// the server sends the bound resource meanwhile are kept for the session
// (early.go).
func (n *negotiator) roundTrip(iq *stanza.IQ) (*stanza.IQ, error) {
	b, err := iq.AppendXML(n.buf[:0])
	if err != nil {
		return nil, err
	}
	if err := n.write(b); err != nil {
		return nil, err
	}
	for {
		start, err := n.next()
		if err != nil {
			return nil, err
		}
		if start.Name != iqName {
			if err := n.keepEarly(start); err == errNotStanza {
				return nil, n.fail(&stanza.StreamError{Condition: stanza.StreamUnsupportedStanzaType, Text: "expected an iq reply"},
					fmt.Errorf("session: expected the reply to iq %s, got <%s>", iq.ID, start.Name.Local))
			} else if err != nil {
				return nil, err
			}
			continue
		}
		st, err := stanza.Decoder{Lang: n.streamLang}.Decode(n.rd, start)
		if err != nil {
			var inv *stanza.InvalidError
			if errors.As(err, &inv) {
				return nil, fmt.Errorf("session: bad reply to iq %s: %w", iq.ID, err)
			}
			return nil, n.readError(err)
		}
		reply := st.(*stanza.IQ)
		if n.bound && (reply.Type == stanza.IQGet || reply.Type == stanza.IQSet) {
			// A request to the bound resource: handled once the session
			// starts.
			if err := n.addEarly(earlyStanza{st: st, size: n.rd.LastSize()}); err != nil {
				return nil, err
			}
			continue
		}
		if reply.ID != iq.ID {
			return nil, fmt.Errorf("session: expected the reply to iq %s", iq.ID)
		}
		if reply.Type == stanza.IQError && reply.Error == nil {
			reply.Error = &stanza.Error{Type: stanza.ErrorCancel, Condition: stanza.UndefinedCondition}
		}
		return reply, nil
	}
}

// next returns the next top-level element. A stream error from the server
// is returned as an error that wraps the *stanza.StreamError.
func (n *negotiator) next() (xml.StartElement, error) {
	start, err := n.rd.NextElement()
	if err != nil {
		return start, n.readError(err)
	}
	if start.Name == (xml.Name{Space: ns.Stream, Local: "error"}) {
		se, err := stanza.DecodeStreamError(n.rd, start)
		if err != nil {
			return start, n.readError(err)
		}
		if n.trace.redacting() {
			// Its raw bytes were dropped with the SASL exchange's.
			n.trace.note("RECV ", string(appendStreamEnd(nil, se, "")))
		}
		n.closeStream()
		return start, fmt.Errorf("session: server ended the stream: %w", se)
	}
	return start, nil
}

// readError answers the reader's failure as the session's readError does
// (close.go), and returns why negotiation failed.
func (n *negotiator) readError(err error) error {
	var se *stanza.StreamError
	if errors.As(err, &se) {
		return n.fail(se, errBadXML(se))
	}
	if errors.Is(err, wire.ErrStreamClosed) {
		n.closeStream()
		return fmt.Errorf("session: server closed the stream during negotiation: %w", io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("session: reading from server: %w", err)
}

// fail sends the stream error se and the close tag, and returns cause.
func (n *negotiator) fail(se *stanza.StreamError, cause error) error {
	n.trace.setRedact(false) // the end of the stream is no secret, even during SASL
	_ = n.write(appendStreamEnd(n.buf[:0], se, n.tr.CloseTag()))
	return cause
}

// closeStream sends the close tag.
func (n *negotiator) closeStream() {
	n.trace.setRedact(false)
	_ = n.write(append(n.buf[:0], n.tr.CloseTag()...))
}

// elementText reads the rest of the current top-level element and returns
// its character data.
func (n *negotiator) elementText() (string, error) {
	var sb strings.Builder
	for {
		tok, err := n.rd.Token()
		if err != nil {
			return "", n.readError(err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			sb.Write(t)
		case xml.EndElement:
			if n.rd.Depth() == 1 {
				return sb.String(), nil
			}
		}
	}
}

// decodeElement decodes the rest of the current top-level element into v
// with encoding/xml (negotiation is not a hot path).
func (n *negotiator) decodeElement(v any) error {
	d := xml.NewTokenDecoder(xmlstream.Wrap(readerUntilEnd{n.rd}, xml.StartElement{Name: xml.Name{Local: "x"}}))
	if err := d.Decode(v); err != nil {
		return n.readError(err)
	}
	return nil
}

// readerUntilEnd yields the tokens of the current top-level element's
// content, stopping before its end element (which it consumes).
type readerUntilEnd struct{ rd *wire.Reader }

func (r readerUntilEnd) Token() (xml.Token, error) {
	tok, err := r.rd.Token()
	if err != nil {
		return nil, err
	}
	if _, ok := tok.(xml.EndElement); ok && r.rd.Depth() == 1 {
		return nil, io.EOF
	}
	return tok, nil
}

func (n *negotiator) write(b []byte) error {
	n.buf = b[:0]
	if _, err := n.tr.Write(b); err != nil {
		return fmt.Errorf("session: writing to server: %w", err)
	}
	return nil
}

// The trace of SASL: while the exchange runs, the tracer drops the raw
// bytes, which carry the password (PLAIN) or what lets anyone who reads
// them test password guesses offline (SCRAM's messages). In their place
// the negotiator writes one line per element it sends or reads: the
// element's name and attributes, and redactedPayload for its payload.

// redactedPayload stands for a SASL payload in the trace.
const redactedPayload = "[payload redacted]"

// redactedData is what the trace shows of data, a SASL payload to send:
// nothing when there is none, "=" when it is empty (RFC 6120 §6.4.2),
// else redactedPayload.
func redactedData(data []byte) string {
	switch {
	case data == nil:
		return ""
	case len(data) == 0:
		return "="
	}
	return redactedPayload
}

// traceSASL writes the trace line of a SASL element: its name, its
// mechanism attribute when not empty, and content, which the caller has
// already redacted (an empty content closes the element at once).
func (n *negotiator) traceSASL(prefix string, name xml.Name, mechanism, content string) {
	if !n.trace.enabled() {
		return
	}
	b := append([]byte{'<'}, name.Local...)
	b = xmlenc.AppendEscaped(append(b, " xmlns='"...), name.Space)
	b = append(b, '\'')
	if mechanism != "" {
		b = xmlenc.AppendEscaped(append(b, " mechanism='"...), mechanism)
		b = append(b, '\'')
	}
	if content == "" {
		b = append(b, "/>"...)
	} else {
		b = append(append(b, '>'), content...)
		b = append(append(append(b, "</"...), name.Local...), '>')
	}
	n.trace.note(prefix, string(b))
}

// appendFailureContent appends the content of a SASL <failure/> as the
// trace shows it: the condition and the text.
func appendFailureContent(b []byte, cond, text, lang string) []byte {
	if cond != "" {
		b = append(append(append(b, '<'), cond...), "/>"...)
	}
	if text == "" {
		return b
	}
	b = append(b, "<text"...)
	if lang != "" {
		b = xmlenc.AppendEscaped(append(b, " xml:lang='"...), lang)
		b = append(b, '\'')
	}
	b = xmlenc.AppendEscaped(append(b, '>'), text)
	return append(b, "</text>"...)
}

func appendBase64(b []byte, data []byte) []byte {
	if data == nil {
		return b
	}
	if len(data) == 0 {
		return append(b, '=')
	}
	return base64.StdEncoding.AppendEncode(b, data)
}

// bindRequest is the <bind/> payload asking for a resource.
type bindRequest string

func (r bindRequest) WriteXML(w xmlstream.TokenWriter) (int, error) {
	start := xml.StartElement{Name: xml.Name{Space: ns.Bind, Local: "bind"}}
	var toks []xml.Token
	toks = append(toks, start)
	if r != "" {
		res := xml.StartElement{Name: xml.Name{Space: ns.Bind, Local: "resource"}}
		toks = append(toks, res, xml.CharData(r), res.End())
	}
	toks = append(toks, start.End())
	for i, t := range toks {
		if err := w.EncodeToken(t); err != nil {
			return i, err
		}
	}
	return len(toks), nil
}

// emptyElement is a payload with no content, such as <session/>.
type emptyElement xml.Name

func (e emptyElement) WriteXML(w xmlstream.TokenWriter) (int, error) {
	start := xml.StartElement{Name: xml.Name(e)}
	if err := w.EncodeToken(start); err != nil {
		return 0, err
	}
	if err := w.EncodeToken(start.End()); err != nil {
		return 1, err
	}
	return 2, nil
}

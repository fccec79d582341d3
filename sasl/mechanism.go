package sasl

// Mechanism is a SASL mechanism a client can authenticate with. The built-in
// mechanisms are the ScramSHA… values and Plain; users may add their own.
//
// A Mechanism is a description, not a login in progress: it holds no state
// of one exchange, and its methods are safe to call from several goroutines.
type Mechanism interface {
	// Name returns the mechanism's IANA name, e.g. "SCRAM-SHA-256-PLUS".
	// A name that ends in "-PLUS" marks a mechanism that needs channel
	// binding; Select gives it one.
	Name() string

	// Start begins one authentication. It returns the exchange in progress
	// and the initial response to send in <auth/> (nil for none). An error
	// ends the login.
	Start(n *Negotiation) (ex Exchange, initial []byte, err error)
}

// Exchange is one authentication in progress. It is used by one goroutine.
// Any error it returns ends the login: the caller aborts the exchange (or
// closes the stream) and surfaces the error; it does not try another
// mechanism.
type Exchange interface {
	// Next answers a <challenge/> from the server with the data for a
	// <response/>.
	Next(challenge []byte) (response []byte, err error)

	// Verify checks the additional data of <success/> (for SCRAM the
	// server-final-message with the server signature). Authentication has
	// succeeded only when Verify returns nil.
	Verify(additional []byte) error
}

// Plaintext is implemented by a Mechanism that reveals the password to
// whoever reads the stream, as PLAIN does. Select never picks such a
// mechanism on an unencrypted stream, and Plain refuses to start on one.
type Plaintext interface {
	Mechanism
	// RevealsPassword reports whether the mechanism sends the password in
	// a form that an eavesdropper can use.
	RevealsPassword() bool
}

// DefaultMinIterations is the lowest SCRAM iteration count accepted when
// Negotiation.MinIterations is zero (RFC 5802 §5.1 and RFC 7677 §4 ask for
// at least 4096).
const DefaultMinIterations = 4096

// DefaultMaxIterations is the highest SCRAM iteration count accepted when
// Negotiation.MaxIterations is zero. A hostile server could otherwise keep
// the client computing PBKDF2 for minutes. One million is far above what
// XMPP servers use (4096 to a few hundred thousand).
const DefaultMaxIterations = 1_000_000

// Negotiation is what a mechanism is told about the login. Select fills
// Encrypted, Binding and ServerOffersPlus from what the server offered; the
// caller fills the credentials and, if it wishes, the iteration limits.
type Negotiation struct {
	// Username is the simple user name (RFC 6120 §6.3.8: the localpart of
	// the account's JID), already in its canonical form: the sasl package
	// escapes it for SCRAM but does not prepare it further.
	Username string
	// Password is prepared with the PRECIS OpaqueString profile (RFC 8265)
	// before use, as RFC 7677 suggests in place of SASLprep.
	Password string
	// Authzid is the authorization identity, usually empty (RFC 6120
	// §6.3.8: the account's bare JID is implied).
	Authzid string

	// Encrypted reports that the stream is protected by TLS. Plain refuses
	// to start without it.
	Encrypted bool
	// Binding is the channel binding a -PLUS mechanism sends; nil for any
	// other mechanism.
	Binding *ChannelBinding
	// ServerOffersPlus reports that the server offered a -PLUS mechanism.
	// A SCRAM exchange without binding then sends the GS2 flag "n" (the
	// client does not use binding); otherwise, on an encrypted stream, "y"
	// (the client could bind but the server offered nothing), so a server
	// whose -PLUS offers were stripped in transit detects the downgrade
	// (RFC 5802 §6).
	ServerOffersPlus bool

	// MinIterations is the lowest SCRAM iteration count accepted; zero
	// means DefaultMinIterations.
	MinIterations int
	// MaxIterations is the highest SCRAM iteration count accepted; zero
	// means DefaultMaxIterations.
	MaxIterations int
}

func (n *Negotiation) minIterations() int {
	if n.MinIterations > 0 {
		return n.MinIterations
	}
	return DefaultMinIterations
}

func (n *Negotiation) maxIterations() int {
	if n.MaxIterations > 0 {
		return n.MaxIterations
	}
	return DefaultMaxIterations
}

// DefaultMechanisms returns Parley's preference list, strongest first:
// SCRAM-SHA-512, SCRAM-SHA-256 and SCRAM-SHA-1, each -PLUS variant before
// the plain one, then PLAIN. The caller owns the returned slice. To pin
// SCRAM, pass a list without Plain to Select.
func DefaultMechanisms() []Mechanism {
	return []Mechanism{
		ScramSHA512Plus, ScramSHA512,
		ScramSHA256Plus, ScramSHA256,
		ScramSHA1Plus, ScramSHA1,
		Plain,
	}
}

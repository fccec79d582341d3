//go:build interop

package interop_test

import (
	"sync"

	"github.com/parleyim/parley/sasl"
)

// recorder wraps a mechanism and records that the session started it, and
// whether with channel binding: the session's Trace shows the mechanism's
// name but redacts the payloads, where the binding is, so the choice is
// observed here.
type recorder struct {
	sasl.Mechanism
	log *choices
}

func (r recorder) Start(n *sasl.Negotiation) (sasl.Exchange, []byte, error) {
	binding := ""
	if n.Binding != nil {
		binding = n.Binding.Type
	}
	r.log.add(r.Name(), binding)
	return r.Mechanism.Start(n)
}

// plaintextRecorder keeps the sasl.Plaintext promise of the mechanism it
// wraps (PLAIN), which Select relies on.
type plaintextRecorder struct {
	recorder
	p sasl.Plaintext
}

func (r plaintextRecorder) RevealsPassword() bool { return r.p.RevealsPassword() }

// choices is what the recorders saw.
type choices struct {
	mu       sync.Mutex
	names    []string
	bindings []string
}

func (c *choices) add(name, binding string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.names = append(c.names, name)
	c.bindings = append(c.bindings, binding)
}

// started returns the mechanisms started, in order, and their bindings.
func (c *choices) started() (names, bindings []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.names...), append([]string(nil), c.bindings...)
}

// recorded wraps each mechanism of prefs, keeping their order.
func recorded(prefs []sasl.Mechanism) ([]sasl.Mechanism, *choices) {
	log := &choices{}
	out := make([]sasl.Mechanism, len(prefs))
	for i, m := range prefs {
		r := recorder{Mechanism: m, log: log}
		if p, ok := m.(sasl.Plaintext); ok {
			out[i] = plaintextRecorder{recorder: r, p: p}
			continue
		}
		out[i] = r
	}
	return out, log
}

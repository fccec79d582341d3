package saslauth

import (
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/scram"
)

func FuzzClientFirst(f *testing.F) {
	f.Add("n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL")
	f.Add("y,a=juliet@example.com,n=juliet,r=abc,x=ext")
	f.Add("p=tls-exporter,,n=user,r=abc")
	f.Add("n,a==3D=2C,n=a=2Cb=3Dc,r=abc")
	f.Add("n,,m=x,n=user,r=abc")
	f.Add(",,,")
	srv := newServer()
	srv.Iterations = 1 // keep each run cheap
	f.Fuzz(func(t *testing.T, msg string) {
		cf, err := parseClientFirst([]byte(msg))
		if err == nil {
			if cf.header+cf.bare != msg || !strings.HasPrefix(cf.bare, "n=") || !scram.Printable(cf.nonce) || cf.username == "" {
				t.Fatalf("inconsistent parse of %q: %+v", msg, cf)
			}
		}
		// The whole first step must answer or fail, never panic.
		_, challenge, done, err := srv.Start("SCRAM-SHA-1", []byte(msg), nil)
		if done {
			t.Fatalf("first step of SCRAM reported success for %q", msg)
		}
		if err == nil && !strings.HasPrefix(string(challenge), "r="+cf.nonce) {
			t.Fatalf("challenge %q does not extend nonce of %q", challenge, msg)
		}
	})
}

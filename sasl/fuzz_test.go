package sasl

import (
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/scram"
)

func FuzzSCRAMServerFirst(f *testing.F) {
	for _, v := range vectors(f) {
		f.Add(v.serverFirst)
	}
	f.Add("m=x,r=a,s=QSXCR+Q6sek8bf92,i=4096")
	f.Add("e=other-error")
	f.Add("r=fyko+d2lbbFgONRv9qkxdawLx,s=QSXCR+Q6sek8bf92,i=4096,x=ext")
	f.Add("r=,s=,i=")
	f.Add(",,,")
	f.Add("=")
	f.Fuzz(func(t *testing.T, msg string) {
		sf, err := parseServerFirst([]byte(msg))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "sasl: ") {
				t.Fatalf("error without package prefix: %v", err)
			}
			return
		}
		if !scram.Printable(sf.nonce) || len(sf.salt) == 0 || sf.iterations < 0 {
			t.Fatalf("accepted invalid server-first %q: %+v", msg, sf)
		}
		// Drive a whole exchange with it; it must error or answer, never
		// panic. The iteration count is capped to keep the fuzzer fast.
		neg := Negotiation{Username: "user", Password: "pencil", MinIterations: 1, MaxIterations: 64}
		ex, _, err := withNonce(t, ScramSHA256, "fyko+d2lbbFgONRv9qkxdawL").Start(&neg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ex.Next([]byte(msg)); err == nil && !strings.HasPrefix(sf.nonce, "fyko+d2lbbFgONRv9qkxdawL") {
			t.Fatalf("accepted nonce %q not extending the client nonce", sf.nonce)
		}
	})
}

func FuzzSCRAMServerFinal(f *testing.F) {
	for _, v := range vectors(f) {
		f.Add(v.serverFinal)
	}
	f.Add("e=invalid-proof")
	f.Add("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=,x=ext")
	f.Add("v=")
	f.Add("")
	v := vectors(f)[0]
	neg := v.neg
	started, _, err := withNonce(f, v.mech, v.nonce).Start(&neg)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := started.Next([]byte(v.serverFirst)); err != nil {
		f.Fatal(err)
	}
	base := started.(*scramExchange)
	f.Fuzz(func(t *testing.T, msg string) {
		sig, err := parseServerFinal([]byte(msg))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "sasl: ") {
				t.Fatalf("error without package prefix: %v", err)
			}
		}
		_ = sig
		// Each run verifies against a copy of one exchange that has
		// answered the RFC 5802 server-first-message.
		ex := *base
		if err := ex.Verify([]byte(msg)); err == nil && !strings.HasPrefix(msg, v.serverFinal) {
			t.Fatalf("verified a wrong server-final %q", msg)
		}
	})
}

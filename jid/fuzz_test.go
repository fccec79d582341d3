package jid

import (
	"testing"
	"unicode/utf8"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"juliet@example.com", "juliet@example.com/foo bar", "Alice@Example.COM./Phone",
		"fußball@example.com", "ΣΠΣ@example.com/foo", "king@example.com/♚", "henry\u2163@example.com",
		"a@[::1]/r", "a@xn--bcher-kva.example", "ＪＵＬＩＥＴ@example。com", "שלום@example.com",
		"@example.com/", "juliet@", "/foobar", "a@b@c", "a@b/c@d/e", "a@b..", "\xff@\xfe/\xfd",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fast, fastErr := parse(s, true)
		slow, slowErr := parse(s, false)
		if (fastErr == nil) != (slowErr == nil) || fast != slow {
			t.Fatalf("%q: fast path (%q, %v), slow path (%q, %v)", s, fast, fastErr, slow, slowErr)
		}
		if j, ok := normalASCII(s); ok && (slowErr != nil || j != slow) {
			t.Fatalf("%q: normalASCII %q, slow path (%q, %v)", s, j, slow, slowErr)
		}
		if fastErr != nil {
			if _, ok := fastErr.(*Error); !ok {
				t.Fatalf("%q: error %T is not *Error", s, fastErr)
			}
			return
		}
		j := fast
		if !utf8.ValidString(j.String()) {
			t.Fatalf("%q: invalid UTF-8 in %q", s, j)
		}
		again, err := Parse(j.String())
		if err != nil {
			t.Fatalf("%q: normalised %q does not parse: %v", s, j, err)
		}
		if again != j {
			t.Fatalf("%q: not idempotent: %q then %q", s, j, again)
		}
		rebuilt, err := New(j.Localpart(), j.Domainpart(), j.Resourcepart())
		if err != nil || rebuilt != j {
			t.Fatalf("%q: New from parts gives (%q, %v), want %q", s, rebuilt, err, j)
		}
		if b := j.Bare(); b.Resourcepart() != "" || b.Localpart() != j.Localpart() || b.Domainpart() != j.Domainpart() {
			t.Fatalf("%q: Bare gives %q", s, b)
		}
	})
}

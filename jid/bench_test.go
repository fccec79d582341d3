package jid

import "testing"

var sink JID

func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct{ name, in string }{
		{"ascii", "alice@example.com/phone"},
		{"ascii-upper", "Alice@Example.com/phone"},
		{"bare-domain", "example.com"},
		{"non-ascii", "fußball@bücher.example/♚"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				j, err := Parse(bc.in)
				if err != nil {
					b.Fatal(err)
				}
				sink = j
			}
		})
	}
}

var sinkString string

func BenchmarkString(b *testing.B) {
	j := MustParse("alice@example.com/phone")
	b.ReportAllocs()
	for b.Loop() {
		sinkString = j.String()
	}
}

func BenchmarkWithResource(b *testing.B) {
	j := MustParse("alice@example.com")
	b.ReportAllocs()
	for b.Loop() {
		k, err := j.WithResource("phone")
		if err != nil {
			b.Fatal(err)
		}
		sink = k
	}
}

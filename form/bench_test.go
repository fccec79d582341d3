package form

import (
	"testing"

	"github.com/parleyim/parley/stanza"
)

// BenchmarkParse reads XEP-0004's example form (eleven fields of every
// type, with options and descriptions).
func BenchmarkParse(b *testing.B) {
	raw, err := stanza.ParseRaw([]byte(roomConfig))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(raw); err != nil {
			b.Fatal(err)
		}
	}
}

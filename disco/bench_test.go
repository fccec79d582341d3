package disco

import (
	"testing"
)

func BenchmarkVer(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Ver(complexInfo, "sha-1"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseInfo(b *testing.B) {
	raw := mustRaw(b, complexXML)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseInfo(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteInfo(b *testing.B) {
	b.ReportAllocs()
	w := discard{}
	for b.Loop() {
		if _, err := complexInfo.WriteXML(w); err != nil {
			b.Fatal(err)
		}
	}
}

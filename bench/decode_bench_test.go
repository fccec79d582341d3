package bench

import "testing"

// BenchmarkDecode decodes the comparison's corpus with each library, one
// sub-benchmark per library, for profiling one of them
// (-bench 'Decode/parley' -cpuprofile). Ratios come from TestCompare,
// which interleaves the libraries.
func BenchmarkDecode(b *testing.B) {
	data, n := corpus(corpusSeed, corpusStanzas)
	for _, d := range decoders {
		b.Run(d.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if err := d.decode(data, func(any) {}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/stanza")
		})
	}
}

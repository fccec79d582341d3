package wire

import (
	"testing"

	"github.com/parleyim/parley/internal/testkit/streamrec"
)

// recorded is a stream recorded from Prosody or ejabberd, cut where the
// fuzz targets take their input.
type recorded struct {
	// opening is the XML declaration and the stream header.
	opening string
	// body is everything after the header: the top-level elements, the
	// white space between them and the close tag if any.
	body string
}

// corpusSeeds returns the recorded streams of testdata/streams.
func corpusSeeds(f *testing.F) []recorded {
	f.Helper()
	streams, err := streamrec.Load("testdata/streams")
	if err != nil {
		f.Fatal(err)
	}
	var out []recorded
	for _, s := range streams {
		opening, _, _, err := streamrec.Cut(s.Data)
		if err != nil {
			f.Fatalf("%s: %v", s.Name, err)
		}
		out = append(out, recorded{opening: string(opening), body: string(s.Data[len(opening):])})
	}
	return out
}

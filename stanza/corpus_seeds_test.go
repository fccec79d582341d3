package stanza

import (
	"testing"

	"github.com/parleyim/parley/internal/testkit/streamrec"
)

// corpusDir holds the streams recorded from Prosody and ejabberd.
const corpusDir = "../internal/wire/testdata/streams"

// addCorpusSeeds adds each top-level element of the recorded streams
// (stanzas, stream features, stream errors…) to f's seed corpus, as
// firstStart reads them: inside a jabber:client stream.
func addCorpusSeeds(f *testing.F) {
	f.Helper()
	streams, err := streamrec.Load(corpusDir)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range streams {
		_, elements, _, err := streamrec.Cut(s.Data)
		if err != nil {
			f.Fatalf("%s: %v", s.Name, err)
		}
		for _, e := range elements {
			f.Add(e)
		}
	}
}

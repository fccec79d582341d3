package xmpptest

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

type chunk struct {
	dir byte
	s   string
}

// The client's side of a transcript is joined up to the end of a tag,
// however the reads split it; the server's side is kept as written.
func TestTranscriptJoinsReads(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		writes []chunk
		want   string
	}{
		{"one byte then the rest", []chunk{{'C', "<"}, {'C', "message><body>hi</bo"}, {'C', "dy></message>"}, {'S', "<presence/>"}},
			"C: <message><body>hi</body></message>\nS: <presence/>\n"},
		{"server line while a tag is unfinished", []chunk{{'C', "<iq"}, {'S', "<message/>"}, {'C', " type='get'/>"}},
			"S: <message/>\nC: <iq type='get'/>\n"},
		{"unfinished tag at the end", []chunk{{'C', "<a/>"}, {'C', "<b"}},
			"C: <a/>\nC: <b\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var tr transcript
			for _, w := range tc.writes {
				n, err := tr.writer(w.dir).Write([]byte(w.s))
				assert.NoError(t, err)
				assert.Equal(t, len(w.s), n)
			}
			assert.Equal(t, tc.want, tr.String())
		})
	}
}

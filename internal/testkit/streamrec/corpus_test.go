package streamrec_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/testkit/streamrec"
)

func TestCut(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, opening string
		elements          []string
		rest              string
	}{
		{"closed", "<?xml version='1.0'?><stream:stream xmlns:stream='urn:s'><a/> <b><c>x</c></b></stream:stream>",
			"<?xml version='1.0'?><stream:stream xmlns:stream='urn:s'>", []string{"<a/>", "<b><c>x</c></b>"}, "</stream:stream>"},
		{"cut off", "<s>\n<a x='&gt;'>&lt;</a>\n", "<s>", []string{"<a x='&gt;'>&lt;</a>"}, "\n"},
		{"header only", "<s>", "<s>", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opening, elements, rest, err := streamrec.Cut([]byte(tc.in))
			require.NoError(t, err)
			assert.Equal(t, tc.opening, string(opening))
			var got []string
			for _, e := range elements {
				got = append(got, string(e))
			}
			assert.Equal(t, tc.elements, got)
			assert.Equal(t, tc.rest, string(rest))
		})
	}
	_, _, _, err := streamrec.Cut([]byte("<s><a>"))
	assert.Error(t, err, "input ending inside an element")
}

func TestLoadCorpus(t *testing.T) {
	t.Parallel()
	streams, err := streamrec.Load("../../wire/testdata/streams")
	require.NoError(t, err)
	for _, s := range streams {
		_, elements, _, err := streamrec.Cut(s.Data)
		require.NoError(t, err, s.Name)
		assert.NotEmpty(t, elements, s.Name)
	}
	_, err = streamrec.Load(t.TempDir())
	assert.Error(t, err, "an empty folder")
}

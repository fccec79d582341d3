package im

import (
	"encoding/xml"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseStamp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"2002-09-10T23:08:25Z", time.Date(2002, 9, 10, 23, 8, 25, 0, time.UTC)},
		{"2002-09-10T23:08:25.123Z", time.Date(2002, 9, 10, 23, 8, 25, 123_000_000, time.UTC)},
		{"2002-09-10T23:08:25.123456789Z", time.Date(2002, 9, 10, 23, 8, 25, 123_456_789, time.UTC)},
		{"2002-09-10T23:08:25.1Z", time.Date(2002, 9, 10, 23, 8, 25, 100_000_000, time.UTC)},
		{"2002-09-10T23:08:25.1234567891234Z", time.Date(2002, 9, 10, 23, 8, 25, 123_456_789, time.UTC)},
		{"2002-09-10T23:08:25.000000001Z", time.Date(2002, 9, 10, 23, 8, 25, 1, time.UTC)},
		{"2002-09-10T23:08:25+23:59", time.Date(2002, 9, 9, 23, 9, 25, 0, time.UTC)},
		{"2002-09-10T23:08:25+02:00", time.Date(2002, 9, 10, 21, 8, 25, 0, time.UTC)},
		{"2002-09-10T23:08:25-05:30", time.Date(2002, 9, 11, 4, 38, 25, 0, time.UTC)},
		{"2002-09-10T23:08:25.5-00:00", time.Date(2002, 9, 10, 23, 8, 25, 500_000_000, time.UTC)},
		{"1969-07-21T02:56:15Z", time.Date(1969, 7, 21, 2, 56, 15, 0, time.UTC)},
		{"2000-02-29T00:00:00Z", time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"0000-01-01T00:00:00Z", time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"9999-12-31T23:59:59.999999999Z", time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC)},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := parseStamp(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, time.UTC, got.Location())
		})
	}
}

func TestParseStampMalformed(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"",
		"yesterday",
		"2002-09-10",                // a Date, not a DateTime
		"2002-09-10T23:08:25",       // no time zone
		"2002-09-10 23:08:25Z",      // no T
		"2002-09-10t23:08:25Z",      // lower-case t
		"20020910T23:08:25",         // XEP-0091's format
		"2002-09-10T23:08Z",         // no seconds
		"02-09-10T23:08:25Z",        // two-digit year
		"2002-13-10T23:08:25Z",      // month 13
		"2002-02-30T23:08:25Z",      // February 30
		"2001-02-29T00:00:00Z",      // not a leap year
		"2002-09-10T24:00:00Z",      // hour 24
		"2002-09-10T23:60:00Z",      // minute 60
		"2002-09-10T23:08:25+24:00", // offset out of range
		"2002-09-10T23:08:25+0200",  // offset without colon
		"2002-09-10T23:08:25.Z",     // a dot without digits
		"2002-09-10T23:08:25,5Z",    // a comma
		"2002-09-10T23:08:25Z ",     // trailing space
		" 2002-09-10T23:08:25Z",     // leading space
		"0000-01-01T00:00:00+00:01", // year -1 in UTC
		"9999-12-31T23:59:59-00:01", // year 10000 in UTC
		"+2002-09-10T23:08:25Z",     // a sign on the year
		"2002-09-10T23:08:25Z\x00",  // a NUL
		"２００２-09-10T23:08:25Z",      // full-width digits
		"2002-09-10T23:08:25.1234567890123456789012345678901234567890Zjunk",
	} {
		t.Run(in, func(t *testing.T) {
			t.Parallel()
			got, err := parseStamp(in)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrMalformed)
			assert.True(t, got.IsZero())
		})
	}
}

// TestDelayStampRoundTrip: what WriteXML writes, parseStamp reads back to
// the same instant.
func TestDelayStampRoundTrip(t *testing.T) {
	t.Parallel()
	for _, s := range []time.Time{
		time.Date(2002, 9, 10, 23, 8, 25, 0, time.UTC),
		time.Date(2002, 9, 10, 23, 8, 25, 1, time.FixedZone("", -9*3600)),
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Now(),
	} {
		var w tokenRecorder
		_, err := Delay{Stamp: s}.WriteXML(&w)
		require.NoError(t, err)
		got, err := parseStamp(attr(w[0].(xml.StartElement), "stamp"))
		require.NoError(t, err)
		assert.True(t, s.Equal(got), "%v != %v", s, got)
	}
}

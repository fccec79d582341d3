package xmlenc

import (
	"encoding/xml"
	"errors"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppendText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		bad            bool
	}{
		{name: "plain", in: "hello", want: "hello"},
		{name: "empty", in: "", want: ""},
		{name: "five entities", in: `a&b<c>d'e"f`, want: "a&amp;b&lt;c&gt;d&apos;e&quot;f"},
		{name: "line ends", in: "a\r\nb\tc", want: "a&#xD;\nb\tc"},
		{name: "non-ASCII", in: "příliš 日本 \U0010FFFF", want: "příliš 日本 \U0010FFFF"},
		{name: "NUL", in: "a\x00b", bad: true},
		{name: "escape char", in: "\x1b[0m", bad: true},
		{name: "FFFE", in: "a\uFFFEb", bad: true},
		{name: "FFFF", in: "\uFFFF", bad: true},
		{name: "invalid UTF-8", in: "a\xffb", bad: true},
		{name: "encoded surrogate", in: "\xed\xa0\x80", bad: true},
		{name: "truncated rune", in: "\xe6\x97", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := AppendText([]byte("x"), tt.in)
			if tt.bad {
				assert.True(t, errors.Is(err, ErrInvalidChar), "err = %v", err)
				assert.Error(t, Valid(tt.in))
				return
			}
			assert.NoError(t, err)
			assert.NoError(t, Valid(tt.in))
			assert.Equal(t, "x"+tt.want, string(got))
		})
	}
}

func TestAppendAttr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		bad            bool
	}{
		{name: "plain", in: "v", want: ` n='v'`},
		{name: "quotes", in: `it's "x"`, want: ` n='it&apos;s &quot;x&quot;'`},
		{name: "whitespace kept", in: "a\tb\nc\rd", want: ` n='a&#x9;b&#xA;c&#xD;d'`},
		{name: "markup", in: "<&>", want: ` n='&lt;&amp;&gt;'`},
		{name: "control", in: "\x01", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := AppendAttr(nil, "n", tt.in)
			if tt.bad {
				assert.ErrorIs(t, err, ErrInvalidChar)
				return
			}
			assert.NoError(t, err)
			assert.Equal(t, tt.want, string(got))
		})
	}
}

func TestAppendEscaped(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		// read is what encoding/xml reads back; empty means in.
		read string
	}{
		{name: "plain", in: "example.com", want: "example.com"},
		{name: "markup and quotes", in: `a<b>&'"c`, want: "a&lt;b&gt;&amp;&apos;&quot;c"},
		{name: "whitespace kept", in: "\t\n\r", want: "&#x9;&#xA;&#xD;"},
		{name: "non-ASCII", in: "日本", want: "日本"},
		{name: "control", in: "a\x01b", want: "a\uFFFDb", read: "a\uFFFDb"},
		{name: "FFFE", in: "a\uFFFEb", want: "a\uFFFDb", read: "a\uFFFDb"},
		{name: "invalid UTF-8", in: "a\xffb\xfe", want: "a\uFFFDb\uFFFD", read: "a\uFFFDb\uFFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := AppendEscaped([]byte("x"), tt.in)
			assert.Equal(t, "x"+tt.want, string(got))
			// The same bytes read back as an attribute value and as
			// character data.
			esc := string(got[1:])
			var v struct {
				A    string `xml:"a,attr"`
				Text string `xml:",chardata"`
			}
			doc := "<x a='" + esc + "'>" + esc + "</x>"
			require.NoError(t, xml.Unmarshal([]byte(doc), &v), doc)
			read := tt.read
			if read == "" {
				read = tt.in
			}
			assert.Equal(t, read, v.A)
			assert.Equal(t, read, v.Text)
		})
	}
}

func TestIsSpace(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want bool
	}{
		{"", true},
		{" \t\r\n", true},
		{" x ", false},
		{"\u00a0", false},
		{"\v", false},
	}
	for _, tt := range tests {
		t.Run(strconv.Quote(tt.in), func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, IsSpace(tt.in))
			assert.Equal(t, tt.want, IsSpace([]byte(tt.in)))
		})
	}
}

func TestIsName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want bool
	}{
		{"body", true},
		{"_x", true},
		{"a-b.c9", true},
		{"héllo", true},
		{"日本", true},
		{"", false},
		{"9a", false},
		{"-a", false},
		{"a:b", false},
		{"a b", false},
		{"a>", false},
		{"a\xff", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, IsName(tt.in))
		})
	}
}

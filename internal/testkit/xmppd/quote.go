package xmppd

import (
	"encoding/json"
	"fmt"
	"strings"
)

// luaString quotes s as a Lua string literal. The quote, the backslash and
// every byte outside printable ASCII become three-digit decimal escapes, so a
// following digit can never extend an escape.
func luaString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '\\' || c < 0x20 || c >= 0x7f {
			fmt.Fprintf(&b, "\\%03d", c)
			continue
		}
		b.WriteByte(c)
	}
	b.WriteByte('"')
	return b.String()
}

// yamlString quotes s as a YAML double-quoted scalar (a JSON string is one).
func yamlString(s string) string {
	out, err := json.Marshal(s)
	if err != nil { // a Go string always marshals
		return `""`
	}
	return string(out)
}

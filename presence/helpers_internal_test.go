package presence

import "unsafe"

// unsafeStringData returns the address of s's bytes, to tell shared
// strings from copies.
func unsafeStringData(s string) *byte { return unsafe.StringData(s) }

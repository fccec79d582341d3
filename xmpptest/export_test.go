package xmpptest

// MaxOffline is maxOffline, for the tests of the bound.
const MaxOffline = maxOffline

// The bounds of privacy.go, for the tests of the bounds.
const (
	MaxPrivacyLists = maxPrivacyLists
	MaxBlocked      = maxBlocked
)

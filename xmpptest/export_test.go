package xmpptest

// MaxOffline is maxOffline, for the tests of the bound.
const MaxOffline = maxOffline

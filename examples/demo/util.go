package main

import (
	"crypto/tls"
	"time"
)

var nowFunc = time.Now

func sinceRounded(t time.Time) time.Duration {
	d := time.Since(t)
	if d > time.Millisecond {
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Microsecond)
}

func tlsVersion(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "TLS 1.3"
	case tls.VersionTLS12:
		return "TLS 1.2"
	}
	return "TLS"
}

//go:build interop

package xmppd_test

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"encoding/xml"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// This file holds a deliberately crude client: just enough raw XMPP to see
// stream features and try a PLAIN login, so the package's tests do not
// depend on the Parley packages the servers exist to test.

// streamHeader opens a client stream to domain.
func streamHeader(domain string) string {
	var to bytes.Buffer
	_ = xml.EscapeText(&to, []byte(domain))
	return "<?xml version='1.0'?><stream:stream to='" + to.String() +
		"' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
}

// readUntil reads from conn until the received text contains one of the
// markers, and returns all text read.
func readUntil(t *testing.T, conn net.Conn, markers ...string) string {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	var got []byte
	buf := make([]byte, 4096)
	for {
		for _, m := range markers {
			if bytes.Contains(got, []byte(m)) {
				return string(got)
			}
		}
		n, err := conn.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			require.NoError(t, err, "waiting for %q, got %q", markers, got)
		}
	}
}

// features opens a stream on conn and returns the stream features text.
func features(t *testing.T, conn net.Conn, domain string) string {
	t.Helper()
	_, err := io.WriteString(conn, streamHeader(domain))
	require.NoError(t, err)
	text := readUntil(t, conn, "</stream:features>", "<stream:features/>", "</stream:stream>")
	require.Contains(t, text, "<stream:features", "no stream features in %q", text)
	return text
}

var mechanismRE = regexp.MustCompile(`<mechanism>([^<]+)</mechanism>`)

// mechanisms lists the SASL mechanisms named in a features text.
func mechanisms(featuresText string) []string {
	var out []string
	for _, m := range mechanismRE.FindAllStringSubmatch(featuresText, -1) {
		out = append(out, m[1])
	}
	return out
}

// startTLS upgrades a fresh connection with STARTTLS and returns the TLS
// connection and the features of the restarted stream.
func startTLS(t *testing.T, addr, domain string, cfg *tls.Config) (*tls.Conn, string) {
	t.Helper()
	raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { raw.Close() })
	feats := features(t, raw, domain)
	require.Contains(t, feats, "<starttls", "features before TLS: %q", feats)
	_, err = io.WriteString(raw, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
	require.NoError(t, err)
	reply := readUntil(t, raw, "<proceed", "<failure")
	require.Contains(t, reply, "<proceed", "STARTTLS reply: %q", reply)
	conn := tls.Client(raw, cfg)
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	require.NoError(t, conn.Handshake(), "TLS handshake")
	return conn, features(t, conn, domain)
}

// plainAuth tries SASL PLAIN as user on an encrypted stream and reports
// whether the server answered success.
func plainAuth(t *testing.T, conn net.Conn, user, pass string) bool {
	t.Helper()
	creds := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
	_, err := io.WriteString(conn, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"+creds+"</auth>")
	require.NoError(t, err)
	reply := readUntil(t, conn, "<success", "<failure")
	return strings.Contains(reply, "<success")
}

// login opens an authenticated, bound stream as user and returns it.
func login(t *testing.T, addr, domain string, cfg *tls.Config, user, pass string) *tls.Conn {
	t.Helper()
	conn, _ := startTLS(t, addr, domain, cfg)
	require.True(t, plainAuth(t, conn, user, pass), "%s logs in", user)
	feats := features(t, conn, domain)
	require.Contains(t, feats, "urn:ietf:params:xml:ns:xmpp-bind")
	_, err := io.WriteString(conn, "<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>")
	require.NoError(t, err)
	reply := readUntil(t, conn, "</iq>")
	require.Contains(t, reply, "<jid>", "bind reply: %q", reply)
	return conn
}

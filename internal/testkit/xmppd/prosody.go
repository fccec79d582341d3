package xmppd

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/template"
	"time"
)

// prosodyModulesDir is where Debian installs Prosody's modules, core and
// community (prosody-modules) alike. A variable for the tests.
var prosodyModulesDir = "/usr/lib/prosody/modules"

// prosodyModules are the modules every instance loads (besides those
// Prosody loads by itself: presence, message, iq, offline, c2s, posix).
var prosodyModules = []string{
	"roster", "saslauth", "tls", "disco", "ping", "register", "carbons",
	"blocklist", "smacks", "mam", "vcard", "private", "pep", "version",
	"time", "uptime", "lastactivity",
}

type prosodyBackend struct{}

func (prosodyBackend) missing(opts Options) string {
	for _, bin := range []string{"prosody", "prosodyctl"} {
		if _, err := exec.LookPath(bin); err != nil {
			return bin + " not found in PATH"
		}
	}
	if opts.PrivacyLists {
		mod := filepath.Join(prosodyModulesDir, "mod_privacy_lists", "mod_privacy_lists.lua")
		if _, err := os.Stat(mod); err != nil {
			return "mod_privacy_lists not found (install prosody-modules)"
		}
	}
	return ""
}

func (prosodyBackend) portCount() int { return 2 }

func (prosodyBackend) usersBeforeLaunch() bool { return true }

func (prosodyBackend) stopGrace() time.Duration { return 5 * time.Second }

func (prosodyBackend) logFile(s *Server) string {
	return filepath.Join(s.Dir, "logs", "prosody.log")
}

func (prosodyBackend) configPath(s *Server) string {
	return filepath.Join(s.Dir, "prosody.cfg.lua")
}

func (b prosodyBackend) command(s *Server) (string, []string) {
	return "prosody", []string{"--config", b.configPath(s), "-F"}
}

// portFailure matches Prosody's message for a port it could not bind; it
// keeps running without the port.
func (prosodyBackend) portFailure(log string) bool {
	return strings.Contains(log, "Failed to open server port")
}

// started: Prosody is ready once it listens.
func (prosodyBackend) started(*Server, string) bool { return true }

func (b prosodyBackend) configure(s *Server, ports []int) error {
	modules := prosodyModules
	if s.opts.PrivacyLists {
		modules = append(modules[:len(modules):len(modules)], "privacy_lists")
	}
	if s.opts.NoArchive || s.opts.Plaintext {
		modules = slices.DeleteFunc(slices.Clone(modules), func(m string) bool {
			return (m == "mam" && s.opts.NoArchive) || (m == "tls" && s.opts.Plaintext)
		})
	}
	auth := "internal_hashed"
	if s.opts.PlainPasswords {
		auth = "internal_plain"
	}
	level := "info"
	if s.opts.Debug {
		level = "debug"
	}
	var directTLS []int
	if s.opts.DirectTLS {
		directTLS = ports[1:2]
	}
	data := map[string]any{
		"Dir":       s.Dir,
		"Domain":    s.Domain,
		"C2SPort":   ports[0],
		"DirectTLS": directTLS,
		"Modules":   modules,
		"Auth":      auth,
		"Level":     level,
		"TLS12":     s.opts.TLS12Only,
		"Plaintext": s.opts.Plaintext,
		"Resume":    s.opts.resumeSeconds(),
	}
	var buf bytes.Buffer
	if err := prosodyConfig.Execute(&buf, data); err != nil {
		return fmt.Errorf("xmppd: render prosody config: %w", err)
	}
	if err := os.WriteFile(b.configPath(s), buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("xmppd: %w", err)
	}
	return nil
}

// addUsers runs prosodyctl register for each account, two per core at a
// time: each is a Lua process of its own, and a hundred at once on a
// loaded machine took longer than startTimeout. It writes the account
// straight into the data folder and overwrites an existing password; the
// running server reads accounts from there at each login, so it works
// before and after launch.
func (b prosodyBackend) addUsers(ctx context.Context, s *Server, users map[string]string) error {
	return inParallel(users, 2*runtime.NumCPU(), func(user, pass string) error { return b.addUser(ctx, s, user, pass) })
}

func (b prosodyBackend) addUser(ctx context.Context, s *Server, user, pass string) error {
	cmd := exec.CommandContext(ctx, "prosodyctl", "--config", b.configPath(s), "register", user, s.Domain, pass)
	cmd.Dir = s.Dir
	cmd.Env = childEnv(s.Dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("xmppd: prosodyctl register %s: %w: %s", user, err, strings.TrimSpace(string(out)))
	}
	return nil
}

var prosodyConfig = template.Must(template.New("prosody").Funcs(template.FuncMap{
	"lua": luaString,
	"path": func(dir string, elem ...string) string {
		return luaString(filepath.Join(append([]string{dir}, elem...)...))
	},
}).Parse(`-- Prosody configuration written by Parley's internal/testkit/xmppd.
-- Everything lives under {{.Dir}}; only 127.0.0.1 is used.
run_as_root = true
pidfile = {{path .Dir "prosody.pid"}}
data_path = {{path .Dir "data"}}
log = {
	{ levels = { min = {{lua .Level}} }, to = "file", filename = {{path .Dir "logs" "prosody.log"}} };
}

interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_ports = { {{.C2SPort}} }
c2s_interfaces = { "127.0.0.1" }
c2s_direct_tls_ports = { {{range .DirectTLS}}{{.}}{{end}} }
c2s_direct_tls_interfaces = { "127.0.0.1" }
s2s_ports = { }
s2s_direct_tls_ports = { }
component_ports = { }
http_ports = { }
https_ports = { }

modules_enabled = {
{{- range .Modules}}
	{{lua .}};
{{- end}}
}
-- s2s is loaded automatically unless disabled; it would bind port 5269.
modules_disabled = { "s2s", "s2s_auth_certs" }

ssl = {
	certificate = {{path .Dir "certs" "server.crt"}};
	key = {{path .Dir "certs" "server.key"}};
{{- if .TLS12}}
	protocol = "tlsv1_2";
{{- end}}
}
{{- if .Plaintext}}
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
{{- else}}
c2s_require_encryption = true
{{- end}}
authentication = {{lua .Auth}}

-- In-band registration (XEP-0077), from loopback only (the default
-- registration_allowlist is 127.0.0.1 and ::1).
allow_registration = true
allowlist_registration_only = true
registration_throttle_max = 1000000
registration_throttle_period = 1

default_archive_policy = true
archive_expires_after = "never"

-- Generous timeouts: tests may idle well past a client's keepalive.
c2s_timeout = 300
smacks_hibernation_time = {{.Resume}}

VirtualHost {{lua .Domain}}
	ssl = {
		certificate = {{path .Dir "certs" "server.crt"}};
		key = {{path .Dir "certs" "server.key"}};
{{- if .TLS12}}
		protocol = "tlsv1_2";
{{- end}}
	}
`))

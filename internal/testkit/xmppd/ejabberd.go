package xmppd

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"
)

// ejabberdModules are the modules every instance loads (but mod_mam with
// Options.NoArchive), with their options in YAML flow style.
var ejabberdModules = []ejabberdModule{
	{"mod_adhoc", "{}"},
	{"mod_admin_extra", "{}"},
	{"mod_blocking", "{}"},
	{"mod_caps", "{}"},
	{"mod_carboncopy", "{}"},
	{"mod_client_state", "{}"},
	{"mod_disco", "{}"},
	{"mod_last", "{}"},
	{"mod_mam", "{db_type: mnesia, default: always, assume_mam_usage: true}"},
	{"mod_offline", "{access_max_user_messages: max_user_offline_messages}"},
	{"mod_ping", "{}"},
	{"mod_privacy", "{}"},
	{"mod_private", "{}"},
	{"mod_pubsub", "{plugins: [flat, pep]}"},
	{"mod_register", "{ip_access: trusted_network, access: register}"},
	{"mod_roster", "{versioning: true}"},
	{"mod_stream_mgmt", "{resume_timeout: %d}"}, // Options.ResumeTimeout
	{"mod_vcard", "{search: false}"},
	{"mod_version", "{show_os: false}"},
}

// ejabberdModule is a module to load and its options.
type ejabberdModule struct{ Name, Options string }

type ejabberdBackend struct{}

// ejabberdctlPath finds the distribution's ejabberdctl, also when /usr/sbin
// is not in PATH. PARLEY_EJABBERDCTL names another one, for instance of a
// newer ejabberd unpacked beside the installed one; its ERL_LIBS line must
// then name the unpacked libraries, since the server's environment does
// not pass ERL_LIBS on.
func ejabberdctlPath() (string, error) {
	if p := os.Getenv("PARLEY_EJABBERDCTL"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("xmppd: PARLEY_EJABBERDCTL: %w", err)
		}
		return p, nil
	}
	if p, err := exec.LookPath("ejabberdctl"); err == nil {
		return p, nil
	}
	const sbin = "/usr/sbin/ejabberdctl"
	if _, err := os.Stat(sbin); err != nil {
		return "", fmt.Errorf("xmppd: ejabberdctl not found in PATH or %s", sbin)
	}
	return sbin, nil
}

// erlLine is the line of the stock ejabberdctl that names the Erlang
// runtime it starts.
var erlLine = regexp.MustCompile(`(?m)^ERL="?([^"\n]+)"?$`)

func (ejabberdBackend) missing(Options) string {
	ctl, err := ejabberdctlPath()
	if err != nil {
		return "ejabberdctl not found"
	}
	script, err := os.ReadFile(ctl)
	if err != nil {
		return err.Error()
	}
	erl := "/usr/bin/erl"
	if m := erlLine.FindSubmatch(script); m != nil {
		erl = string(m[1])
	}
	if _, err := os.Stat(erl); err != nil {
		return "Erlang runtime " + erl + " not found"
	}
	return ""
}

// portCount: c2s, direct TLS, Erlang distribution.
func (ejabberdBackend) portCount() int { return 3 }

func (ejabberdBackend) usersBeforeLaunch() bool { return false }

func (ejabberdBackend) stopGrace() time.Duration { return 10 * time.Second }

func (ejabberdBackend) logFile(s *Server) string {
	return filepath.Join(s.Dir, "logs", "ejabberd.log")
}

func (ejabberdBackend) ctlPath(s *Server) string { return filepath.Join(s.Dir, "ejabberdctl") }

func (b ejabberdBackend) command(s *Server) (string, []string) {
	return b.ctlPath(s), []string{"--config-dir", s.Dir, "foreground"}
}

// portFailure matches the Erlang error for a port in use.
func (ejabberdBackend) portFailure(log string) bool {
	return strings.Contains(log, "eaddrinuse")
}

// installUserLine is the line of the stock ejabberdctl that makes it su to
// the ejabberd user; the private copy empties it so the server runs as the
// test's own user and keeps its state in Dir.
var installUserLine = regexp.MustCompile(`(?m)^INSTALLUSER=.*$`)

// started looks for the line ejabberd logs (at level info) once every
// module is up, or for the listener accepting, which comes after it.
func (ejabberdBackend) started(s *Server, log string) bool {
	return strings.Contains(log, " is started in the node ") ||
		strings.Contains(log, "Start accepting TCP connections at "+s.Addr+" ")
}

func (b ejabberdBackend) configure(s *Server, ports []int) error {
	if s.opts.Plaintext {
		return errors.New("xmppd: Plaintext is for Prosody only")
	}
	modules := ejabberdModules
	if s.opts.NoArchive {
		modules = slices.DeleteFunc(slices.Clone(modules), func(m ejabberdModule) bool { return m.Name == "mod_mam" })
	}
	stock, err := ejabberdctlPath()
	if err != nil {
		return err
	}
	script, err := os.ReadFile(stock)
	if err != nil {
		return fmt.Errorf("xmppd: %w", err)
	}
	if !installUserLine.Match(script) {
		return fmt.Errorf("xmppd: %s has no INSTALLUSER= line to patch", stock)
	}
	script = installUserLine.ReplaceAll(script, []byte("INSTALLUSER="))
	if err := os.WriteFile(b.ctlPath(s), script, 0o700); err != nil {
		return fmt.Errorf("xmppd: %w", err)
	}

	level := "info"
	if s.opts.Debug {
		level = "debug"
	}
	format := "scram"
	if s.opts.PlainPasswords {
		format = "plain"
	}
	tlsOptions := []string{"no_sslv3", "no_tlsv1", "no_tlsv1_1", "cipher_server_preference", "no_compression"}
	if s.opts.TLS12Only {
		tlsOptions = append(tlsOptions, "no_tlsv1_3")
	}
	directPort := 0
	if s.opts.DirectTLS {
		directPort = ports[1]
	}
	data := map[string]any{
		"Dir":        s.Dir,
		"Domain":     s.Domain,
		"C2SPort":    ports[0],
		"DirectPort": directPort,
		"DistPort":   ports[2],
		"Node":       fmt.Sprintf("ejabberd-%d@localhost", ports[0]),
		"Level":      level,
		"Format":     format,
		"TLSOptions": tlsOptions,
		"Modules":    modules,
		"Resume":     s.opts.resumeSeconds(),
	}
	files := []struct {
		name string
		tmpl *template.Template
		mode os.FileMode
	}{
		{"ejabberd.yml", ejabberdConfig, 0o600},
		{"ejabberdctl.cfg", ejabberdctlConfig, 0o600},
		{"inetrc", ejabberdInetrc, 0o600},
	}
	for _, f := range files {
		var buf bytes.Buffer
		if err := f.tmpl.Execute(&buf, data); err != nil {
			return fmt.Errorf("xmppd: render %s: %w", f.name, err)
		}
		if err := os.WriteFile(filepath.Join(s.Dir, f.name), buf.Bytes(), f.mode); err != nil {
			return fmt.Errorf("xmppd: %w", err)
		}
	}
	return writeCookie(s.Dir)
}

// writeCookie gives the instance its own Erlang cookie in HOME=Dir.
func writeCookie(dir string) error {
	path := filepath.Join(dir, ".erlang.cookie")
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	cookie := []byte(rand.Text())
	for i, c := range cookie {
		cookie[i] = letters[int(c)%len(letters)]
	}
	if err := os.WriteFile(path, cookie, 0o400); err != nil {
		return fmt.Errorf("xmppd: %w", err)
	}
	return nil
}

// ctl runs one ejabberdctl command against the instance's node.
func (b ejabberdBackend) ctl(ctx context.Context, s *Server, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, b.ctlPath(s), append([]string{"--config-dir", s.Dir}, args...)...)
	cmd.Dir = s.Dir
	cmd.Env = childEnv(s.Dir)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// addUsers creates the accounts with in-band registration over one
// stream, which costs milliseconds; an ejabberdctl call boots an Erlang VM
// (0.3 s or more) each. Accounts that exist get their password changed with
// ejabberdctl. When in-band registration fails, every account falls back to
// ejabberdctl.
func (b ejabberdBackend) addUsers(ctx context.Context, s *Server, users map[string]string) error {
	conflicts, ibrErr := registerAccounts(ctx, s.Addr, s.Domain, s.CertPool, users)
	if ibrErr != nil {
		err := inParallel(users, 0, func(user, pass string) error { return b.addUser(ctx, s, user, pass) })
		if err != nil {
			return errors.Join(ibrErr, err)
		}
		return nil
	}
	return inParallel(pick(users, conflicts), 0, func(user, pass string) error {
		out, err := b.ctl(ctx, s, "change_password", user, s.Domain, pass)
		if err != nil {
			return fmt.Errorf("xmppd: ejabberdctl change_password %s: %w: %s", user, err, out)
		}
		return nil
	})
}

// pick returns the entries of users named in names.
func pick(users map[string]string, names []string) map[string]string {
	out := make(map[string]string, len(names))
	for _, n := range names {
		out[n] = users[n]
	}
	return out
}

// addUser registers the account with ejabberdctl, or changes its password
// when it exists.
func (b ejabberdBackend) addUser(ctx context.Context, s *Server, user, pass string) error {
	out, err := b.ctl(ctx, s, "register", user, s.Domain, pass)
	if err == nil {
		return nil
	}
	if !strings.Contains(out, "already registered") {
		return fmt.Errorf("xmppd: ejabberdctl register %s: %w: %s", user, err, out)
	}
	out, err = b.ctl(ctx, s, "change_password", user, s.Domain, pass)
	if err != nil {
		return fmt.Errorf("xmppd: ejabberdctl change_password %s: %w: %s", user, err, out)
	}
	return nil
}

var ejabberdFuncs = template.FuncMap{
	"yaml": yamlString,
	"sh":   shellString,
	"path": func(dir string, elem ...string) string {
		return filepath.Join(append([]string{dir}, elem...)...)
	},
}

// shellString quotes s for a POSIX shell.
func shellString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

var ejabberdctlConfig = template.Must(template.New("ejabberdctl.cfg").Funcs(ejabberdFuncs).Parse(`# ejabberdctl settings written by Parley's internal/testkit/xmppd.
# ERL_DIST_PORT runs Erlang distribution on a fixed port without epmd;
# the distribution listens on 127.0.0.1 only.
ERLANG_NODE={{sh .Node}}
ERL_DIST_PORT={{.DistPort}}
ERL_OPTIONS='-env ERL_CRASH_DUMP_BYTES 0 -kernel inet_dist_use_interface {127,0,0,1}'
EJABBERD_CONFIG_PATH={{sh (path .Dir "ejabberd.yml")}}
EJABBERD_PID_PATH={{sh (path .Dir "ejabberd.pid")}}
SPOOL_DIR={{sh (path .Dir "spool")}}
LOGS_DIR={{sh (path .Dir "logs")}}
EJABBERD_LOG_PATH={{sh (path .Dir "logs" "ejabberd.log")}}
CONTRIB_MODULES_PATH={{sh (path .Dir "contrib")}}
CONTRIB_MODULES_CONF_DIR={{sh (path .Dir "contrib" "conf")}}
EJABBERD_BYPASS_WARNINGS=true
FIREWALL_WINDOW=
INET_DIST_INTERFACE=
`))

var ejabberdInetrc = template.Must(template.New("inetrc").Parse(`{lookup, [file]}.
{host, {127,0,0,1}, ["localhost"]}.
`))

var ejabberdConfig = template.Must(template.New("ejabberd.yml").Funcs(ejabberdFuncs).Parse(`# ejabberd configuration written by Parley's internal/testkit/xmppd.
# Everything lives under {{.Dir}}; only 127.0.0.1 is used.
hosts:
  - {{yaml .Domain}}
loglevel: {{.Level}}
log_rotate_count: 0
certfiles:
  - {{yaml (path .Dir "certs" "server.pem")}}
acme:
  auto: false

listen:
  -
    port: {{.C2SPort}}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    access: c2s
    shaper: c2s_shaper
    max_stanza_size: 1048576
    starttls: true
    starttls_required: true
    protocol_options: [{{range $i, $o := .TLSOptions}}{{if $i}}, {{end}}{{yaml $o}}{{end}}]
{{- if .DirectPort}}
  -
    port: {{.DirectPort}}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    access: c2s
    shaper: c2s_shaper
    max_stanza_size: 1048576
    tls: true
    protocol_options: [{{range $i, $o := .TLSOptions}}{{if $i}}, {{end}}{{yaml $o}}{{end}}]
{{- end}}

# No server-to-server: no s2s listener, and never dial out.
s2s_access: none

auth_method: internal
auth_password_format: {{.Format}}
disable_sasl_mechanisms: ["digest-md5", "x-oauth2"]
# The default allows one in-band registration per IP every 600 s.
registration_timeout: infinity

shaper:
  normal: 1000000
  fast: 50000000

shaper_rules:
  c2s_shaper: none
  max_user_sessions: 1000
  max_user_offline_messages: 5000

acl:
  local:
    user_regexp: ""
  loopback:
    ip:
      - 127.0.0.0/8
      - ::1/128

access_rules:
  local:
    allow: local
  c2s:
    allow: all
  register:
    allow: all
  trusted_network:
    allow: loopback

api_permissions:
  "console commands":
    from:
      - ejabberd_ctl
    who: all
    what: "*"

modules:
{{- range .Modules}}
  {{.Name}}: {{if eq .Name "mod_stream_mgmt"}}{{printf .Options $.Resume}}{{else}}{{.Options}}{{end}}
{{- end}}
`))

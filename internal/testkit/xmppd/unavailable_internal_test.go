package xmppd

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recordingTB records what Skip and Fatal were called with; both end the
// calling goroutine, as testing.T's do.
type recordingTB struct {
	testing.TB
	skipped, failed string
}

func (r *recordingTB) Helper()               {}
func (r *recordingTB) Skip(args ...any)      { r.skipped = args[0].(string); runtime.Goexit() }
func (r *recordingTB) Fatal(args ...any)     { r.failed = args[0].(string); runtime.Goexit() }
func (r *recordingTB) Skipf(string, ...any)  { panic("not used") }
func (r *recordingTB) Fatalf(string, ...any) { panic("not used") }

// callUnavailable runs unavailable on a goroutine of its own, since it
// ends the goroutine it runs on.
func callUnavailable(t *testing.T, what string) *recordingTB {
	rec := &recordingTB{TB: t}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		unavailable(rec, Prosody, what)
	}()
	wg.Wait()
	return rec
}

func TestUnavailableSkipsOrFails(t *testing.T) {
	const what = "mod_privacy_lists not found (install prosody-modules)"

	t.Setenv("PARLEY_REQUIRE_SERVERS", "")
	rec := callUnavailable(t, what)
	assert.Empty(t, rec.failed)
	assert.Contains(t, rec.skipped, what)
	assert.Contains(t, rec.skipped, "scripts/install-servers.sh")

	t.Setenv("PARLEY_REQUIRE_SERVERS", "1")
	rec = callUnavailable(t, what)
	assert.Empty(t, rec.skipped)
	assert.Contains(t, rec.failed, what)
}

func TestProsodyMissingPrivacyModule(t *testing.T) {
	for _, bin := range []string{"prosody", "prosodyctl"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skip("needs Prosody installed: the binaries are checked first")
		}
	}
	old := prosodyModulesDir
	t.Cleanup(func() { prosodyModulesDir = old })
	prosodyModulesDir = t.TempDir()

	assert.Empty(t, prosodyBackend{}.missing(Options{}), "no module needed without PrivacyLists")
	assert.Contains(t, prosodyBackend{}.missing(Options{PrivacyLists: true}), "mod_privacy_lists")

	mod := filepath.Join(prosodyModulesDir, "mod_privacy_lists", "mod_privacy_lists.lua")
	require.NoError(t, os.MkdirAll(filepath.Dir(mod), 0o755))
	require.NoError(t, os.WriteFile(mod, []byte("-- present\n"), 0o644))
	assert.Empty(t, prosodyBackend{}.missing(Options{PrivacyLists: true}))
}

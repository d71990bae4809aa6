package pluginmgr_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/molecule-ai/molecule-host/host/pluginmgr"
	"github.com/molecule-ai/molecule-host/internal/plugintest"
	"github.com/molecule-ai/molecule-host/sdk"
)

// evilScript is a "plugin" that leaves a marker file if it is ever run.
func evilScript(marker string) string {
	return "#!/bin/sh\ntouch '" + marker + "'\n"
}

func TestStartRefusesChecksumMismatchBeforeLaunch(t *testing.T) {
	env := mustPluginDir(t, "molecule-backend-fake")
	marker := filepath.Join(t.TempDir(), "evil-ran")
	evil := filepath.Join(env.dir, "molecule-backend-evil")
	mustWrite(t, evil, evilScript(marker), 0o755)
	realSum := mustDigest(t, evil)
	lock, err := os.ReadFile(filepath.Join(env.dir, "plugins.lock"))
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(env.dir, "plugins.lock"), string(lock)+sumA+"  molecule-backend-evil\n", 0o644)

	m := pluginmgr.New(env.config(nil))
	t.Cleanup(m.Close)
	err = m.Start(context.Background())
	if err == nil {
		t.Fatal("Start = nil, want a verification error")
	}
	if e := contains(err.Error(), "molecule-backend-evil", sumA, realSum); e != nil {
		t.Errorf("Start error: %v", e)
	}
	assertRefused(t, m, marker, realSum)
}

func TestStartRefusesUnlistedBinary(t *testing.T) {
	env := mustPluginDir(t, "molecule-backend-fake")
	marker := filepath.Join(t.TempDir(), "evil-ran")
	evil := filepath.Join(env.dir, "molecule-backend-evil")
	mustWrite(t, evil, evilScript(marker), 0o755) // written after the lock
	realSum := mustDigest(t, evil)

	m := pluginmgr.New(env.config(nil))
	t.Cleanup(m.Close)
	err := m.Start(context.Background())
	if err == nil {
		t.Fatal("Start = nil, want an unlisted-binary error")
	}
	if e := contains(err.Error(), "molecule-backend-evil", realSum, "not listed"); e != nil {
		t.Errorf("Start error: %v", e)
	}
	assertRefused(t, m, marker, realSum)
}

// assertRefused checks that evil never ran and is unavailable while the
// fake still loaded.
func assertRefused(t *testing.T, m *pluginmgr.Manager, marker, realSum string) {
	t.Helper()
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("marker %s exists (stat err %v): the unverified binary was executed", marker, err)
	}
	in := infoOf(t, m, "evil")
	if in.State != pluginmgr.StateUnavailable || !strings.Contains(in.Reason, realSum) || in.PID != 0 {
		t.Errorf("evil Info = %+v, want unavailable, no PID, reason naming %s", in, realSum)
	}
	if _, _, err := m.Backend("evil"); !isKind(err, sdk.KindTransient) || !strings.Contains(err.Error(), realSum) {
		t.Errorf("Backend(evil) error = %v, want KindTransient naming the digest", err)
	}
	if fake := infoOf(t, m, "fake"); fake.State != pluginmgr.StateRunning {
		t.Errorf("fake Info = %+v, want running next to a refused plugin", fake)
	}
}

func TestStartRefusesLockEntryWithoutFile(t *testing.T) {
	env := mustPluginDir(t, "molecule-backend-fake")
	f, err := os.OpenFile(filepath.Join(env.dir, "plugins.lock"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(sumB + "  molecule-backend-gone\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	m := pluginmgr.New(env.config(nil))
	t.Cleanup(m.Close)
	err = m.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "molecule-backend-gone") {
		t.Fatalf("Start = %v, want an error naming molecule-backend-gone", err)
	}
}

func TestStartMissingLockFile(t *testing.T) {
	env := mustPluginDir(t, "molecule-backend-fake")
	if err := os.Remove(filepath.Join(env.dir, "plugins.lock")); err != nil {
		t.Fatal(err)
	}
	m := pluginmgr.New(env.config(nil))
	t.Cleanup(m.Close)
	if err := m.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "plugins.lock") {
		t.Fatalf("Start = %v, want an error naming plugins.lock", err)
	}
	if got := m.Infos(); len(got) != 0 {
		t.Errorf("Infos = %+v, want nothing launched", got)
	}
}

func TestFakeLaunchedAndConfigured(t *testing.T) {
	env := mustPluginDir(t, "molecule-backend-fake")
	logs := &plugintest.Buffer{}
	// The plugin logs at the host logger's level (MOLECULE_LOG_LEVEL).
	logger := hclog.New(&hclog.LoggerOptions{Name: "host", Level: hclog.Trace, Output: logs})
	m := mustStart(t, env.config(logger))

	b, man := mustBackend(t, m, "fake")
	if man.Name != "fake" || man.ProtocolVersion != sdk.ProtocolVersion {
		t.Errorf("manifest = %+v, want name fake, protocol %d", man, sdk.ProtocolVersion)
	}
	if err := statusCall(ctxTimeout(t, 10*time.Second), b); err != nil {
		t.Fatalf("Status through the handle: %v (was Configure called?)", err)
	}
	in := infoOf(t, m, "fake")
	want := mustDigest(t, filepath.Join(env.dir, "molecule-backend-fake"))
	if in.State != pluginmgr.StateRunning || in.SHA256 != want || in.PID <= 0 || in.Restarts != 0 || in.Manifest == nil {
		t.Errorf("Info = %+v, want running, sha %s, a PID, 0 restarts, a manifest", in, want)
	}
	if fi, err := os.Stat(filepath.Join(env.data, "molecule-backend-fake")); err != nil || !fi.IsDir() {
		t.Errorf("plugin data dir: %v", err)
	}
	// The plugin's own stderr (hclog JSON) is re-emitted under its binary
	// name; go-plugin adds the plugin-side timestamp to each such line.
	pluginLine := regexp.MustCompile(`(?m)host\.molecule-backend-fake: .*timestamp=`)
	waitFor(t, "a plugin stderr line under the binary's name", 5*time.Second, func() bool {
		return pluginLine.MatchString(logs.String())
	})
	if _, _, err := m.Backend("nope"); !isKind(err, sdk.KindNotFound) || !strings.Contains(err.Error(), "no backend named nope") {
		t.Errorf("Backend(nope) = %v, want KindNotFound naming it", err)
	}
}

func TestClosedManagerKillsPlugins(t *testing.T) {
	env := mustPluginDir(t, "molecule-backend-fake")
	m := mustStart(t, env.config(nil))
	b, _ := mustBackend(t, m, "fake")
	pid := infoOf(t, m, "fake").PID
	m.Close()
	waitFor(t, "plugin process gone after Close", 10*time.Second, func() bool { return !processAlive(pid) })
	if err := statusCall(ctxTimeout(t, 5*time.Second), b); !isKind(err, sdk.KindTransient) {
		t.Errorf("call after Close = %v, want KindTransient", err)
	}
}

// processAlive reports whether pid exists and is not a zombie.
func processAlive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(filepath.Join("/proc", itoa(pid), "stat"))
	if err != nil {
		return false
	}
	// Field 3, after the parenthesised command name, is the state.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

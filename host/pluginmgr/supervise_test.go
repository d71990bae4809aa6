package pluginmgr_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/host/pluginmgr"
	"github.com/molecule-ai/molecule-host/internal/plugintest"
	"github.com/molecule-ai/molecule-host/sdk"
)

func TestKilledPluginRestartedAndCallRetried(t *testing.T) {
	env := mustPluginDir(t, "molecule-backend-fake")
	m := mustStart(t, env.config(nil))
	b, _ := mustBackend(t, m, "fake")
	old := infoOf(t, m, "fake").PID
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatalf("kill plugin %d: %v", old, err)
	}
	if err := statusCall(ctxTimeout(t, 20*time.Second), b); err != nil {
		t.Fatalf("Status after SIGKILL: %v", err)
	}
	in := infoOf(t, m, "fake")
	if in.Restarts != 1 || in.State != pluginmgr.StateRunning || in.PID == old || !processAlive(in.PID) {
		t.Errorf("Info after restart = %+v, want running, 1 restart, a new live PID (old %d)", in, old)
	}
	if processAlive(old) {
		t.Errorf("old plugin process %d still alive", old)
	}
}

func TestCrashMidCallRetriedOnce(t *testing.T) {
	env := mustPluginDir(t, "molecule-backend-fake")
	m := mustStart(t, env.config(nil))
	b, _ := mustBackend(t, m, "fake")
	old := infoOf(t, m, "fake").PID
	mustWrite(t, env.faults, `[{"verb":"status","action":"crash","count":1}]`, 0o644)

	if err := statusCall(ctxTimeout(t, 20*time.Second), b); err != nil {
		t.Fatalf("Status with a crash fault: %v", err)
	}
	in := infoOf(t, m, "fake")
	if in.Restarts != 1 || in.PID == old {
		t.Errorf("Info = %+v, want 1 restart and a new PID (old %d): the fault did not crash the plugin", in, old)
	}
}

func TestCrashLoopMarksUnavailable(t *testing.T) {
	env := mustPluginDir(t, "molecule-backend-fake")
	cfg := env.config(nil)
	cfg.CrashLoopLimit = 3
	cfg.RestartBackoff = 20 * time.Millisecond
	m := mustStart(t, cfg)
	b, _ := mustBackend(t, m, "fake")
	mustWrite(t, env.faults, `[{"verb":"status","action":"crash","count":-1}]`, 0o644)

	var last error
	waitFor(t, "crash loop detected", 30*time.Second, func() bool {
		last = statusCall(ctxTimeout(t, 20*time.Second), b)
		if last == nil {
			t.Fatal("Status succeeded although every status call crashes the plugin")
		}
		return infoOf(t, m, "fake").State == pluginmgr.StateUnavailable
	})
	in := infoOf(t, m, "fake")
	if !strings.Contains(in.Reason, "crashed 3 times in 1m0s") || in.Restarts != 2 {
		t.Errorf("Info = %+v, want reason \"crashed 3 times in 1m0s: ...\" after 2 restarts", in)
	}
	if !sdk.IsKind(last, sdk.KindTransient) {
		t.Errorf("last call error = %v, want KindTransient", last)
	}
	_, _, err := m.Backend("fake")
	if !sdk.IsKind(err, sdk.KindTransient) || !strings.Contains(err.Error(), "crashed 3 times") {
		t.Errorf("Backend(fake) = %v, want KindTransient naming the crash loop", err)
	}
	// No more restarts: the process count stays where it is.
	if err := statusCall(ctxTimeout(t, 5*time.Second), b); !strings.Contains(errString(err), "crashed 3 times") {
		t.Errorf("call on the handle after the crash loop = %v, want the unavailable reason", err)
	}
	if got := infoOf(t, m, "fake").Restarts; got != 2 {
		t.Errorf("Restarts = %d after giving up, want 2", got)
	}
}

func TestPluginDiesWithHost(t *testing.T) {
	env := mustPluginDir(t, "molecule-backend-fake")
	cmd := exec.Command(hostsimBin, env.dir, env.data)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &plugintest.Buffer{}
	cmd.Stderr = stderr
	cmd.WaitDelay = 5 * time.Second // never hang on a pipe a stray process holds
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n') // "" when hostsim exits first
		lines <- line
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(30 * time.Second):
		t.Fatalf("hostsim printed no plugin PID in 30s; stderr:\n%s", stderr)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || !processAlive(pid) {
		t.Fatalf("hostsim printed %q (%v), plugin alive=%v; stderr:\n%s", line, err, err == nil && processAlive(pid), stderr)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	waitFor(t, "plugin process gone after the host was SIGKILLed", 10*time.Second, func() bool { return !processAlive(pid) })
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestReplacedBinaryNotRelaunched(t *testing.T) {
	env := mustPluginDir(t, "molecule-backend-fake")
	m := mustStart(t, env.config(nil))
	b, _ := mustBackend(t, m, "fake")
	pid := infoOf(t, m, "fake").PID
	marker := filepath.Join(t.TempDir(), "evil-ran")
	tmp := filepath.Join(env.dir, ".swap")
	mustWrite(t, tmp, evilScript(marker), 0o755)
	if err := os.Rename(tmp, filepath.Join(env.dir, "molecule-backend-fake")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := statusCall(ctxTimeout(t, 20*time.Second), b)
	if !sdk.IsKind(err, sdk.KindTransient) || !strings.Contains(err.Error(), "sha256 mismatch") {
		t.Errorf("call after the binary was replaced = %v, want KindTransient naming the mismatch", err)
	}
	if in := infoOf(t, m, "fake"); in.State != pluginmgr.StateUnavailable || in.Restarts != 0 {
		t.Errorf("Info = %+v, want unavailable with no restart", in)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("marker %s exists (stat err %v): the replaced binary was executed", marker, err)
	}
}

package main

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/internal/plugintest"
)

// mustBuild builds the agent binary once per test.
func mustBuild(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	if err := plugintest.Build(dir, "./cmd/molecule-agent"); err != nil {
		tb.Fatal(err)
	}
	return filepath.Join(dir, "molecule-agent")
}

func TestBinary(t *testing.T) {
	bin := mustBuild(t)
	t.Run("smoke unknown runtime exits 2", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "runtime.json"), []byte(`{"runtime":"wedge"}`), 0o644)
		cmd := exec.Command(bin, "smoke")
		cmd.Env = []string{"MOLECULE_CONFIG_DIR=" + dir}
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "wedge") {
			t.Fatalf("smoke = %v, output %q; want exit 2 naming wedge", err, out)
		}
	})
	t.Run("smoke echo exits 0", func(t *testing.T) {
		cmd := exec.Command(bin, "smoke")
		cmd.Env = []string{"MOLECULE_CONFIG_DIR=" + t.TempDir()}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("smoke = %v: %s", err, out)
		}
	})
	t.Run("SIGTERM exits 0", func(t *testing.T) {
		cmd := exec.Command(bin)
		cmd.Env = []string{"MOLECULE_CONFIG_DIR=" + t.TempDir()}
		mustStartListening(t, cmd)
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("after SIGTERM: %v, want exit 0", err)
		}
	})
}

// TestAgentNotReadableBySameUser: the agent holds its token in its
// environment; another process of the same uid (another workspace's code on
// a shared machine) must not read /proc/<pid>/environ. Running the agent as
// nobody, its /proc files must belong to root (non-dumpable), not nobody.
func TestAgentNotReadableBySameUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test runs the agent as nobody and needs root")
	}
	dir, err := os.MkdirTemp("", "mh-agent") // t.TempDir's parent is not traversable by nobody
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := plugintest.Build(dir, "./cmd/molecule-agent"); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "molecule-agent")
	cfgDir := filepath.Join(dir, "configs")
	for _, p := range []string{dir, bin} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(cfgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = []string{"MOLECULE_CONFIG_DIR=" + cfgDir, "MOLECULE_AGENT_TOKEN=secret-token"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	mustStartListening(t, cmd)
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/"+strconv.Itoa(cmd.Process.Pid)+"/environ", &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 0 {
		t.Fatalf("/proc/<agent>/environ belongs to uid %d, want 0: the agent is dumpable, so any process of its uid reads its token", st.Uid)
	}
}

// mustStartListening starts the agent and waits until it logs that it
// listens; it kills the agent and fails the test after 10 s.
func mustStartListening(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening on") {
				close(listening)
			}
		}
	}()
	select {
	case <-listening:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("agent did not log 'listening on' within 10s")
	}
}

package main

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
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
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("after SIGTERM: %v, want exit 0", err)
		}
	})
}

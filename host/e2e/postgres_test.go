package e2e_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/host/hosttest"
)

// postmasterPID reads the embedded cluster's postmaster pid.
func postmasterPID(t *testing.T, dataDir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "postgres", "pgdata", "postmaster.pid"))
	if err != nil {
		t.Fatalf("reading postmaster.pid: %v", err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		t.Fatalf("postmaster.pid: %q", first)
	}
	return pid
}

// TestPostgresKilled SIGKILLs the embedded Postgres under a running host:
// the host starts it again, nothing committed is lost, and the host serves
// lifecycle requests again.
func TestPostgresKilled(t *testing.T) {
	h, _ := startFake(t, "")
	first := create(t, h, "before", nil)
	waitStatus(t, h, first.Workspace.ID, "online", 30*time.Second)

	pid := postmasterPID(t, h.DataDir)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	hosttest.Eventually(t, 60*time.Second, func() (bool, string) {
		var body map[string]string
		st := h.DoToken("", "GET", "/healthz", nil, &body)
		return st == 200 && postmasterPID(t, h.DataDir) != pid, "healthz " + strconv.Itoa(st)
	})

	ws := waitStatus(t, h, first.Workspace.ID, "online", 30*time.Second)
	if ws.Name != "before" {
		t.Errorf("workspace after the restart: %+v", ws)
	}
	second := create(t, h, "after", nil)
	waitStatus(t, h, second.Workspace.ID, "online", 60*time.Second)
}

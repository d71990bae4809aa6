// Package e2e_test drives real molecule-host processes (embedded Postgres,
// real plugin processes over go-plugin) through the HTTP API: the
// foundation's end-to-end guarantees.
package e2e_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/host/hosttest"
)

type workspace struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	Backend      string            `json:"backend"`
	Status       string            `json:"status"`
	StatusReason string            `json:"status_reason"`
	ConfigHash   string            `json:"config_hash"`
	Config       map[string]string `json:"config"`
	URL          string            `json:"url"`
}

type operation struct {
	ID    string `json:"id"`
	Verb  string `json:"verb"`
	State string `json:"state"`
	Step  string `json:"step"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

type accepted struct {
	Workspace workspace `json:"workspace"`
	Operation operation `json:"operation"`
}

type apiError struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
		Fields    []struct {
			Path    string `json:"path"`
			Message string `json:"message"`
		} `json:"fields"`
	} `json:"error"`
}

// startFake runs a host with the fake backend, its state in the host's
// data dir so tests can inject faults.
func startFake(t *testing.T, dataDir string, extra ...string) (*hosttest.Host, string) {
	t.Helper()
	hosttest.Build(t, append([]string{"molecule-backend-fake"}, extra...)...)
	if dataDir == "" {
		d, err := os.MkdirTemp("", "mh-")
		if err != nil {
			t.Fatal(err)
		}
		_ = os.Chmod(d, 0o755)
		t.Cleanup(func() { _ = os.RemoveAll(d) })
		dataDir = d
	}
	state := filepath.Join(dataDir, "fake-state")
	plugins := []string{"molecule-backend-fake"}
	for _, e := range extra {
		plugins = append(plugins, filepath.Base(e))
	}
	h := hosttest.Start(t, hosttest.Options{Plugins: plugins, DataDir: dataDir,
		BackendConfig: map[string]map[string]string{"fake": {"state_dir": state}}})
	return h, state
}

func create(t *testing.T, h *hosttest.Host, name string, cfg map[string]string) accepted {
	t.Helper()
	var a accepted
	if st := h.Do("POST", "/workspaces", map[string]any{"name": name, "backend": "fake", "config": cfg}, &a); st != 202 {
		t.Fatalf("create %s: status %d", name, st)
	}
	return a
}

func waitStatus(t *testing.T, h *hosttest.Host, id, want string, timeout time.Duration) workspace {
	t.Helper()
	var ws workspace
	hosttest.Eventually(t, timeout, func() (bool, string) {
		ws = workspace{}
		// The host holds the request until the status is reached (or 5s).
		h.Do("GET", "/workspaces/"+id+"?wait="+want+"&timeout=5s", nil, &ws)
		return ws.Status == want, fmt.Sprintf("workspace %s is %s (%s), want %s", id, ws.Status, ws.StatusReason, want)
	})
	return ws
}

func waitOp(t *testing.T, h *hosttest.Host, id string, timeout time.Duration) operation {
	t.Helper()
	var op operation
	hosttest.Eventually(t, timeout, func() (bool, string) {
		op = operation{}
		h.Do("GET", "/operations/"+id, nil, &op)
		return op.State == "succeeded" || op.State == "failed", fmt.Sprintf("operation %s is %s (%s)", id, op.State, op.Step)
	})
	return op
}

// writeFaults replaces the fake backend's fault rules.
func writeFaults(t *testing.T, stateDir, rules string) {
	t.Helper()
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(stateDir, "faults.json.tmp")
	if err := os.WriteFile(tmp, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(stateDir, "faults.json")); err != nil {
		t.Fatal(err)
	}
}

// pluginPIDs returns the pids of running processes whose executable lies
// in dir.
func pluginPIDs(t *testing.T, dir string) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err == nil && strings.HasPrefix(exe, dir+"/") {
			if b, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); !strings.Contains(string(b), ") Z ") {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

package e2e_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/host/hosttest"
)

// TestBadRequests checks that bad input gets a 4xx naming what was wrong
// and changes nothing.
func TestBadRequests(t *testing.T) {
	h, _ := startFake(t, "")
	tests := map[string]struct {
		token, method, path string
		body                any
		status              int
		code, field         string
	}{
		"missing name":       {h.Token, "POST", "/workspaces", map[string]any{"backend": "fake"}, 400, "invalid", "name"},
		"bad name":           {h.Token, "POST", "/workspaces", map[string]any{"name": "Bad Name!", "backend": "fake"}, 400, "invalid", "name"},
		"unknown backend":    {h.Token, "POST", "/workspaces", map[string]any{"name": "x", "backend": "nope"}, 400, "invalid", "backend"},
		"tier out of range":  {h.Token, "POST", "/workspaces", map[string]any{"name": "x", "backend": "fake", "tier": 9}, 400, "invalid", "tier"},
		"tier wrong type":    {h.Token, "POST", "/workspaces", map[string]any{"name": "x", "backend": "fake", "tier": "high"}, 400, "invalid", "tier"},
		"unknown field":      {h.Token, "POST", "/workspaces", map[string]any{"name": "x", "backend": "fake", "colour": "red"}, 400, "invalid", "colour"},
		"config escapes":     {h.Token, "POST", "/workspaces", map[string]any{"name": "x", "backend": "fake", "config": map[string]string{"../etc/passwd": "x"}}, 400, "invalid", "config.../etc/passwd"},
		"not json":           {h.Token, "POST", "/workspaces", "{name:", 400, "invalid", ""},
		"no token":           {"", "GET", "/workspaces", nil, 401, "unauthorized", ""},
		"wrong token":        {"nope", "GET", "/workspaces", nil, 401, "unauthorized", ""},
		"unknown workspace":  {h.Token, "GET", "/workspaces/00000000-0000-0000-0000-000000000000", nil, 404, "not_found", ""},
		"malformed id":       {h.Token, "POST", "/workspaces/not-a-uuid/start", nil, 404, "not_found", ""},
		"unknown operation":  {h.Token, "GET", "/operations/00000000-0000-0000-0000-000000000000", nil, 404, "not_found", ""},
		"bad status filter":  {h.Token, "GET", "/workspaces?status=sleepy", nil, 400, "invalid", "status"},
		"agent without auth": {"", "POST", "/registry/register", map[string]any{"workspace_id": "x", "url": "http://127.0.0.1:1"}, 401, "unauthorized", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var e apiError
			st := h.DoToken(tc.token, tc.method, tc.path, tc.body, &e)
			if st != tc.status || e.Error.Code != tc.code {
				t.Fatalf("status %d code %q (%s), want %d %q", st, e.Error.Code, e.Error.Message, tc.status, tc.code)
			}
			if e.Error.Message == "" || e.Error.RequestID == "" {
				t.Errorf("error lacks a message or request id: %+v", e.Error)
			}
			if tc.field != "" && (len(e.Error.Fields) == 0 || e.Error.Fields[0].Path != tc.field) {
				t.Errorf("fields %+v, want one naming %q", e.Error.Fields, tc.field)
			}
		})
	}
	var list struct {
		Workspaces []workspace `json:"workspaces"`
	}
	h.Do("GET", "/workspaces", nil, &list)
	if len(list.Workspaces) != 0 {
		t.Errorf("bad requests created workspaces: %+v", list.Workspaces)
	}
}

// TestUndeclaredVerbIs501 loads a backend without the logs verb: asking for
// a boot log is a 501 naming the backend, not a 500 and not a plugin call.
func TestUndeclaredVerbIs501(t *testing.T) {
	hosttest.Build(t, "molecule-backend-fake", "./internal/plugintest/testdata/molecule-backend-nologs")
	d := t.TempDir()
	_ = os.Chmod(d, 0o755)
	h := hosttest.Start(t, hosttest.Options{Plugins: []string{"molecule-backend-nologs"}, DataDir: d,
		BackendConfig: map[string]map[string]string{"nologs": {"state_dir": filepath.Join(d, "state")}}})
	var a accepted
	if st := h.Do("POST", "/workspaces", map[string]any{"name": "quiet", "backend": "nologs"}, &a); st != 202 {
		t.Fatalf("create: status %d", st)
	}
	var e apiError
	st := h.Do("GET", "/workspaces/"+a.Workspace.ID+"/boot-log", nil, &e)
	if st != 501 || e.Error.Code != "not_implemented" || !strings.Contains(e.Error.Message, `"nologs"`) {
		t.Fatalf("boot-log: status %d, %+v", st, e.Error)
	}
	waitOp(t, h, a.Operation.ID, 30*time.Second)
}

// TestChecksumMismatchRefused tampers with a plugin after locking it: the
// host refuses to start and names the file and both digests.
func TestChecksumMismatchRefused(t *testing.T) {
	bin := hosttest.Build(t, "molecule-backend-fake")
	dir := t.TempDir()
	plugin := filepath.Join(dir, "molecule-backend-fake")
	b, err := os.ReadFile(filepath.Join(bin, "plugins", "molecule-backend-fake"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(plugin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	lock := "0000000000000000000000000000000000000000000000000000000000000000  molecule-backend-fake\n"
	if err := os.WriteFile(filepath.Join(dir, "plugins.lock"), []byte(lock), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runHost(t, bin, "plugins", "verify", "--dir", dir)
	if err == nil || !strings.Contains(out, "molecule-backend-fake") || !strings.Contains(out, "0000000000000000") {
		t.Fatalf("plugins verify accepted a tampered plugin: err=%v\n%s", err, out)
	}
}

// TestWaitForStatus: GET /workspaces/{id}?wait=STATUS holds the request
// until the workspace has the status, answers at the timeout otherwise,
// and refuses a status that does not exist.
func TestWaitForStatus(t *testing.T) {
	h, _ := startFake(t, "")
	a := create(t, h, "waiter", nil)
	var ws workspace
	if st := h.Do("GET", "/workspaces/"+a.Workspace.ID+"?wait=online&timeout=60s", nil, &ws); st != 200 || ws.Status != "online" {
		t.Fatalf("wait for online: status %d, workspace %s", st, ws.Status)
	}
	start := time.Now()
	if st := h.Do("GET", "/workspaces/"+a.Workspace.ID+"?wait=stopped&timeout=300ms", nil, &ws); st != 200 || ws.Status != "online" {
		t.Fatalf("wait that times out: status %d, workspace %s", st, ws.Status)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 10*time.Second {
		t.Errorf("a 300ms wait took %s", d)
	}
	var e apiError
	if st := h.Do("GET", "/workspaces/"+a.Workspace.ID+"?wait=asleep", nil, &e); st != 400 || e.Error.Fields[0].Path != "wait" {
		t.Errorf("bad wait: status %d, %+v", st, e.Error)
	}
	if st := h.Do("GET", "/workspaces/"+a.Workspace.ID+"?wait=online&timeout=1h", nil, &e); st != 400 || e.Error.Fields[0].Path != "timeout" {
		t.Errorf("too long a timeout: status %d, %+v", st, e.Error)
	}
}

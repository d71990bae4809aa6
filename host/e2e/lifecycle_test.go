package e2e_test

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/host/hosttest"
)

// TestLifecycleOnFake walks one workspace through every verb on the fake
// backend, checking the status each verb must lead to and, at the end, that
// the backend holds nothing.
func TestLifecycleOnFake(t *testing.T) {
	h, _ := startFake(t, "")
	a := create(t, h, "alpha", map[string]string{"runtime.json": `{"runtime":"echo"}`})
	if a.Workspace.Status != "provisioning" || a.Operation.Verb != "create" {
		t.Fatalf("create answered %+v", a)
	}
	if op := waitOp(t, h, a.Operation.ID, 30*time.Second); op.State != "succeeded" {
		t.Fatalf("create operation: %+v", op)
	}
	ws := waitStatus(t, h, a.Workspace.ID, "online", 30*time.Second)
	if ws.URL == "" || !strings.HasPrefix(ws.URL, "unix:///") || !strings.HasSuffix(ws.URL, "/agent.sock") {
		t.Errorf("online workspace has URL %q", ws.URL)
	}

	act := func(verb, method string) {
		t.Helper()
		var acc accepted
		path := "/workspaces/" + a.Workspace.ID + "/" + verb
		if method == "DELETE" {
			path = "/workspaces/" + a.Workspace.ID
		}
		if st := h.Do(method, path, nil, &acc); st != 202 {
			t.Fatalf("%s: status %d", verb, st)
		}
		if op := waitOp(t, h, acc.Operation.ID, 30*time.Second); op.State != "succeeded" {
			t.Fatalf("%s operation: %+v", verb, op)
		}
	}
	act("stop", "POST")
	waitStatus(t, h, a.Workspace.ID, "stopped", 10*time.Second)
	act("start", "POST")
	waitStatus(t, h, a.Workspace.ID, "online", 30*time.Second)

	// Restart boots with the config the database holds now.
	newCfg := map[string]string{"runtime.json": `{"runtime":"echo"}`, "prompt.md": "be brief"}
	var patched workspace
	if st := h.Do("PATCH", "/workspaces/"+a.Workspace.ID, map[string]any{"config": newCfg}, &patched); st != 200 {
		t.Fatalf("patch: status %d", st)
	}
	if patched.ConfigHash == ws.ConfigHash {
		t.Fatal("patching the config did not change its hash")
	}
	act("restart", "POST")
	online := waitStatus(t, h, a.Workspace.ID, "online", 30*time.Second)
	if !strings.Contains(online.StatusReason, patched.ConfigHash[:12]) {
		t.Errorf("online after restart with reason %q, want the new config hash %s", online.StatusReason, patched.ConfigHash[:12])
	}

	if st := h.Do("GET", "/workspaces/"+a.Workspace.ID+"/boot-log", nil, nil); st != 200 {
		t.Errorf("boot-log: status %d", st)
	}

	act("delete", "DELETE")
	waitStatus(t, h, a.Workspace.ID, "removed", 10*time.Second)
	for _, verb := range []string{"start", "restart"} {
		if st := h.Do("POST", "/workspaces/"+a.Workspace.ID+"/"+verb, nil, nil); st != 409 {
			t.Errorf("%s of a removed workspace: status %d, want 409", verb, st)
		}
	}
	if st := h.Do("PATCH", "/workspaces/"+a.Workspace.ID, map[string]any{"config": map[string]string{}}, nil); st != 409 {
		t.Errorf("patch of a removed workspace: status %d, want 409", st)
	}
	var orphans struct {
		Orphans []map[string]any `json:"orphans"`
	}
	if st := h.Do("GET", "/orphans", nil, &orphans); st != 200 || len(orphans.Orphans) != 0 {
		t.Errorf("orphans after delete: status %d, %v", st, orphans.Orphans)
	}
}

// TestPluginKilledMidOperation SIGKILLs the plugin while it is inside
// Start: the plugin manager restarts it, the call is retried and the
// operation completes.
func TestPluginKilledMidOperation(t *testing.T) {
	h, state := startFake(t, "")
	writeFaults(t, state, `[{"verb":"start","action":"slow","delay":"30s","count":1}]`)
	a := create(t, h, "beta", nil)
	var op operation
	hosttest.Eventually(t, 30*time.Second, func() (bool, string) {
		h.Do("GET", "/operations/"+a.Operation.ID, nil, &op)
		return strings.HasPrefix(op.Step, "starting on backend"), "operation step " + op.Step
	})
	pids := pluginPIDs(t, h.PluginDir)
	if len(pids) != 1 {
		t.Fatalf("want one plugin process, found %v", pids)
	}
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if op := waitOp(t, h, a.Operation.ID, 30*time.Second); op.State != "succeeded" {
		t.Fatalf("operation after plugin kill: %+v", op)
	}
	waitStatus(t, h, a.Workspace.ID, "online", 30*time.Second)
	if now := pluginPIDs(t, h.PluginDir); len(now) != 1 || now[0] == pids[0] {
		t.Errorf("plugin processes after restart: %v (killed %d)", now, pids[0])
	}
}

// TestHostKilledMidOperation SIGKILLs the host while a create is inside the
// backend's Start. The plugin dies with it; a new host on the same data dir
// runs the operation again, and the backend then holds exactly the
// workspaces the store says it does.
func TestHostKilledMidOperation(t *testing.T) {
	h, state := startFake(t, "")
	writeFaults(t, state, `[{"verb":"start","action":"slow","delay":"30s","count":1}]`)
	a := create(t, h, "gamma", nil)
	var op operation
	hosttest.Eventually(t, 30*time.Second, func() (bool, string) {
		h.Do("GET", "/operations/"+a.Operation.ID, nil, &op)
		return strings.HasPrefix(op.Step, "starting on backend"), "operation step " + op.Step
	})
	plugins := pluginPIDs(t, h.PluginDir)
	h.Kill()
	hosttest.Eventually(t, 30*time.Second, func() (bool, string) {
		left := pluginPIDs(t, h.PluginDir)
		return len(left) == 0, "plugin processes still alive after the host was killed"
	})
	if len(plugins) == 0 {
		t.Fatal("no plugin process was running")
	}

	h2, _ := startFake(t, h.DataDir)
	if op := waitOp(t, h2, a.Operation.ID, 120*time.Second); op.State != "succeeded" {
		t.Fatalf("operation after host restart: %+v", op)
	}
	waitStatus(t, h2, a.Workspace.ID, "online", 30*time.Second)
	var orphans struct {
		Orphans []map[string]any `json:"orphans"`
	}
	if st := h2.Do("GET", "/orphans", nil, &orphans); st != 200 || len(orphans.Orphans) != 0 {
		t.Errorf("orphans: status %d, %v", st, orphans.Orphans)
	}
	files, _ := filepath.Glob(filepath.Join(state, "*.json"))
	var held []string
	for _, f := range files {
		if b := filepath.Base(f); b != "faults.json" {
			held = append(held, b)
		}
	}
	if len(held) != 1 || !strings.Contains(held[0], a.Workspace.ID) {
		t.Errorf("fake backend holds %v, want exactly workspace %s", held, a.Workspace.ID)
	}
}

// TestStartFailureFailsWorkspace: a backend that refuses Start fails the
// operation with its kind and message, and the workspace with the reason.
func TestStartFailureFailsWorkspace(t *testing.T) {
	h, state := startFake(t, "")
	writeFaults(t, state, `[{"verb":"start","action":"fail","kind":"invalid","message":"The image is broken.","count":-1}]`)
	a := create(t, h, "broken", nil)
	op := waitOp(t, h, a.Operation.ID, 30*time.Second)
	if op.State != "failed" || op.Error == nil || op.Error.Code != "invalid" || op.Error.Message != "The image is broken." {
		t.Fatalf("operation: %+v (error %+v)", op, op.Error)
	}
	ws := waitStatus(t, h, a.Workspace.ID, "failed", 10*time.Second)
	if ws.StatusReason != "The image is broken." {
		t.Errorf("workspace failed with reason %q", ws.StatusReason)
	}
}

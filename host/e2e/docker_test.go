package e2e_test

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/host/hosttest"
)

// needDocker fails (never skips) when the Docker engine is unreachable, and
// builds the workspace image when it is missing.
func needDocker(t *testing.T) {
	t.Helper()
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Fatalf("these tests need a running Docker engine: docker info: %v\n%s", err, out)
	}
	if exec.Command("docker", "image", "inspect", "molecule-workspace:dev").Run() != nil {
		root, _ := hosttest.ModuleRoot()
		cmd := exec.Command(filepath.Join(root, "scripts", "image.sh"))
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building the workspace image: %v\n%s", err, out)
		}
	}
}

func dockerLines(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %v: %v\n%s", args, err, out)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

func startDocker(t *testing.T, cfg map[string]string) *hosttest.Host {
	t.Helper()
	hosttest.Build(t, "molecule-backend-docker")
	return hosttest.Start(t, hosttest.Options{Plugins: []string{"molecule-backend-docker"},
		BackendConfig: map[string]map[string]string{"docker": cfg}})
}

// removeDockerResourcesAtCleanup removes workspace id's containers and
// volumes when the test ends, so a failing test leaks nothing.
func removeDockerResourcesAtCleanup(t *testing.T, id string) {
	t.Cleanup(func() {
		for _, c := range dockerLines(t, "ps", "-aq", "--filter", "label=molecule.workspace-id="+id) {
			_ = exec.Command("docker", "rm", "-f", c).Run()
		}
		for _, v := range dockerLines(t, "volume", "ls", "-q", "--filter", "label=molecule.workspace-id="+id) {
			_ = exec.Command("docker", "volume", "rm", "-f", v).Run()
		}
	})
}

// a2aEcho sends message/send to url (an agent's own URL, or the host's
// proxy with the admin token) and returns the raw answer.
func a2aBody(text string) map[string]any {
	return map[string]any{"jsonrpc": "2.0", "id": 1, "method": "message/send",
		"params": map[string]any{"message": map[string]any{"role": "user", "messageId": "m1",
			"parts": []map[string]any{{"kind": "text", "text": text}}}}}
}

// TestDockerWorkspace drives a real container through the API: online
// with the config hash matched, an A2A answer, stop, restart with a new
// config, liveness after the container is killed, and delete leaving no
// container and no volume.
func TestDockerWorkspace(t *testing.T) {
	needDocker(t)
	h := startDocker(t, nil)
	var a accepted
	if st := h.Do("POST", "/workspaces", map[string]any{"name": "dock", "backend": "docker",
		"config": map[string]string{"runtime.json": `{"runtime":"echo"}`}}, &a); st != 202 {
		t.Fatalf("create: %d", st)
	}
	id := a.Workspace.ID
	removeDockerResourcesAtCleanup(t, id)
	ws := waitStatus(t, h, id, "online", 90*time.Second)
	if !strings.Contains(ws.StatusReason, ws.ConfigHash[:12]) {
		t.Errorf("online with reason %q, want the config hash %s", ws.StatusReason, ws.ConfigHash[:12])
	}

	// The agent serves A2A on its socket in the workspace's agent
	// directory, reachable only through the host's proxy.
	if ws.URL != "unix:///run/molecule/agent.sock" {
		t.Errorf("agent registered %q, want its socket unix:///run/molecule/agent.sock", ws.URL)
	}
	var proxied map[string]any
	if st := h.Do("POST", "/workspaces/"+id+"/a2a", a2aBody("again"), &proxied); st != 200 || !strings.Contains(mustJSON(proxied), "again") {
		t.Errorf("proxied A2A: status %d, %s", st, mustJSON(proxied))
	}

	// Start of a running workspace leaves its container alone (same
	// container, not restarted); its agent goes on with the new token the
	// start minted, read from its token file, and comes online again.
	running := dockerLines(t, "ps", "-q", "--no-trunc", "--filter", "label=molecule.workspace-id="+id)
	startedAt := dockerLines(t, "inspect", "--format", "{{.State.StartedAt}}", strings.Join(running, " "))
	act(t, h, id, "start")
	waitStatus(t, h, id, "online", 60*time.Second)
	if now := dockerLines(t, "ps", "-q", "--no-trunc", "--filter", "label=molecule.workspace-id="+id); len(running) != 1 || !slices.Equal(now, running) {
		t.Errorf("start of a running workspace: containers %v, want the same %v", now, running)
	} else if again := dockerLines(t, "inspect", "--format", "{{.State.StartedAt}}", running[0]); !slices.Equal(again, startedAt) {
		t.Errorf("start of a running workspace restarted its container (started %v, before %v)", again, startedAt)
	}
	proxied = nil
	if st := h.Do("POST", "/workspaces/"+id+"/a2a", a2aBody("renewed"), &proxied); st != 200 || !strings.Contains(mustJSON(proxied), "renewed") {
		t.Errorf("proxied A2A after a start of the running workspace: status %d, %s", st, mustJSON(proxied))
	}

	// Stop: the backend reports it not running and the status follows.
	act(t, h, id, "stop")
	waitStatus(t, h, id, "stopped", 30*time.Second)
	if running := dockerLines(t, "ps", "-q", "--filter", "label=molecule.workspace-id="+id); len(running) != 0 {
		t.Errorf("stopped workspace still has running containers %v", running)
	}

	// Restart after a config change in the database boots with the new config.
	var patched workspace
	h.Do("PATCH", "/workspaces/"+id, map[string]any{"config": map[string]string{
		"runtime.json": `{"runtime":"echo"}`, "prompt.md": "new"}}, &patched)
	act(t, h, id, "restart")
	ws = waitStatus(t, h, id, "online", 90*time.Second)
	if !strings.Contains(ws.StatusReason, patched.ConfigHash[:12]) {
		t.Errorf("after restart: reason %q, want the new hash %s", ws.StatusReason, patched.ConfigHash[:12])
	}
	logs := bootLog(t, h, id)
	if !strings.Contains(logs, patched.ConfigHash[:12]) && !strings.Contains(logs, "config") {
		t.Errorf("boot log does not mention the config: %q", logs)
	}

	// Killing the container makes the workspace offline within the liveness TTL.
	for _, c := range dockerLines(t, "ps", "-q", "--filter", "label=molecule.workspace-id="+id) {
		_ = exec.Command("docker", "kill", c).Run()
	}
	waitStatus(t, h, id, "offline", 10*time.Second)

	// Delete leaves no container and no volume with the workspace's label.
	act(t, h, id, "delete")
	waitStatus(t, h, id, "removed", 30*time.Second)
	if left := dockerLines(t, "ps", "-aq", "--filter", "label=molecule.workspace-id="+id); len(left) != 0 {
		t.Errorf("containers left after delete: %v", left)
	}
	if left := dockerLines(t, "volume", "ls", "-q", "--filter", "label=molecule.workspace-id="+id); len(left) != 0 {
		t.Errorf("volumes left after delete: %v", left)
	}
}

// TestDockerUnreachable: a daemon that cannot be reached is a clear 503
// at once, not a hang, and nothing is created.
func TestDockerUnreachable(t *testing.T) {
	h := startDocker(t, map[string]string{"host": "unix:///nonexistent/docker.sock", "call_timeout": "2s"})
	start := time.Now()
	var e apiError
	st := h.Do("POST", "/workspaces", map[string]any{"name": "nodock", "backend": "docker"}, &e)
	if st != 503 || e.Error.Code != "transient" || !strings.Contains(strings.ToLower(e.Error.Message), "docker") {
		t.Fatalf("status %d, %+v", st, e.Error)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("took %s to answer", d)
	}
	var list struct {
		Workspaces []workspace `json:"workspaces"`
	}
	h.Do("GET", "/workspaces", nil, &list)
	if len(list.Workspaces) != 0 {
		t.Errorf("a workspace was created: %+v", list.Workspaces)
	}
}

func act(t *testing.T, h *hosttest.Host, id, verb string) {
	t.Helper()
	var acc accepted
	method, path := "POST", "/workspaces/"+id+"/"+verb
	if verb == "delete" {
		method, path = "DELETE", "/workspaces/"+id
	}
	if st := h.Do(method, path, nil, &acc); st != 202 {
		t.Fatalf("%s: status %d", verb, st)
	}
	if op := waitOp(t, h, acc.Operation.ID, 90*time.Second); op.State != "succeeded" {
		t.Fatalf("%s operation: %+v", verb, op)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

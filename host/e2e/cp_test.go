package e2e_test

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/host/hosttest"
)

// cpLocal is a molecule-cp-local process started by a test.
type cpLocal struct {
	url, secret, admin, dir string
	cmd                     *exec.Cmd
}

// startCPLocal runs molecule-cp-local on dir (a new temp dir when empty)
// with --kill-instances-on-exit unless extra holds "--keep-instances", which
// is stripped (instances then outlive it, as EC2 instances outlive a
// control-plane restart).
func startCPLocal(t *testing.T, dir string, extra ...string) *cpLocal {
	t.Helper()
	hosttest.BuildCmd(t, "molecule-agent")
	bin := hosttest.BuildCmd(t, "molecule-cp-local")
	if dir == "" {
		dir = cpDataDir(t)
	}
	c := &cpLocal{secret: "cp-secret", admin: "cp-admin", dir: dir}
	ready := filepath.Join(dir, "ready.json")
	_ = os.Remove(ready)
	// Every agent serves on the same port: concurrent test runs need
	// address pools of their own.
	args := []string{"--data-dir", dir, "--ready-file", ready, "--address-pool", cpPool(dir)}
	keep := false
	for _, e := range extra {
		if e == "--keep-instances" {
			keep = true
			continue
		}
		args = append(args, e)
	}
	if !keep {
		args = append(args, "--kill-instances-on-exit")
	}
	c.cmd = exec.Command(bin, args...)
	c.cmd.Env = append(os.Environ(), "MOLECULE_CP_SHARED_SECRET="+c.secret, "MOLECULE_CP_ADMIN_TOKEN="+c.admin)
	c.cmd.Stdout, c.cmd.Stderr = os.Stderr, os.Stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.stop)
	hosttest.Eventually(t, 30*time.Second, func() (bool, string) {
		b, err := os.ReadFile(ready)
		var r struct{ URL string }
		if err == nil && json.Unmarshal(b, &r) == nil && r.URL != "" {
			c.url = r.URL
			return true, ""
		}
		return false, "molecule-cp-local did not write its ready file"
	})
	return c
}

// cpPool is the address pool of the control plane on dir: one /24 of
// 127.0.0.0/8 per data dir, the same across restarts.
func cpPool(dir string) string {
	h := sha256.Sum256([]byte(dir))
	return fmt.Sprintf("127.%d.%d.0/24", 16+h[0]%224, h[1])
}

// cpDataDir is a new data dir for molecule-cp-local that its instances'
// user can reach (run as root, instances run as uids of their own, and a test's
// TempDir sits in a directory only its owner may search).
func cpDataDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "cp-data-")
	if err == nil {
		err = os.Chmod(dir, 0o711)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func (c *cpLocal) stop() {
	if c.cmd.ProcessState == nil {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		_ = c.cmd.Wait()
	}
}

// instances lists what the control plane holds, through its own API (not
// the host's), retrying the 5xx answers a fault knob may inject.
func (c *cpLocal) instances(t *testing.T) []map[string]any {
	t.Helper()
	var raw []byte
	hosttest.Eventually(t, 20*time.Second, func() (bool, string) {
		req, _ := http.NewRequest("GET", c.url+"/cp/workspaces?org_id=local", nil)
		req.Header.Set("Authorization", "Bearer "+c.secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		raw, _ = io.ReadAll(resp.Body)
		return resp.StatusCode == 200, "listing instances: " + resp.Status
	})
	var out struct {
		Workspaces []map[string]any `json:"workspaces"`
		Instances  []map[string]any `json:"instances"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("listing instances: %q: %v", raw, err)
	}
	var live []map[string]any
	for _, in := range append(out.Workspaces, out.Instances...) {
		if in["state"] != "terminated" {
			live = append(live, in)
		}
	}
	return live
}

func startCPHost(t *testing.T, cp *cpLocal, env ...string) *hosttest.Host {
	t.Helper()
	hosttest.Build(t, "molecule-backend-cp")
	e := map[string]string{}
	for i := 0; i+1 < len(env); i += 2 {
		e[env[i]] = env[i+1]
	}
	return hosttest.Start(t, hosttest.Options{Plugins: []string{"molecule-backend-cp"}, Env: e,
		BackendConfig: map[string]map[string]string{"cp": {"url": cp.url, "shared_secret": cp.secret, "admin_token": cp.admin}}})
}

// TestCPWorkspace drives the control-plane path through the API: online only
// once the agent reports the database's config hash, stop/start keep the
// instance, restart boots the new config, delete leaves no instance, the
// boot log comes from the same endpoint as Docker's.
func TestCPWorkspace(t *testing.T) {
	cp := startCPLocal(t, "")
	h := startCPHost(t, cp)
	var a accepted
	if st := h.Do("POST", "/workspaces", map[string]any{"name": "ec2", "backend": "cp",
		"config": map[string]string{"runtime.json": `{"runtime":"echo"}`}}, &a); st != 202 {
		t.Fatalf("create: %d", st)
	}
	id := a.Workspace.ID
	ws := waitStatus(t, h, id, "online", 60*time.Second)
	if !strings.Contains(ws.StatusReason, ws.ConfigHash[:12]) {
		t.Errorf("online with reason %q, want hash %s", ws.StatusReason, ws.ConfigHash[:12])
	}
	first := cp.instances(t)
	if len(first) != 1 {
		t.Fatalf("control plane holds %d instances, want 1: %v", len(first), first)
	}
	instanceID := first[0]["instance_id"]
	// The agent registered exactly the endpoint the backend placed it at.
	ip, port := first[0]["private_ip"], first[0]["agent_port"]
	if want := fmt.Sprintf("http://%v:%v", ip, port); ws.URL != want || port == nil {
		t.Errorf("the workspace's URL is %q, want the instance's agent endpoint %s", ws.URL, want)
	}

	act(t, h, id, "stop")
	waitStatus(t, h, id, "stopped", 30*time.Second)
	act(t, h, id, "start")
	waitStatus(t, h, id, "online", 60*time.Second)
	if now := cp.instances(t); len(now) != 1 || now[0]["instance_id"] != instanceID {
		t.Errorf("stop/start changed the instance: before %v, now %v", instanceID, now)
	}

	var patched workspace
	h.Do("PATCH", "/workspaces/"+id, map[string]any{"config": map[string]string{"runtime.json": `{"runtime":"echo"}`, "prompt.md": "v2"}}, &patched)
	act(t, h, id, "restart")
	ws = waitStatus(t, h, id, "online", 60*time.Second)
	if !strings.Contains(ws.StatusReason, patched.ConfigHash[:12]) {
		t.Errorf("after restart: reason %q, want new hash %s", ws.StatusReason, patched.ConfigHash[:12])
	}
	if logs := bootLog(t, h, id); !strings.Contains(logs, "config") {
		t.Errorf("boot log (console) lacks the boot steps: %q", logs)
	}

	act(t, h, id, "delete")
	waitStatus(t, h, id, "removed", 30*time.Second)
	if left := cp.instances(t); len(left) != 0 {
		t.Errorf("instances left after delete: %v", left)
	}
}

// TestCPFaultyControlPlane: with 5xx answers and latency injected, a
// create still ends online with exactly one instance.
func TestCPFaultyControlPlane(t *testing.T) {
	cp := startCPLocal(t, "", "--error-rate", "0.3", "--latency", "50ms")
	h := startCPHost(t, cp)
	var a accepted
	if st := h.Do("POST", "/workspaces", map[string]any{"name": "flaky", "backend": "cp"}, &a); st != 202 {
		t.Fatalf("create: %d", st)
	}
	waitStatus(t, h, a.Workspace.ID, "online", 90*time.Second)
	if got := cp.instances(t); len(got) != 1 {
		t.Fatalf("control plane holds %d instances, want exactly 1: %v", len(got), got)
	}
	act(t, h, a.Workspace.ID, "delete")
}

// TestCPUnreachable: a control plane that cannot be reached is a clear
// 503, and nothing is created.
func TestCPUnreachable(t *testing.T) {
	cp := &cpLocal{url: "http://127.0.0.1:1", secret: "s", admin: "a"}
	h := startCPHost(t, cp)
	var e apiError
	st := h.Do("POST", "/workspaces", map[string]any{"name": "nocp", "backend": "cp"}, &e)
	if st != 503 || e.Error.Code != "transient" {
		t.Fatalf("status %d, %+v", st, e.Error)
	}
}

// TestCPBootFailureFailsAtOnce: an instance whose boot fails never
// registers; as soon as the control plane reports it stopped, the
// workspace fails with the console's reason, long before the provision
// deadline (5 minutes here), and the console shows why.
func TestCPBootFailureFailsAtOnce(t *testing.T) {
	cp := startCPLocal(t, "", "--fail-boot", "doomed")
	h := startCPHost(t, cp, "MOLECULE_PROVISION_TIMEOUT", "5m", "MOLECULE_RUNTIME_IMAGES", "default=molecule-workspace:dev,doomed=molecule-workspace:dev")
	var a accepted
	if st := h.Do("POST", "/workspaces", map[string]any{"name": "doomed", "backend": "cp", "runtime": "doomed"}, &a); st != 202 {
		t.Fatalf("create: %d", st)
	}
	ws := waitStatus(t, h, a.Workspace.ID, "failed", 30*time.Second)
	if !strings.Contains(ws.StatusReason, "boot failed") || strings.Contains(ws.StatusReason, "deadline") {
		t.Errorf("failed with reason %q, want the console's boot failure, not the provision deadline", ws.StatusReason)
	}
	if logs := bootLog(t, h, a.Workspace.ID); !strings.Contains(logs, "boot failed") {
		t.Errorf("console does not say the boot failed: %q", logs)
	}
	act(t, h, a.Workspace.ID, "delete")
}

// TestCPLocalRestartLosesNothing restarts molecule-cp-local (same data
// dir, same address) under a running host: the instance keeps running,
// and the host can still stop and start it, on the same instance.
func TestCPLocalRestartLosesNothing(t *testing.T) {
	dir := cpDataDir(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cp := startCPLocal(t, dir, "--keep-instances", "--listen", addr)
	h := startCPHost(t, cp)
	var a accepted
	if st := h.Do("POST", "/workspaces", map[string]any{"name": "durable", "backend": "cp"}, &a); st != 202 {
		t.Fatalf("create: %d", st)
	}
	id := a.Workspace.ID
	waitStatus(t, h, id, "online", 60*time.Second)
	before := cp.instances(t)

	cp.stop()
	cp2 := startCPLocal(t, dir, "--listen", addr) // kills instances when the test ends
	after := cp2.instances(t)
	if len(before) != 1 || len(after) != 1 || after[0]["instance_id"] != before[0]["instance_id"] || after[0]["state"] != "running" {
		t.Fatalf("instances before the restart %v, after %v", before, after)
	}
	if ws := waitStatus(t, h, id, "online", 10*time.Second); ws.Status != "online" {
		t.Fatalf("workspace %s after the control plane restarted", ws.Status)
	}
	act(t, h, id, "stop")
	act(t, h, id, "start")
	waitStatus(t, h, id, "online", 60*time.Second)
	if now := cp2.instances(t); len(now) != 1 || now[0]["instance_id"] != before[0]["instance_id"] {
		t.Errorf("instances after stop/start: %v", now)
	}
	act(t, h, id, "delete")
}

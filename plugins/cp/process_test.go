package cp_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/molecule-ai/molecule-host/plugins/cp/cplocal"
	"github.com/molecule-ai/molecule-host/sdk"
	"github.com/molecule-ai/molecule-host/sdk/pluginrpc"
)

// startCPBinary runs molecule-cp-local on dataDir and returns its URL and
// process.
func startCPBinary(tb testing.TB, dataDir string) (string, *exec.Cmd) {
	tb.Helper()
	ready := filepath.Join(tb.TempDir(), "ready.json")
	cmd := exec.Command(filepath.Join(binDir, "molecule-cp-local"), "--data-dir", dataDir, "--ready-file", ready, "--stop-grace", "3s",
		"--address-pool", poolFor(dataDir).String())
	cmd.Env = append(os.Environ(), "MOLECULE_CP_SHARED_SECRET="+secret, "MOLECULE_CP_ADMIN_TOKEN="+adminToken)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start molecule-cp-local: %v", err)
	}
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var r struct{ URL string }
	waitFor(tb, 20*time.Second, "the ready file", func() bool {
		raw, err := os.ReadFile(ready)
		return err == nil && json.Unmarshal(raw, &r) == nil && r.URL != ""
	})
	return r.URL, cmd
}

// TestCPBinaryRestartKeepsInstances restarts molecule-cp-local as a real
// process: its instances run in their own sessions and are re-adopted.
func TestCPBinaryRestartKeepsInstances(t *testing.T) {
	dataDir, host := mustDataDir(t), mustFakeHost(t)
	url, cmd := startCPBinary(t, dataDir)
	b, ctx := mustBackend(t, url, nil), context.Background()
	r, err := b.Start(ctx, startRequest(host, "ws-bin", filesA))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	id := stateOf(t, r.State).InstanceID
	t.Cleanup(func() { // never leak the instance, whatever failed
		for _, pid := range agentPIDs(t, id) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	waitFor(t, 20*time.Second, "agent running", func() bool { return len(agentPIDs(t, id)) == 1 })
	pid := agentPIDs(t, id)[0]
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("molecule-cp-local exit: %v", err)
	}
	if pids := agentPIDs(t, id); len(pids) != 1 || pids[0] != pid {
		t.Fatalf("after the CP exited, agent pids = %v, want %d still running", pids, pid)
	}
	url2, _ := startCPBinary(t, dataDir)
	b2 := mustBackend(t, url2, nil)
	if st := mustStatus(t, b2, "ws-bin"); st.State != sdk.RunStateRunning || st.Address != r.Address {
		t.Fatalf("status after CP restart = %+v, want running at %s", st, r.Address)
	}
	if _, err := b2.Destroy(ctx, &sdk.DestroyRequest{WorkspaceID: "ws-bin"}); err != nil {
		t.Fatalf("destroy: %v", err)
	}
	if pids := agentPIDs(t, id); len(pids) != 0 {
		t.Fatalf("agent pids after destroy = %v", pids)
	}
}

// TestPluginProcess drives molecule-backend-cp as a real go-plugin process.
func TestPluginProcess(t *testing.T) {
	env, host := mustCP(t, "", cplocal.Faults{}), mustFakeHost(t)
	pc := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  pluginrpc.Handshake,
		VersionedPlugins: pluginrpc.VersionedPlugins(),
		Cmd:              exec.Command(filepath.Join(binDir, "molecule-backend-cp")),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
	})
	t.Cleanup(pc.Kill)
	b, err := pluginrpc.Dispense(pc)
	if err != nil {
		t.Fatalf("dispense: %v", err)
	}
	ctx := context.Background()
	m, err := b.Manifest(ctx)
	if err != nil || m.Name != "cp" || !sdk.HasCapability(m.Capabilities, sdk.CapLogs) || sdk.HasCapability(m.Capabilities, sdk.CapFiles) {
		t.Fatalf("manifest = %+v, %v; want cp with logs and without files", m, err)
	}
	if _, err := b.Start(ctx, &sdk.StartRequest{WorkspaceID: "w"}); !sdk.IsKind(err, sdk.KindConflict) {
		t.Fatalf("start before configure: %v, want KindConflict", err)
	}
	if _, err := b.Configure(ctx, &sdk.ConfigureRequest{Config: map[string]string{"url": env.ts.URL, "shared_secret": secret, "admin_token": adminToken}}); err != nil {
		t.Fatalf("configure: %v", err)
	}
	r, err := b.Start(ctx, startRequest(host, "ws-plugin", filesA))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	if st := stateOf(t, r.State); st.InstanceID == "" {
		t.Fatalf("no instance id in the state: %+v", r.State)
	}
	if st := mustStatus(t, b, "ws-plugin"); st.State != sdk.RunStateRunning {
		t.Fatalf("status = %+v, want running", st)
	}
	if _, err := b.Destroy(ctx, &sdk.DestroyRequest{WorkspaceID: "ws-plugin"}); err != nil {
		t.Fatalf("destroy: %v", err)
	}
	if st := mustStatus(t, b, "ws-plugin"); st.State != sdk.RunStateMissing {
		t.Fatalf("status after destroy = %+v, want missing", st)
	}
}

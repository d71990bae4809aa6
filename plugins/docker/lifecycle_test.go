package docker_test

import (
	"context"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/internal/plugintest"
	"github.com/molecule-ai/molecule-host/sdk"
)

func TestStartDeliversConfigBeforeStart(t *testing.T) {
	b := mustBackend(t, nil)
	id := newWorkspaceID(t)
	reg := mustRegistry(t, "agent-token")
	files := map[string][]byte{"runtime.json": []byte(`{"runtime":"echo"}`), "skills/a/SKILL.md": []byte("# a\n")}
	req := startRequest(id, reg.URL, files)
	req.Tier = 1
	resp := mustStart(t, b, req)
	if resp.Address != "127.0.0.1" {
		t.Fatalf("Address = %q, want 127.0.0.1 on host networking", resp.Address)
	}
	ev := reg.waitEvent(t, agentapi.PhaseConfigApplied)
	if ev.WorkspaceID != id || ev.ConfigHash != agentapi.ConfigHash(files) {
		t.Fatalf("config_applied = %+v, want workspace %s hash %s", ev, id, agentapi.ConfigHash(files))
	}
	rr := reg.waitRegister(t)
	if rr.WorkspaceID != id || !strings.HasPrefix(rr.URL, "http://127.0.0.1:") {
		t.Fatalf("register = %+v, want %s at http://127.0.0.1:<port>", rr, id)
	}
	out := post(t, rr.URL, `{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{"role":"user","parts":[{"kind":"text","text":"from the test"}]}}}`)
	if !strings.Contains(out, "from the test") {
		t.Fatalf("message/send to the container's agent = %s", out)
	}
	ins, err := mustDocker(t).ContainerInspect(context.Background(), containerOf(t, resp), client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hc := ins.Container.HostConfig
	if !hc.ReadonlyRootfs || hc.Memory != 256<<20 || hc.NanoCPUs != 5e8 || hc.Privileged || string(hc.NetworkMode) != "host" || !hc.RestartPolicy.IsNone() {
		t.Fatalf("tier 1 host config = readonly %v mem %d cpu %d priv %v net %s restart %v", hc.ReadonlyRootfs, hc.Memory, hc.NanoCPUs, hc.Privileged, hc.NetworkMode, hc.RestartPolicy)
	}
	if l := ins.Container.Config.Labels; l["molecule.managed"] != "true" || l["molecule.workspace-id"] != id || l["molecule.org-id"] != "org-test" || len(l["molecule.spec"]) != 64 {
		t.Fatalf("labels = %v", l)
	}
}

func post(tb testing.TB, url, body string) string {
	tb.Helper()
	return plugintest.PostJSON(tb, url+"/", body)
}

func TestStartIdempotentAndRecreatesOnChange(t *testing.T) {
	b := mustBackend(t, nil)
	id := newWorkspaceID(t)
	reg := mustRegistry(t, "agent-token")
	req := startRequest(id, reg.URL, map[string][]byte{"old.txt": []byte("old")})
	first := containerOf(t, mustStart(t, b, req))
	second := containerOf(t, mustStart(t, b, req))
	if first != second {
		t.Fatalf("second Start made container %s, want the same %s", second, first)
	}
	if c, v := counts(t, id); c != 1 || v != 2 {
		t.Fatalf("after two Starts: %d containers, %d volumes; want 1, 2", c, v)
	}
	reg.waitEvent(t, agentapi.PhaseReady)

	newFiles := map[string][]byte{"new.txt": []byte("new")}
	changed := startRequest(id, reg.URL, newFiles)
	third := containerOf(t, mustStart(t, b, changed))
	if third == first {
		t.Fatal("Start with new config kept the old container")
	}
	if c, _ := counts(t, id); c != 1 {
		t.Fatalf("after re-create: %d containers, want 1", c)
	}
	// The old file must be gone: the agent hashes exactly the new config.
	if ev := reg.waitEvent(t, agentapi.PhaseConfigApplied); ev.ConfigHash != agentapi.ConfigHash(newFiles) {
		t.Fatalf("config hash after re-create = %s, want %s (stale config left in the volume?)", ev.ConfigHash, agentapi.ConfigHash(newFiles))
	}
}

func TestStopIdempotent(t *testing.T) {
	b := mustBackend(t, nil)
	id := newWorkspaceID(t)
	resp := mustStart(t, b, startRequest(id, "", nil))
	for i := range 2 {
		if _, err := b.Stop(context.Background(), &sdk.StopRequest{WorkspaceID: id, State: resp.State}); err != nil {
			t.Fatalf("Stop #%d: %v", i+1, err)
		}
	}
	ins, err := mustDocker(t).ContainerInspect(context.Background(), containerOf(t, resp), client.ContainerInspectOptions{})
	if err != nil || ins.Container.State.Status != container.StateExited {
		t.Fatalf("after Stop: state %v, err %v; want exited", ins.Container.State, err)
	}
	if _, err := b.Stop(context.Background(), &sdk.StopRequest{WorkspaceID: "t-never-existed"}); err != nil {
		t.Fatalf("Stop of a missing workspace = %v, want success", err)
	}
	// Start after Stop starts the same container again.
	again := mustStart(t, b, startRequest(id, "", nil))
	if containerOf(t, again) != containerOf(t, resp) {
		t.Fatal("Start after Stop created a new container")
	}
}

func TestDestroy(t *testing.T) {
	b := mustBackend(t, nil)
	id := newWorkspaceID(t)
	mustStart(t, b, startRequest(id, "", map[string][]byte{"a": []byte("a")}))
	if _, err := b.Destroy(context.Background(), &sdk.DestroyRequest{WorkspaceID: id}); err != nil {
		t.Fatal(err)
	}
	if c, v := counts(t, id); c != 0 || v != 2 {
		t.Fatalf("Destroy without RemoveVolumes left %d containers, %d volumes; want 0, 2", c, v)
	}
	for i := range 2 {
		if _, err := b.Destroy(context.Background(), &sdk.DestroyRequest{WorkspaceID: id, RemoveVolumes: true}); err != nil {
			t.Fatalf("Destroy #%d: %v", i+1, err)
		}
	}
	if c, v := counts(t, id); c != 0 || v != 0 {
		t.Fatalf("Destroy left %d containers, %d volumes; want none", c, v)
	}
}

func TestListManaged(t *testing.T) {
	b := mustBackend(t, nil)
	id := newWorkspaceID(t)
	mustStart(t, b, startRequest(id, "", nil))
	resp, err := b.ListManaged(context.Background(), &sdk.ListManagedRequest{OrgID: "org-test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range resp.Workspaces {
		if w.WorkspaceID != id {
			continue
		}
		want := "container molecule-ws-" + id + ",volume molecule-ws-" + id + "-config,volume molecule-ws-" + id + "-data"
		if got := strings.Join(w.Resources, ","); got != want || w.State != sdk.RunStateRunning {
			t.Fatalf("ListManaged %s = %s %q, want running %q", id, w.State, got, want)
		}
		return
	}
	t.Fatalf("ListManaged lacks %s: %+v", id, resp.Workspaces)
}

func TestLogs(t *testing.T) {
	b := mustBackend(t, nil)
	id := newWorkspaceID(t)
	reg := mustRegistry(t, "agent-token")
	mustStart(t, b, startRequest(id, reg.URL, nil))
	reg.waitEvent(t, agentapi.PhaseReady)
	var got strings.Builder
	err := b.Logs(context.Background(), &sdk.LogsRequest{WorkspaceID: id}, func(c *sdk.LogChunk) error {
		if c.Stream != "stdout" && c.Stream != "stderr" {
			t.Errorf("chunk stream %q", c.Stream)
		}
		got.Write(c.Data)
		return nil
	})
	if err != nil || !strings.Contains(got.String(), "listening on") || !strings.Contains(got.String(), "config applied") {
		t.Fatalf("Logs = %v:\n%s", err, got.String())
	}
	// Follow: the stream stays open until the caller cancels.
	ctx, cancel := context.WithCancel(context.Background())
	err = b.Logs(ctx, &sdk.LogsRequest{WorkspaceID: id, Follow: true, TailLines: 1}, func(c *sdk.LogChunk) error {
		cancel() // got a line: stop following
		return nil
	})
	if err != nil || ctx.Err() == nil {
		t.Fatalf("Logs follow = %v (ctx %v), want nil after cancel", err, ctx.Err())
	}
	if err := b.Logs(context.Background(), &sdk.LogsRequest{WorkspaceID: "t-none"}, func(*sdk.LogChunk) error { return nil }); !sdk.IsKind(err, sdk.KindNotFound) {
		t.Fatalf("Logs of a missing workspace = %v, want not_found", err)
	}
}

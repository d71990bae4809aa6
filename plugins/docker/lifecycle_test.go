package docker_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/plugins/docker"
	"github.com/molecule-ai/molecule-host/sdk"
)

func TestStartDeliversConfigBeforeStart(t *testing.T) {
	b := mustBackend(t, nil)
	id := newWorkspaceID(t)
	reg := mustRegistry(t, "agent-token")
	files := map[string][]byte{"runtime.json": []byte(`{"runtime":"echo"}`), "skills/a/SKILL.md": []byte("# a\n")}
	req := startRequest(id, reg.dir, files)
	req.Tier = 1
	resp := mustStart(t, b, req)
	if want := "unix:" + reg.dir + "/" + agentapi.AgentSocket; resp.Endpoint != want || resp.Address != "" {
		t.Fatalf("Endpoint, Address = %q, %q; want %q and no address", resp.Endpoint, resp.Address, want)
	}
	ev := reg.waitEvent(t, agentapi.PhaseConfigApplied)
	if ev.WorkspaceID != id || ev.ConfigHash != agentapi.ConfigHash(files) {
		t.Fatalf("config_applied = %+v, want workspace %s hash %s", ev, id, agentapi.ConfigHash(files))
	}
	rr := reg.waitRegister(t)
	if want := "unix://" + agentapi.AgentDirInWorkspace + "/" + agentapi.AgentSocket; rr.WorkspaceID != id || rr.URL != want {
		t.Fatalf("register = %+v, want %s at %s", rr, id, want)
	}
	out := postAgent(t, resp.Endpoint, "agent-token", `{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{"role":"user","parts":[{"kind":"text","text":"from the test"}]}}}`)
	if !strings.Contains(out, "from the test") {
		t.Fatalf("message/send to the container's agent = %s", out)
	}
	ins, err := mustDocker(t).ContainerInspect(context.Background(), containerOf(t, resp), client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hc := ins.Container.HostConfig
	if !hc.ReadonlyRootfs || hc.Memory != 256<<20 || hc.NanoCPUs != 5e8 || hc.Privileged || string(hc.NetworkMode) != "none" || !hc.RestartPolicy.IsNone() {
		t.Fatalf("tier 1 host config = readonly %v mem %d cpu %d priv %v net %s restart %v", hc.ReadonlyRootfs, hc.Memory, hc.NanoCPUs, hc.Privileged, hc.NetworkMode, hc.RestartPolicy)
	}
	if l := ins.Container.Config.Labels; l["molecule.managed"] != "true" || l["molecule.workspace-id"] != id || l["molecule.org-id"] != "org-test" || len(l["molecule.spec"]) != 64 {
		t.Fatalf("labels = %v", l)
	}
}

// postAgent posts an A2A body to the agent at endpoint ("unix:" + socket
// path) with the credential derived from token, and returns the answer.
func postAgent(tb testing.TB, endpoint, token, body string) string {
	tb.Helper()
	sock, ok := strings.CutPrefix(endpoint, agentapi.UnixAddrPrefix)
	if !ok {
		tb.Fatalf("endpoint %q is not a unix socket", endpoint)
	}
	req, err := http.NewRequest(http.MethodPost, "http://agent/", strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+agentapi.A2ACredential(agentapi.TokenDigest(token)))
	resp, err := unixClient(sock).Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return string(out)
}

func TestStartIdempotentAndRecreatesOnChange(t *testing.T) {
	b := mustBackend(t, nil)
	id := newWorkspaceID(t)
	reg := mustRegistry(t, "agent-token")
	req := startRequest(id, reg.dir, map[string][]byte{"old.txt": []byte("old")})
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
	changed := startRequest(id, reg.dir, newFiles)
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
	dir := mustAgentDir(t)
	resp := mustStart(t, b, startRequest(id, dir, nil))
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
	again := mustStart(t, b, startRequest(id, dir, nil))
	if containerOf(t, again) != containerOf(t, resp) {
		t.Fatal("Start after Stop created a new container")
	}
}

func TestDestroy(t *testing.T) {
	b := mustBackend(t, nil)
	id := newWorkspaceID(t)
	mustStart(t, b, startRequest(id, mustAgentDir(t), map[string][]byte{"a": []byte("a")}))
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
	mustStart(t, b, startRequest(id, mustAgentDir(t), nil))
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
	mustStart(t, b, startRequest(id, reg.dir, nil))
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

// TestStartRecreatesOldRecipeContainer: a container the previous version
// created (its spec label hashed without the hardening, running as root)
// is not started again as it is: Start replaces it with a hardened one.
func TestStartRecreatesOldRecipeContainer(t *testing.T) {
	cli := mustDocker(t)
	b := mustBackend(t, nil)
	id := newWorkspaceID(t)
	req := startRequest(id, mustAgentDir(t), nil)
	raw, err := json.Marshal(struct {
		Request *sdk.StartRequest
		Network string
	}{req, "host"}) // the previous version's spec of this request, on its default network
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	old, err := cli.ContainerCreate(context.Background(), client.ContainerCreateOptions{
		Name: "molecule-ws-" + id,
		Config: &container.Config{Image: testImage, User: "0:0", Labels: map[string]string{
			docker.LabelManaged: "true", docker.LabelWorkspaceID: id, docker.LabelOrgID: "org-test", docker.LabelSpec: hex.EncodeToString(sum[:]),
		}},
		HostConfig: &container.HostConfig{NetworkMode: "none"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := containerOf(t, mustStart(t, b, req))
	if got == old.ID {
		t.Fatal("Start kept the container of the previous version")
	}
	ins, err := cli.ContainerInspect(context.Background(), got, client.ContainerInspectOptions{})
	if err != nil || ins.Container.Config.User != "65532:65532" || !ins.Container.HostConfig.ReadonlyRootfs {
		t.Fatalf("new container: user %q readonly %v (%v); want 65532:65532, read-only", ins.Container.Config.User, ins.Container.HostConfig.ReadonlyRootfs, err)
	}
	if c, _ := counts(t, id); c != 1 {
		t.Fatalf("%d containers after Start, want 1", c)
	}
}

package docker_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/plugins/docker"
	"github.com/molecule-ai/molecule-host/sdk"
)

// testImage is built by scripts/image.sh in TestMain.
const testImage = "molecule-workspace:dev"

func TestMain(m *testing.M) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	tmp, _ := os.MkdirTemp("", "dockertest")
	cmd := exec.Command("sh", filepath.Join(root, "scripts", "image.sh"))
	cmd.Env = append(os.Environ(), "IMAGE="+testImage, "AGENT_BIN="+filepath.Join(tmp, "molecule-agent"))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "docker tests need the workspace image and a reachable Docker engine: scripts/image.sh: %v\n", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}

// mustDocker returns a raw client for assertions and cleanup; it fails the
// test loudly when the engine is unreachable.
func mustDocker(tb testing.TB) *client.Client {
	tb.Helper()
	cli, err := client.New(client.FromEnv)
	if err != nil {
		tb.Fatalf("docker client: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx, client.PingOptions{}); err != nil {
		tb.Fatalf("these tests need a running Docker engine: %v", err)
	}
	tb.Cleanup(func() { cli.Close() })
	return cli
}

// mustBackend returns a configured backend.
func mustBackend(tb testing.TB, cfg map[string]string) *docker.Backend {
	tb.Helper()
	b := docker.New()
	if _, err := b.Configure(context.Background(), &sdk.ConfigureRequest{Config: cfg}); err != nil {
		tb.Fatalf("Configure(%v): %v", cfg, err)
	}
	return b
}

// newWorkspaceID returns a unique id and registers cleanup of everything
// labelled with it, even when the test fails.
func newWorkspaceID(tb testing.TB) string {
	tb.Helper()
	var b [6]byte
	rand.Read(b[:])
	id := "t-" + hex.EncodeToString(b[:])
	cli := mustDocker(tb)
	tb.Cleanup(func() { removeByLabel(cli, id) })
	return id
}

func removeByLabel(cli *client.Client, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f := make(client.Filters).Add("label", docker.LabelWorkspaceID+"="+id)
	cs, _ := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	for _, c := range cs.Items {
		cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true})
	}
	vs, _ := cli.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	for _, v := range vs.Items {
		cli.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true})
	}
}

// counts returns how many containers and volumes carry the workspace label.
func counts(tb testing.TB, id string) (containers, volumes int) {
	tb.Helper()
	cli := mustDocker(tb)
	f := make(client.Filters).Add("label", docker.LabelWorkspaceID+"="+id)
	cs, err := cli.ContainerList(context.Background(), client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		tb.Fatal(err)
	}
	vs, err := cli.VolumeList(context.Background(), client.VolumeListOptions{Filters: f})
	if err != nil {
		tb.Fatal(err)
	}
	return len(cs.Items), len(vs.Items)
}

// mustAgentDir returns a workspace's agent directory as the host makes it:
// mode 0777 (the container's user creates its socket there) inside a 0700
// parent, so no other local user reaches the sockets. The path is short: a
// unix socket path has at most 107 bytes.
func mustAgentDir(tb testing.TB) string {
	tb.Helper()
	parent, err := os.MkdirTemp("", "mw")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(parent) })
	dir := filepath.Join(parent, "a")
	if err := os.Mkdir(dir, 0o777); err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil { // past the umask
		tb.Fatal(err)
	}
	return dir
}

// mustServeUnix serves h on the unix socket path, connectable by the
// container's user, until the test ends.
func mustServeUnix(tb testing.TB, path string, h http.Handler) {
	tb.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	tb.Cleanup(func() { srv.Close() })
}

// unixClient speaks HTTP to the unix socket at path.
func unixClient(path string) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		},
	}}
}

// registry is the stand-in for the host: it serves the agent routes on
// host.sock in the workspace's agent directory and records the calls.
type registry struct {
	dir      string
	events   chan agentapi.BootEvent
	register chan agentapi.RegisterRequest
}

func mustRegistry(tb testing.TB, token string) *registry {
	tb.Helper()
	r := &registry{dir: mustAgentDir(tb), events: make(chan agentapi.BootEvent, 64), register: make(chan agentapi.RegisterRequest, 8)}
	mustServeUnix(tb, filepath.Join(r.dir, agentapi.HostSocket), http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(req.Body)
		switch req.URL.Path {
		case agentapi.PathBootEvent:
			var ev agentapi.BootEvent
			json.Unmarshal(body, &ev)
			r.events <- ev
		case agentapi.PathRegister:
			var rr agentapi.RegisterRequest
			json.Unmarshal(body, &rr)
			r.register <- rr
		}
		w.Write([]byte(`{"status":"ok"}`))
	}))
	return r
}

// waitEvent returns the first boot event of phase, failing after 60s.
func (r *registry) waitEvent(tb testing.TB, phase string) agentapi.BootEvent {
	tb.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case ev := <-r.events:
			if ev.Phase == agentapi.PhaseFailed {
				tb.Fatalf("agent reported failed: %s", ev.Detail)
			}
			if ev.Phase == phase {
				return ev
			}
		case <-deadline:
			tb.Fatalf("no %s boot event within 60s", phase)
		}
	}
}

func (r *registry) waitRegister(tb testing.TB) agentapi.RegisterRequest {
	tb.Helper()
	select {
	case rr := <-r.register:
		return rr
	case <-time.After(60 * time.Second):
		tb.Fatal("agent did not register within 60s")
		return agentapi.RegisterRequest{}
	}
}

// startRequest is a tier 2 request for workspace id with its agent
// directory agentDir (mustAgentDir, or a registry's dir).
func startRequest(id, agentDir string, files map[string][]byte) *sdk.StartRequest {
	return &sdk.StartRequest{
		WorkspaceID: id, OrgID: "org-test", Name: "test", Runtime: "default", Tier: 2,
		Image: testImage, Env: map[string]string{agentapi.EnvHeartbeatInterval: "1s"},
		ConfigFiles: files, ConfigHash: agentapi.ConfigHash(files),
		AgentToken: "agent-token", AgentDir: agentDir,
	}
}

func mustStart(tb testing.TB, b *docker.Backend, req *sdk.StartRequest) *sdk.StartResponse {
	tb.Helper()
	resp, err := b.Start(context.Background(), req)
	if err != nil {
		tb.Fatalf("Start(%s): %v", req.WorkspaceID, err)
	}
	return resp
}

func containerOf(tb testing.TB, resp *sdk.StartResponse) string {
	tb.Helper()
	var st struct {
		ContainerID string   `json:"container_id"`
		Volumes     []string `json:"volumes"`
	}
	if err := json.Unmarshal(resp.State.Data, &st); err != nil || st.ContainerID == "" || resp.State.Version != 1 {
		tb.Fatalf("state = %s v%d, want JSON with a container id, version 1", resp.State.Data, resp.State.Version)
	}
	return st.ContainerID
}

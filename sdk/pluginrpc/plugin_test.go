package pluginrpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/internal/plugintest"
	"github.com/molecule-ai/molecule-host/sdk"
	"github.com/molecule-ai/molecule-host/sdk/pluginrpc"
)

// Plugin binaries built once by TestMain: the real fake, and testdata/rogue.
var fakeBin, rogueBin string

func TestMain(m *testing.M) {
	dir, cleanup := plugintest.MainBuild("./cmd/molecule-backend-fake", "./sdk/pluginrpc/testdata/rogue")
	fakeBin = filepath.Join(dir, "molecule-backend-fake")
	rogueBin = filepath.Join(dir, "rogue")
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// mustLaunch starts path as a plugin the way a host does.
func mustLaunch(tb testing.TB, path string) (*plugin.Client, sdk.Backend) {
	tb.Helper()
	return plugintest.Launch(tb, path)
}

// registry is a stand-in for the host's /registry routes that records the
// paths and tokens it was called with.
type registry struct {
	mu    sync.Mutex
	calls []string // "path token"
}

func (r *registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.calls = append(r.calls, req.URL.Path+" "+req.Header.Get("Authorization"))
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"status": "ok"})
}

func (r *registry) saw(call string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.calls {
		if c == call {
			return true
		}
	}
	return false
}

func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronization
	}
}

func TestRealPluginProcess(t *testing.T) {
	reg := &registry{}
	host := httptest.NewServer(reg)
	defer host.Close()
	c, b := mustLaunch(t, fakeBin)
	ctx := context.Background()

	m, err := b.Manifest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "fake" || !sdk.HasCapability(m.Capabilities, sdk.CapLogs) || sdk.HasCapability(m.Capabilities, sdk.CapExec) {
		t.Fatalf("manifest = %s %v, want fake with logs and without exec", m.Name, m.Capabilities)
	}
	if _, err := b.Start(ctx, &sdk.StartRequest{WorkspaceID: "ws-1"}); !sdk.IsKind(err, sdk.KindConflict) {
		t.Fatalf("Start before Configure: error = %v, want KindConflict", err)
	}
	if _, err := b.Configure(ctx, &sdk.ConfigureRequest{Config: map[string]string{"state_dir": t.TempDir()}}); err != nil {
		t.Fatal(err)
	}
	_, err = b.Start(ctx, &sdk.StartRequest{
		WorkspaceID: "ws-1", HostURL: host.URL, AgentToken: "tok-1",
		ConfigFiles: map[string][]byte{"agent.yaml": []byte("model: x\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the fake's agent to register", func() bool { return reg.saw(agentapi.PathRegister + " Bearer tok-1") })

	pid := c.ReattachConfig().Pid
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the plugin process to exit", c.Exited)
	_, err = b.Status(ctx, &sdk.StatusRequest{Workspaces: []sdk.WorkspaceRef{{WorkspaceID: "ws-1"}}})
	if !errors.Is(err, pluginrpc.ErrPluginUnavailable) || !sdk.IsKind(err, sdk.KindTransient) {
		t.Fatalf("call after SIGKILL: error = %v, want KindTransient wrapping ErrPluginUnavailable", err)
	}
}

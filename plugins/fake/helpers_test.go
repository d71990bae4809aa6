package fake_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/plugins/fake"
	"github.com/molecule-ai/molecule-host/sdk"
	"github.com/molecule-ai/molecule-host/sdk/backendtest"
)

// registry stands in for the host's /registry routes and records every
// call it receives.
type registry struct {
	*httptest.Server
	mu     sync.Mutex
	calls  map[string]int // path -> count
	tokens map[string]bool
	boot   []agentapi.BootEvent
	reg    []agentapi.RegisterRequest
}

func mustRegistry(tb testing.TB) *registry {
	tb.Helper()
	r := &registry{calls: map[string]int{}, tokens: map[string]bool{}}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	tb.Cleanup(r.Close)
	return r
}

func (r *registry) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[req.URL.Path]++
	r.tokens[req.Header.Get("Authorization")] = true
	switch req.URL.Path {
	case agentapi.PathBootEvent:
		var ev agentapi.BootEvent
		_ = json.NewDecoder(req.Body).Decode(&ev)
		r.boot = append(r.boot, ev)
	case agentapi.PathRegister:
		var rr agentapi.RegisterRequest
		_ = json.NewDecoder(req.Body).Decode(&rr)
		r.reg = append(r.reg, rr)
	}
	w.Write([]byte(`{"status":"ok"}`))
}

func (r *registry) count(path string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[path]
}

// mustFake returns a configured fake served over in-memory gRPC, its state
// dir, and the raw Backend (for Close).
func mustFake(tb testing.TB) (sdk.Backend, string, *fake.Backend) {
	tb.Helper()
	dir := tb.TempDir()
	raw := fake.New()
	tb.Cleanup(func() { raw.Close() })
	b := backendtest.Serve(tb, raw)
	mustConfigure(tb, b, dir)
	return b, dir, raw
}

func mustConfigure(tb testing.TB, b sdk.Backend, dir string) {
	tb.Helper()
	if _, err := b.Configure(context.Background(), &sdk.ConfigureRequest{Config: map[string]string{"state_dir": dir}}); err != nil {
		tb.Fatalf("Configure: %v", err)
	}
}

func startReq(id, hostURL string) *sdk.StartRequest {
	return &sdk.StartRequest{
		WorkspaceID: id, HostURL: hostURL, AgentToken: "tok-" + id,
		Env:         map[string]string{agentapi.EnvHeartbeatInterval: "50ms"},
		ConfigFiles: map[string][]byte{"agent.yaml": []byte("model: echo\n")},
	}
}

func mustFaults(tb testing.TB, dir string, rules string) {
	tb.Helper()
	if err := os.WriteFile(filepath.Join(dir, "faults.json"), []byte(rules), 0o644); err != nil {
		tb.Fatal(err)
	}
}

func statusOf(tb testing.TB, b sdk.Backend, id string) sdk.WorkspaceStatus {
	tb.Helper()
	resp, err := b.Status(context.Background(), &sdk.StatusRequest{Workspaces: []sdk.WorkspaceRef{{WorkspaceID: id}}})
	if err != nil {
		tb.Fatalf("Status: %v", err)
	}
	if len(resp.Statuses) != 1 {
		tb.Fatalf("Status returned %d entries, want 1", len(resp.Statuses))
	}
	return resp.Statuses[0]
}

// waitFor polls cond until it holds or 10 s pass.
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

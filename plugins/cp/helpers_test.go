package cp_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/internal/plugintest"
	"github.com/molecule-ai/molecule-host/plugins/cp"
	"github.com/molecule-ai/molecule-host/plugins/cp/cplocal"
	"github.com/molecule-ai/molecule-host/sdk"
)

const (
	secret     = "test-shared-secret"
	adminToken = "test-admin-token"
	agentToken = "test-agent-token"
)

// binDir holds the binaries TestMain builds: molecule-agent,
// molecule-backend-cp and molecule-cp-local.
var binDir string

func TestMain(m *testing.M) {
	dir, cleanup := plugintest.MainBuild("./cmd/molecule-agent", "./cmd/molecule-backend-cp", "./cmd/molecule-cp-local")
	binDir = dir
	if err := os.Chmod(dir, 0o755); err != nil { // run as root, instances execute the agent as their own uids
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// cpEnv is a running local control plane.
type cpEnv struct {
	srv     *cplocal.Server
	ts      *httptest.Server
	dataDir string
}

func mustCP(tb testing.TB, dataDir string, faults cplocal.Faults) *cpEnv {
	tb.Helper()
	if dataDir == "" {
		dataDir = mustDataDir(tb)
	}
	srv, err := cplocal.New(cplocal.Config{DataDir: dataDir, SharedSecret: secret, AdminToken: adminToken, AddressPool: poolFor(dataDir),
		AgentPath: filepath.Join(binDir, "molecule-agent"), StopGrace: 3 * time.Second, Faults: faults})
	if err != nil {
		tb.Fatalf("cplocal.New: %v", err)
	}
	env := &cpEnv{srv: srv, ts: httptest.NewServer(srv.Handler()), dataDir: dataDir}
	tb.Cleanup(func() { env.close(true) })
	return env
}

// poolFor is the address pool of the control plane on dataDir: one /24 of
// 127.0.0.0/8 per data dir, the same across restarts, so that control
// planes of concurrent test runs do not hand out the same address (every
// agent serves on the same port).
func poolFor(dataDir string) netip.Prefix {
	h := sha256.Sum256([]byte(dataDir))
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{127, 16 + h[0]%224, h[1], 0}), 24)
}

// mustDataDir returns a new data dir for a control plane that instance
// users can reach (a test's TempDir sits in a directory only its owner may
// search; run as root, instances run as uids of their own).
func mustDataDir(tb testing.TB) string {
	tb.Helper()
	return plugintest.TraversableTempDir(tb, "cp-data-")
}

// close stops serving; killInstances also stops every instance.
func (e *cpEnv) close(killInstances bool) {
	e.ts.CloseClientConnections()
	e.ts.Close()
	e.srv.Close(killInstances)
}

// mustBackend returns a cp backend configured for url.
func mustBackend(tb testing.TB, url string, extra map[string]string) *cp.Backend {
	tb.Helper()
	cfg := map[string]string{"url": url, "shared_secret": secret, "admin_token": adminToken, "request_timeout": "5s", "max_retries": "6"}
	for k, v := range extra {
		cfg[k] = v
	}
	b := cp.New()
	if _, err := b.Configure(context.Background(), &sdk.ConfigureRequest{Config: cfg}); err != nil {
		tb.Fatalf("configure: %v", err)
	}
	return b
}

// fakeHost is the host's registry as the agent sees it: it records the
// boot events and registered URLs of every workspace.
type fakeHost struct {
	ts     *httptest.Server
	mu     sync.Mutex
	events map[string][]agentapi.BootEvent
	urls   map[string]string
}

func mustFakeHost(tb testing.TB) *fakeHost {
	tb.Helper()
	h := &fakeHost{events: map[string][]agentapi.BootEvent{}, urls: map[string]string{}}
	h.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+agentToken {
			http.Error(w, `{"error":{"code":"unauthorized","message":"bad token"}}`, http.StatusUnauthorized)
			return
		}
		if r.URL.Path == agentapi.PathBootEvent {
			var ev agentapi.BootEvent
			if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			h.mu.Lock()
			h.events[ev.WorkspaceID] = append(h.events[ev.WorkspaceID], ev)
			h.mu.Unlock()
		}
		if r.URL.Path == agentapi.PathRegister {
			var reg agentapi.RegisterRequest
			if err := json.NewDecoder(r.Body).Decode(&reg); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			h.mu.Lock()
			h.urls[reg.WorkspaceID] = reg.URL
			h.mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	}))
	tb.Cleanup(h.ts.Close)
	return h
}

// applied counts the config_applied events of ws carrying hash.
func (h *fakeHost) applied(ws, hash string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, ev := range h.events[ws] {
		if ev.Phase == agentapi.PhaseConfigApplied && ev.ConfigHash == hash {
			n++
		}
	}
	return n
}

// registered is the URL ws's agent registered last.
func (h *fakeHost) registered(ws string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.urls[ws]
}

func startRequest(h *fakeHost, ws string, files map[string][]byte) *sdk.StartRequest {
	return &sdk.StartRequest{WorkspaceID: ws, Runtime: "default", Tier: 2, Image: "molecule-workspace:dev",
		Env:         map[string]string{"MOLECULE_HEARTBEAT_INTERVAL": "200ms", "MOLECULE_LISTEN_ADDR": "0.0.0.0:80"},
		ConfigFiles: files, ConfigHash: agentapi.ConfigHash(files), AgentToken: agentToken, HostURL: h.ts.URL}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// agentPIDs returns the pids of running agent processes of instance id.
func agentPIDs(tb testing.TB, instanceID string) []int {
	tb.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		tb.Fatalf("read /proc: %v", err)
	}
	var pids []int
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err == nil && strings.Contains(string(env), cplocal.EnvInstanceID+"="+instanceID+"\x00") {
			pids = append(pids, pid)
		}
	}
	return pids
}

// uidOf returns the real, effective, saved and filesystem uids of pid.
func uidOf(tb testing.TB, pid int) [4]uint32 {
	tb.Helper()
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		tb.Fatal(err)
	}
	var u [4]uint32
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			if _, err := fmt.Sscan(rest, &u[0], &u[1], &u[2], &u[3]); err != nil {
				tb.Fatalf("uid line %q: %v", line, err)
			}
			return u
		}
	}
	tb.Fatalf("no Uid line in /proc/%d/status", pid)
	return u
}

func stateOf(tb testing.TB, s sdk.BackendState) cp.State {
	tb.Helper()
	st, err := cp.DecodeState(s)
	if err != nil {
		tb.Fatalf("decode state: %v", err)
	}
	return st
}

package agent_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/agent"
	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/internal/plugintest"
)

// call is one request the fake host received.
type call struct {
	Path string
	Auth string
	Body json.RawMessage
}

// fakeHost is an httptest registry that sends every call it accepts on
// calls; the first failFirst calls are answered 503, and once setToken has
// given it a token, calls without that token 401.
type fakeHost struct {
	*httptest.Server
	calls     chan call
	failFirst int64
	seen      atomic.Int64
	mu        sync.Mutex
	token     string
}

func mustFakeHost(tb testing.TB, failFirst int64) *fakeHost {
	tb.Helper()
	h := &fakeHost{calls: make(chan call, 1024), failFirst: failFirst}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if h.seen.Add(1) <= h.failFirst {
			http.Error(w, "not yet", http.StatusServiceUnavailable)
			return
		}
		h.mu.Lock()
		ok := h.token == "" || r.Header.Get("Authorization") == "Bearer "+h.token
		h.mu.Unlock()
		if !ok {
			http.Error(w, "unknown token", http.StatusUnauthorized)
			return
		}
		select {
		case h.calls <- call{Path: r.URL.Path, Auth: r.Header.Get("Authorization"), Body: body}:
		default:
		}
		w.Write([]byte(`{"status":"ok"}`))
	}))
	tb.Cleanup(h.Close)
	return h
}

// next returns the next call, failing the test after a deadline.
func (h *fakeHost) next(tb testing.TB) call {
	tb.Helper()
	select {
	case c := <-h.calls:
		return c
	case <-time.After(10 * time.Second):
		tb.Fatal("the agent made no further host call within 10s")
		return call{}
	}
}

func mustConfigDir(tb testing.TB, files map[string][]byte) string {
	tb.Helper()
	dir := tb.TempDir()
	if err := agent.WriteConfigDir(dir, files); err != nil {
		tb.Fatal(err)
	}
	return dir
}

func startAgent(tb testing.TB, cfg agent.Config) (*agent.Agent, chan error, context.CancelFunc) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a := agent.New(cfg)
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		<-done
	})
	return a, done, cancel
}

func TestRunBootSequence(t *testing.T) {
	files := map[string][]byte{"runtime.json": []byte(`{"runtime":"echo"}`), "skills/a.md": []byte("# a")}
	host := mustFakeHost(t, 0)
	var log plugintest.Buffer
	cfg := agent.Config{
		WorkspaceID: "ws-1", HostURL: host.URL, Token: "tok", ConfigDir: mustConfigDir(t, files),
		HeartbeatInterval: 20 * time.Millisecond, Out: &log,
	}
	_, done, cancel := startAgent(t, cfg)

	var ev agentapi.BootEvent
	for _, phase := range []string{agentapi.PhaseConfigApplied, agentapi.PhaseRuntimeStarted} {
		c := host.next(t)
		mustDecode(t, c, agentapi.PathBootEvent, &ev)
		if ev.Phase != phase || ev.WorkspaceID != "ws-1" {
			t.Fatalf("boot event = %+v, want phase %s for ws-1", ev, phase)
		}
		if phase == agentapi.PhaseConfigApplied && ev.ConfigHash != agentapi.ConfigHash(files) {
			t.Fatalf("config_applied hash = %s, want %s", ev.ConfigHash, agentapi.ConfigHash(files))
		}
	}
	var reg agentapi.RegisterRequest
	mustDecode(t, host.next(t), agentapi.PathRegister, &reg)
	if reg.WorkspaceID != "ws-1" || !strings.HasPrefix(reg.URL, "http://127.0.0.1:") || reg.AgentCard.URL != reg.URL {
		t.Fatalf("register = %+v, want ws-1 at http://127.0.0.1:<port>", reg)
	}
	mustDecode(t, host.next(t), agentapi.PathBootEvent, &ev)
	if ev.Phase != agentapi.PhaseReady {
		t.Fatalf("fourth call phase = %s, want ready", ev.Phase)
	}
	if got := rpcAs(t, http.DefaultClient, reg.URL, credential("tok"), `{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{"role":"user","parts":[{"kind":"text","text":"ping"}]}}}`); !strings.Contains(got, `"text":"ping"`) {
		t.Fatalf("message/send through the registered URL = %s, want the echo of ping", got)
	}
	for range 2 { // two heartbeats prove the loop ticks
		var hb agentapi.HeartbeatRequest
		mustDecode(t, host.next(t), agentapi.PathHeartbeat, &hb)
		if hb.ConfigHash != agentapi.ConfigHash(files) || hb.WorkspaceID != "ws-1" || hb.RuntimeState != "" {
			t.Fatalf("heartbeat = %+v", hb)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel = %v, want nil (clean exit)", err)
	}
	done <- nil // for Cleanup
	for _, step := range []string{"config applied", "runtime started: echo", "listening on", "shutting down"} {
		if !strings.Contains(log.String(), step) {
			t.Errorf("boot log lacks %q:\n%s", step, log.String())
		}
	}
}

func mustDecode(tb testing.TB, c call, path string, v any) {
	tb.Helper()
	if c.Path != path {
		tb.Fatalf("call to %s, want %s (body %s)", c.Path, path, c.Body)
	}
	if c.Auth != "Bearer tok" {
		tb.Fatalf("call to %s has Authorization %q, want the agent token", c.Path, c.Auth)
	}
	if err := json.Unmarshal(c.Body, v); err != nil {
		tb.Fatalf("call to %s: %v", path, err)
	}
}

func rpc(tb testing.TB, url, body string) string {
	tb.Helper()
	return plugintest.PostJSON(tb, url+"/", body)
}

func TestRunRetriesWhileHostUnavailable(t *testing.T) {
	host := mustFakeHost(t, 3)
	cfg := agent.Config{
		WorkspaceID: "ws-2", HostURL: host.URL, Token: "tok", ConfigDir: mustConfigDir(t, nil),
		RetryBase: time.Millisecond, RetryMax: 5 * time.Millisecond,
	}
	startAgent(t, cfg)
	var ev agentapi.BootEvent
	mustDecode(t, host.next(t), agentapi.PathBootEvent, &ev)
	if ev.Phase != agentapi.PhaseConfigApplied {
		t.Fatalf("first accepted call phase = %s, want config_applied", ev.Phase)
	}
	if n := host.seen.Load(); n < 4 {
		t.Fatalf("host saw %d attempts, want >= 4 (3 refused + 1 accepted)", n)
	}
}

func TestRunUnknownRuntimeFails(t *testing.T) {
	host := mustFakeHost(t, 0)
	cfg := agent.Config{
		WorkspaceID: "ws-3", HostURL: host.URL, Token: "tok",
		ConfigDir: mustConfigDir(t, map[string][]byte{"runtime.json": []byte(`{"runtime":"wedge"}`)}),
	}
	err := agent.New(cfg).Run(context.Background())
	var ee *agent.ExitError
	if !errors.As(err, &ee) || ee.Code != 2 || !errors.Is(err, agent.ErrUnknownRuntime) {
		t.Fatalf("Run = %v, want ExitError code 2 wrapping ErrUnknownRuntime", err)
	}
	var ev agentapi.BootEvent
	mustDecode(t, host.next(t), agentapi.PathBootEvent, &ev)
	if ev.Phase != agentapi.PhaseConfigApplied {
		t.Fatalf("first event %s, want config_applied", ev.Phase)
	}
	mustDecode(t, host.next(t), agentapi.PathBootEvent, &ev)
	if ev.Phase != agentapi.PhaseFailed || !strings.Contains(ev.Detail, `"wedge"`) {
		t.Fatalf("second event = %+v, want failed naming wedge", ev)
	}
}

package docker_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/sdk"
)

// tokenRegistry stands in for the host like registry, but its token can be
// replaced, as a start replaces a workspace's token: a call with any other
// token is refused 401.
type tokenRegistry struct {
	dir      string
	mu       sync.Mutex
	token    string
	register chan string // the token of each accepted register call
}

func mustTokenRegistry(tb testing.TB, token string) *tokenRegistry {
	tb.Helper()
	r := &tokenRegistry{dir: mustAgentDir(tb), token: token, register: make(chan string, 64)}
	mustServeUnix(tb, filepath.Join(r.dir, agentapi.HostSocket), http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.ReadAll(req.Body)
		r.mu.Lock()
		tok := r.token
		r.mu.Unlock()
		if req.Header.Get("Authorization") != "Bearer "+tok {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if req.URL.Path == agentapi.PathRegister {
			select {
			case r.register <- tok:
			default:
			}
		}
		w.Write([]byte(`{"status":"ok"}`))
	}))
	return r
}

func (r *tokenRegistry) setToken(tok string) {
	r.mu.Lock()
	r.token = tok
	r.mu.Unlock()
}

// waitRegister waits for a register call accepted with token.
func (r *tokenRegistry) waitRegister(tb testing.TB, token string) {
	tb.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case tok := <-r.register:
			if tok == token {
				return
			}
		case <-deadline:
			tb.Fatalf("agent did not register with token %q within 60s", token)
		}
	}
}

type inspected struct {
	running   bool
	startedAt string
	env       []string
}

func inspect(tb testing.TB, id string) inspected {
	tb.Helper()
	ins, err := mustDocker(tb).ContainerInspect(context.Background(), id, client.ContainerInspectOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	return inspected{ins.Container.State.Running, ins.Container.State.StartedAt, ins.Container.Config.Env}
}

// TestStartWithNewTokenKeepsContainer: every start hands the agent a new
// token. A start of a running workspace must not disturb it (same
// container, not restarted: running work and boot logs survive), and its
// agent must go on with the new token, which it reads from the token file
// in its agent directory. A stopped workspace is started again in the same
// container with the new token.
func TestStartWithNewTokenKeepsContainer(t *testing.T) {
	b := mustBackend(t, nil)
	id := newWorkspaceID(t)
	reg := mustTokenRegistry(t, "tok-1")
	req := startRequest(id, reg.dir, map[string][]byte{"runtime.json": []byte(`{"runtime":"echo"}`)})
	req.AgentToken = "tok-1"
	first := mustStart(t, b, req)
	reg.waitRegister(t, "tok-1")
	before := inspect(t, containerOf(t, first))
	for _, e := range before.env {
		if strings.HasPrefix(e, agentapi.EnvToken+"=") || strings.Contains(e, "tok-1") {
			t.Fatalf("container environment has the token: %s", e)
		}
	}
	if !slices.Contains(before.env, agentapi.EnvTokenFile+"=/run/molecule/token") {
		t.Fatalf("container environment %v lacks %s", before.env, agentapi.EnvTokenFile)
	}

	reg.setToken("tok-2")
	req.AgentToken = "tok-2"
	second := mustStart(t, b, req)
	if containerOf(t, second) != containerOf(t, first) {
		t.Fatalf("Start of a running workspace with a new token made container %s, want the same %s", containerOf(t, second), containerOf(t, first))
	}
	if after := inspect(t, containerOf(t, second)); !after.running || after.startedAt != before.startedAt {
		t.Fatalf("container after the second Start: running %v, started %s; want running since %s (not restarted)", after.running, after.startedAt, before.startedAt)
	}
	reg.waitRegister(t, "tok-2")
	// The agent read the new token and deleted the file: no other process
	// of the workspace's user finds it on disk.
	if _, err := os.Stat(filepath.Join(reg.dir, agentapi.TokenFile)); !os.IsNotExist(err) {
		t.Fatalf("token file after the agent took the new token: %v, want removed", err)
	}
	if out := postAgent(t, second.Endpoint, "tok-2", `{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{"role":"user","parts":[{"kind":"text","text":"renewed"}]}}}`); !strings.Contains(out, "renewed") {
		t.Fatalf("A2A with the new token's credential = %s", out)
	}

	if _, err := b.Stop(context.Background(), &sdk.StopRequest{WorkspaceID: id, State: second.State}); err != nil {
		t.Fatal(err)
	}
	reg.setToken("tok-3")
	req.AgentToken = "tok-3"
	third := mustStart(t, b, req)
	if containerOf(t, third) != containerOf(t, first) {
		t.Fatal("Start of a stopped workspace with a new token made a new container")
	}
	reg.waitRegister(t, "tok-3")
}

// TestStartRefusesTokenInEnv: the token reaches the agent only through its
// file; a request that names it as an environment variable does not put it
// in the container's environment.
func TestStartRefusesTokenInEnv(t *testing.T) {
	b := mustBackend(t, nil)
	id := newWorkspaceID(t)
	req := startRequest(id, mustAgentDir(t), nil)
	req.Env[agentapi.EnvToken] = "leaked"
	got := inspect(t, containerOf(t, mustStart(t, b, req)))
	raw, _ := json.Marshal(got.env)
	if strings.Contains(string(raw), "leaked") || strings.Contains(string(raw), "agent-token") {
		t.Fatalf("container environment %s has a token", raw)
	}
}

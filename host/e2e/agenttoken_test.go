package e2e_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/host/hosttest"
)

// agentToken reads the token the host gave the workspace's agent from the
// fake backend's record of it.
func agentToken(t *testing.T, stateDir, id string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(stateDir, "workspace-"+id+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(b, &rec); err != nil || rec.Token == "" {
		t.Fatalf("fake record of %s has no token (%v)", id, err)
	}
	return rec.Token
}

// agentCalls makes a heartbeat and a boot event with token and returns
// their statuses.
func agentCalls(h *hosttest.Host, token, id string) (heartbeat, bootEvent int) {
	heartbeat = h.DoToken(token, "POST", agentapi.PathHeartbeat, agentapi.HeartbeatRequest{WorkspaceID: id}, nil)
	bootEvent = h.DoToken(token, "POST", agentapi.PathBootEvent, agentapi.BootEvent{WorkspaceID: id, Phase: agentapi.PhaseRuntimeStarted}, nil)
	return heartbeat, bootEvent
}

// TestStopRevokesAgentToken plays a workspace agent that keeps calling
// after its workspace stopped: its token is dead from the stop on, and the
// token the next start mints works while the old one stays dead.
func TestStopRevokesAgentToken(t *testing.T) {
	h, state := startFake(t, "")
	a := create(t, h, "revoked", map[string]string{"runtime.json": `{"runtime":"echo"}`})
	waitStatus(t, h, a.Workspace.ID, "online", 30*time.Second)
	id := a.Workspace.ID
	old := agentToken(t, state, id)
	if hb, ev := agentCalls(h, old, id); hb != 200 || ev != 200 {
		t.Fatalf("live token: heartbeat %d, boot event %d, want 200", hb, ev)
	}

	act(t, h, id, "stop")
	if hb, ev := agentCalls(h, old, id); hb != 401 || ev != 401 {
		t.Errorf("after stop: heartbeat %d, boot event %d, want 401", hb, ev)
	}

	act(t, h, id, "start")
	waitStatus(t, h, id, "online", 30*time.Second)
	cur := agentToken(t, state, id)
	if cur == old {
		t.Fatal("start reused the old agent token")
	}
	if hb, ev := agentCalls(h, cur, id); hb != 200 || ev != 200 {
		t.Errorf("new token: heartbeat %d, boot event %d, want 200", hb, ev)
	}
	if hb, ev := agentCalls(h, old, id); hb != 401 || ev != 401 {
		t.Errorf("old token after start: heartbeat %d, boot event %d, want 401", hb, ev)
	}
}

package e2e_test

import (
	"strings"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/host/hosttest"
)

// TestRestartAnswersProvisioning: POST /restart answers 202 with the
// workspace already provisioning, and a ?wait=online right after waits for
// the new boot instead of answering with the state from before.
func TestRestartAnswersProvisioning(t *testing.T) {
	h, state := startFake(t, "")
	a := create(t, h, "restarted", map[string]string{"runtime.json": `{"runtime":"echo"}`})
	waitStatus(t, h, a.Workspace.ID, "online", 30*time.Second)
	old := agentToken(t, state, a.Workspace.ID)

	var acc accepted
	if st := h.Do("POST", "/workspaces/"+a.Workspace.ID+"/restart", nil, &acc); st != 202 {
		t.Fatalf("restart: status %d", st)
	}
	if acc.Workspace.Status != "provisioning" || acc.Workspace.URL != "" {
		t.Errorf("restart answered the workspace %s with url %q, want provisioning without the old url", acc.Workspace.Status, acc.Workspace.URL)
	}
	var ws workspace
	if st := h.Do("GET", "/workspaces/"+a.Workspace.ID+"?wait=online&timeout=60s", nil, &ws); st != 200 || ws.Status != "online" {
		t.Fatalf("wait for online after restart: status %d, workspace %s", st, ws.Status)
	}
	if agentToken(t, state, a.Workspace.ID) == old {
		t.Error("the wait answered online before the restart's new boot")
	}
}

// TestStopPreemptsHangingCreate: a stop while the backend's Start hangs is
// accepted (not 409), fails the create with "Preempted by stop." and stops
// the workspace promptly.
func TestStopPreemptsHangingCreate(t *testing.T) {
	h, state := startFake(t, "")
	writeFaults(t, state, `[{"verb":"start","action":"hang","count":1}]`)
	a := create(t, h, "hanging", nil)
	var op operation
	hosttest.Eventually(t, 30*time.Second, func() (bool, string) {
		h.Do("GET", "/operations/"+a.Operation.ID, nil, &op)
		return strings.HasPrefix(op.Step, "starting on backend"), "operation step " + op.Step
	})
	var acc accepted
	if st := h.Do("POST", "/workspaces/"+a.Workspace.ID+"/stop", nil, &acc); st != 202 {
		t.Fatalf("stop while the create hangs: status %d, want 202", st)
	}
	if got := waitOp(t, h, a.Operation.ID, 10*time.Second); got.State != "failed" || got.Error == nil || got.Error.Message != "Preempted by stop." {
		t.Errorf("create operation: %+v (error %+v), want failed, preempted by stop", got, got.Error)
	}
	if got := waitOp(t, h, acc.Operation.ID, 30*time.Second); got.State != "succeeded" {
		t.Errorf("stop operation: %+v", got)
	}
	waitStatus(t, h, a.Workspace.ID, "stopped", 10*time.Second)
}

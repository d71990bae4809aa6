package lifecycle_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/lifecycle"
	"github.com/molecule-ai/molecule-host/sdk"
)

// deadline reads a workspace's provision deadline.
func (h *harness) deadline(id string) *time.Time {
	h.t.Helper()
	ws, err := h.st.GetWorkspace(h.ctx, id)
	if err != nil {
		h.t.Fatal(err)
	}
	return ws.ProvisionDeadline
}

func (h *harness) faults(rules string) {
	h.t.Helper()
	if err := os.WriteFile(filepath.Join(h.state, "faults.json"), []byte(rules), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// TestRetryKeepsProvisionDeadline: a boot that is retried keeps the one
// provision deadline its operation got when it was enqueued.
func TestRetryKeepsProvisionDeadline(t *testing.T) {
	h := mustHarness(t)
	h.faults(`[{"verb":"start","action":"fail","kind":"transient","count":2}]`)
	ws, op, err := h.svc.Create(h.ctx, lifecycle.CreateRequest{Name: "retried", Backend: "fake", Runtime: "default", Tier: 2})
	if err != nil {
		t.Fatal(err)
	}
	first := h.deadline(ws.ID)
	if first == nil {
		t.Fatal("create set no provision deadline")
	}
	for attempt := 1; attempt <= 2; attempt++ {
		if err := h.svc.Run(h.ctx, op.ID, attempt); err == nil {
			t.Fatalf("attempt %d with a failing Start did not ask for a retry", attempt)
		}
		if d := h.deadline(ws.ID); d == nil || !d.Equal(*first) {
			t.Fatalf("deadline after attempt %d = %v, want the first one %v", attempt, d, first)
		}
	}
	if err := h.svc.Run(h.ctx, op.ID, 3); err != nil {
		t.Fatalf("attempt 3: %v", err)
	}
	if d := h.deadline(ws.ID); d == nil || !d.Equal(*first) {
		t.Errorf("deadline after the boot = %v, want the first one %v", d, first)
	}
}

// crashing is a backend whose plugin process dies in every Start: the
// error is the one sdk/pluginrpc returns for a connection lost mid-call.
type crashing struct {
	sdk.Backend
	starts atomic.Int32
}

func (c *crashing) Start(ctx context.Context, req *sdk.StartRequest) (*sdk.StartResponse, error) {
	c.starts.Add(1)
	return nil, &sdk.Error{Kind: sdk.KindTransient, Op: "start",
		Message: "The backend plugin is unavailable: error reading from server: EOF", Err: sdk.ErrPluginUnavailable}
}

// TestPluginExitFailsOperationAtOnce: when the plugin exits during a verb
// call, the operation fails at once with the reason and the request is not
// sent again (the job queue is not asked for a retry).
func TestPluginExitFailsOperationAtOnce(t *testing.T) {
	var c *crashing
	h := mustHarnessWith(t, func(b sdk.Backend) sdk.Backend { c = &crashing{Backend: b}; return c })
	ws, op, err := h.svc.Create(h.ctx, lifecycle.CreateRequest{Name: "poison", Backend: "fake", Runtime: "default", Tier: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.run(op); err != nil {
		t.Fatalf("Run asked for a retry after the plugin exited: %v", err)
	}
	got, err := h.st.GetOperation(h.ctx, op.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != host.OpFailed || !strings.Contains(got.ErrorMessage, "plugin exited") || !strings.Contains(got.ErrorMessage, "EOF") {
		t.Errorf("operation = %s %q, want failed naming the plugin exit and its reason", got.State, got.ErrorMessage)
	}
	w, err := h.st.GetWorkspace(h.ctx, ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	if w.Status != host.StatusFailed || w.StatusReason != got.ErrorMessage {
		t.Errorf("workspace = %s %q, want failed with the operation's reason", w.Status, w.StatusReason)
	}
	if n := c.starts.Load(); n != 1 {
		t.Errorf("Start was sent %d times, want once", n)
	}
}

// TestVerbAnswersNewStatus: start and restart answer with the workspace
// already provisioning, its old boot cleared and its agent token revoked,
// so no wait sees the state from before the request; stop answers with
// the status as it is.
func TestVerbAnswersNewStatus(t *testing.T) {
	h := mustHarness(t)
	ws, op, err := h.svc.Create(h.ctx, lifecycle.CreateRequest{Name: "verbs", Backend: "fake", Runtime: "default", Tier: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.run(op); err != nil {
		t.Fatal(err)
	}
	if _, err := h.st.Transition(h.ctx, ws.ID, host.StatusChange{To: host.StatusOnline, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	got, restart, err := h.svc.Act(h.ctx, ws.ID, host.VerbRestart)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != host.StatusProvisioning || got.ProvisionDeadline == nil || got.URL != "" {
		t.Fatalf("restart answered %s (deadline %v, url %q), want provisioning with a deadline and no url", got.Status, got.ProvisionDeadline, got.URL)
	}
	if h.digest(ws.ID) != nil {
		t.Error("the old boot's agent token outlives the restart request")
	}
	first := *got.ProvisionDeadline
	if err := h.run(restart); err != nil {
		t.Fatal(err)
	}
	if d := h.deadline(ws.ID); d == nil || !d.Equal(first) {
		t.Errorf("restart's boot moved the deadline from %v to %v", first, d)
	}
	if _, err := h.st.Transition(h.ctx, ws.ID, host.StatusChange{To: host.StatusOnline, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	got, _, err = h.svc.Act(h.ctx, ws.ID, host.VerbStop)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != host.StatusOnline {
		t.Errorf("stop answered %s, want the status as it is (online)", got.Status)
	}
}

// TestStopPreemptsStuckCreate: a stop while a create's Start hangs is
// accepted, fails the create ("Preempted by stop."), and stops the
// workspace; the create's late attempt records nothing over it.
func TestStopPreemptsStuckCreate(t *testing.T) {
	h := mustHarness(t)
	h.faults(`[{"verb":"start","action":"hang","count":1}]`)
	ws, op, err := h.svc.Create(h.ctx, lifecycle.CreateRequest{Name: "stuck", Backend: "fake", Runtime: "default", Tier: 2})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	go func() { done <- h.svc.Run(runCtx, op.ID, 1) }()
	for {
		cur, err := h.st.GetOperation(h.ctx, op.ID)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(cur.Step, "starting on backend") {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("create ended before hanging: %v", err)
		case <-time.After(20 * time.Millisecond): // poll interval
		}
	}
	_, stop, err := h.svc.Act(h.ctx, ws.ID, host.VerbStop)
	if err != nil {
		t.Fatalf("stop while a create hangs: %v", err)
	}
	cancel() // what the job queue does to the preempted job
	if err := <-done; err != nil {
		t.Errorf("the preempted attempt asked for a retry: %v", err)
	}
	if err := h.run(stop); err != nil {
		t.Fatalf("stop: %v", err)
	}
	got, err := h.st.GetOperation(h.ctx, op.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != host.OpFailed || got.ErrorMessage != "Preempted by stop." {
		t.Errorf("create = %s %q, want failed, preempted by stop", got.State, got.ErrorMessage)
	}
	w, err := h.st.GetWorkspace(h.ctx, ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	if w.Status != host.StatusStopped {
		t.Errorf("workspace is %s after the stop, want stopped", w.Status)
	}
}

package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/store"
	"github.com/molecule-ai/molecule-host/sdk"
)

// mustCreateOn creates a workspace on backend with its create operation.
func mustCreateOn(tb testing.TB, s *store.Store, name, backend string) (*host.Workspace, *host.Operation) {
	tb.Helper()
	ws := &host.Workspace{Name: name, Backend: backend, Runtime: "default", Tier: 2, Config: map[string]string{}, ConfigHash: "h"}
	op := &host.Operation{Verb: host.VerbCreate}
	if err := s.CreateWorkspace(ctxT(tb), ws, op); err != nil {
		tb.Fatalf("CreateWorkspace(%s): %v", name, err)
	}
	return ws, op
}

// TestBackendsHaveTheirOwnWorkers: operations of a backend whose calls hang
// fill only that backend's workers; another backend's operation still runs
// at once.
func TestBackendsHaveTheirOwnWorkers(t *testing.T) {
	t.Parallel()
	s, _ := mustOpen(t, store.Options{OperationWorkers: 2})
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // before the store closes
	for _, n := range []string{"slow-1", "slow-2", "slow-3"} {
		mustCreateOn(t, s, n, "slow")
	}
	var mu sync.Mutex
	running := map[string]bool{}
	quickRan := make(chan struct{})
	err := s.RunOperations(ctxT(t), func(ctx context.Context, opID string, attempt int) error {
		op, err := s.GetOperation(ctx, opID)
		if err != nil {
			return err
		}
		ws, err := s.GetWorkspace(ctx, op.WorkspaceID)
		if err != nil {
			return err
		}
		if ws.Backend == "quick" {
			close(quickRan)
			return nil
		}
		mu.Lock()
		running[opID] = true
		mu.Unlock()
		select { // a Start that hangs
		case <-release:
		case <-ctx.Done():
		}
		return nil
	})
	if err != nil {
		t.Fatalf("RunOperations: %v", err)
	}
	waitFor(t, 30*time.Second, "two hanging operations of backend slow", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(running) == 2
	})
	mustCreateOn(t, s, "quick-1", "quick")
	select {
	case <-quickRan:
	case <-time.After(10 * time.Second):
		t.Fatal("backend quick's operation did not run while backend slow's hung")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(running) != 2 {
		t.Errorf("%d of backend slow's operations ran at once, want its limit 2", len(running))
	}
}

// TestStopPreemptsLiveCreate: a stop enqueued with Preempt while a create
// runs fails the create ("Preempted by stop."), ends its attempt's context,
// and is then run itself; a second stop still conflicts.
func TestStopPreemptsLiveCreate(t *testing.T) {
	t.Parallel()
	s, _ := mustOpen(t, store.Options{})
	ws, create := mustCreateOn(t, s, "stuck", "fake")
	createStarted, createEnded, stopRan := make(chan struct{}), make(chan struct{}), make(chan struct{})
	err := s.RunOperations(ctxT(t), func(ctx context.Context, opID string, attempt int) error {
		if opID != create.ID {
			close(stopRan)
			op, err := s.GetOperation(ctx, opID)
			if err != nil {
				return err
			}
			op.State = host.OpSucceeded
			return s.UpdateOperation(ctx, op)
		}
		close(createStarted)
		<-ctx.Done() // a Start that hangs until cancelled
		close(createEnded)
		return ctx.Err()
	})
	if err != nil {
		t.Fatalf("RunOperations: %v", err)
	}
	select {
	case <-createStarted:
	case <-time.After(30 * time.Second):
		t.Fatal("the create did not start")
	}
	stop := &host.Operation{WorkspaceID: ws.ID, Verb: host.VerbStop}
	if _, err := s.EnqueueOperationWith(ctxT(t), stop, store.EnqueueOptions{Preempt: true}); err != nil {
		t.Fatalf("stop with Preempt while a create runs: %v", err)
	}
	got, err := s.GetOperation(ctxT(t), create.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != host.OpFailed || got.ErrorMessage != "Preempted by stop." || got.FinishedAt == nil {
		t.Errorf("preempted create = %+v", got)
	}
	select {
	case <-createEnded:
	case <-time.After(15 * time.Second):
		t.Fatal("the preempted create's context did not end")
	}
	select {
	case <-stopRan:
	case <-time.After(15 * time.Second):
		t.Fatal("the stop did not run")
	}
	// A final operation is never changed again, not by its own late attempt.
	got.State, got.Step = host.OpRunning, "late step"
	if err := s.UpdateOperation(ctxT(t), got); !sdk.IsKind(err, sdk.KindConflict) {
		t.Errorf("updating the preempted operation: %v, want a conflict", err)
	}
	waitFor(t, 15*time.Second, "the stop to finish", func() bool {
		op, err := s.GetOperation(ctxT(t), stop.ID)
		return err == nil && op.State.Final()
	})
	// A live stop is never preempted.
	mustTransition(t, s, ws.ID, host.StatusStopped)
	_ = s.StopOperations(ctxT(t))
	second := &host.Operation{WorkspaceID: ws.ID, Verb: host.VerbStop}
	if _, err := s.EnqueueOperationWith(ctxT(t), second, store.EnqueueOptions{Preempt: true}); err != nil {
		t.Fatalf("second stop: %v", err)
	}
	_, err = s.EnqueueOperationWith(ctxT(t), &host.Operation{WorkspaceID: ws.ID, Verb: host.VerbDelete}, store.EnqueueOptions{Preempt: true})
	wantKind(t, err, sdk.KindConflict)
}

// TestEnqueueWithStatus: the status change is made in the enqueueing
// transaction and the workspace returned as it then is; when the enqueue
// conflicts, the status is left as it was.
func TestEnqueueWithStatus(t *testing.T) {
	t.Parallel()
	s, _ := mustOpen(t, store.Options{})
	ws, create := mustCreateOn(t, s, "restarted", "fake")
	mustTransition(t, s, ws.ID, host.StatusOnline)
	deadline := time.Now().Add(time.Minute)
	ch := &host.StatusChange{To: host.StatusProvisioning, Reason: "restart requested", ProvisionDeadline: &deadline, ClearBoot: true}
	_, err := s.EnqueueOperationWith(ctxT(t), &host.Operation{WorkspaceID: ws.ID, Verb: host.VerbRestart}, store.EnqueueOptions{Status: ch})
	wantKind(t, err, sdk.KindConflict) // the create is live
	if got, _ := s.GetWorkspace(ctxT(t), ws.ID); got.Status != host.StatusOnline {
		t.Errorf("status after a refused enqueue = %s, want online", got.Status)
	}
	mustFinish(t, s, create)
	got, err := s.EnqueueOperationWith(ctxT(t), &host.Operation{WorkspaceID: ws.ID, Verb: host.VerbRestart}, store.EnqueueOptions{Status: ch})
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	if got.Status != host.StatusProvisioning || got.ProvisionDeadline == nil || !got.ProvisionDeadline.Equal(deadline.Truncate(time.Microsecond)) {
		t.Errorf("workspace after restart enqueued = %s, deadline %v (want %v)", got.Status, got.ProvisionDeadline, deadline)
	}
}

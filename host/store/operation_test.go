package store_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/store"
	"github.com/molecule-ai/molecule-host/sdk"
)

func TestOneLiveOperationPerWorkspace(t *testing.T) {
	t.Parallel()
	s, _ := mustOpen(t, store.Options{})
	ctx := ctxT(t)
	ws, create := mustCreate(t, s, "ops")
	err := s.EnqueueOperation(ctx, &host.Operation{WorkspaceID: ws.ID, Verb: host.VerbStop})
	wantKind(t, err, sdk.KindConflict)
	if !strings.Contains(err.Error(), create.ID) {
		t.Errorf("conflict %q does not name the operation in flight %s", err, create.ID)
	}

	create.State, create.Step, create.Attempts = host.OpRunning, "starting", 1
	if err := s.UpdateOperation(ctx, create); err != nil {
		t.Fatalf("UpdateOperation running: %v", err)
	}
	wantKind(t, s.EnqueueOperation(ctx, &host.Operation{WorkspaceID: ws.ID, Verb: host.VerbStop}), sdk.KindConflict)

	create.State, create.ErrorKind, create.ErrorMessage = host.OpFailed, "transient", "backend down"
	if err := s.UpdateOperation(ctx, create); err != nil {
		t.Fatalf("UpdateOperation failed: %v", err)
	}
	if create.FinishedAt == nil {
		t.Error("finished_at not set when the operation became final")
	}
	stop := &host.Operation{WorkspaceID: ws.ID, Verb: host.VerbStop}
	if err := s.EnqueueOperation(ctx, stop); err != nil {
		t.Fatalf("EnqueueOperation after the first finished: %v", err)
	}
	ops, err := s.ListOperations(ctx, ws.ID)
	if err != nil {
		t.Fatalf("ListOperations: %v", err)
	}
	if len(ops) != 2 || ops[0].ID != create.ID || ops[1].ID != stop.ID {
		t.Fatalf("operations = %+v, want create then stop", ops)
	}
	if ops[0].State != host.OpFailed || ops[0].ErrorKind != "transient" || ops[0].Attempts != 1 || ops[0].Step != "starting" {
		t.Errorf("stored create op = %+v", ops[0])
	}
	bad := &host.Operation{ID: create.ID, State: "exploded"}
	wantKind(t, s.UpdateOperation(ctx, bad), sdk.KindInvalid)
}

func TestAgentTokens(t *testing.T) {
	t.Parallel()
	s, _ := mustOpen(t, store.Options{})
	ctx := ctxT(t)
	ws, _ := mustCreate(t, s, "tok")
	other, _ := mustCreate(t, s, "tok2")
	old, cur := []byte("digest-old-000000000000000000000"), []byte("digest-new-000000000000000000000")
	if err := s.SetAgentToken(ctx, ws.ID, old); err != nil {
		t.Fatalf("SetAgentToken: %v", err)
	}
	if id, err := s.WorkspaceByToken(ctx, old); err != nil || id != ws.ID {
		t.Fatalf("WorkspaceByToken(old) = %q, %v; want %s", id, err, ws.ID)
	}
	if err := s.SetAgentToken(ctx, ws.ID, cur); err != nil {
		t.Fatalf("SetAgentToken (replace): %v", err)
	}
	_, err := s.WorkspaceByToken(ctx, old)
	wantKind(t, err, sdk.KindNotFound)
	if id, err := s.WorkspaceByToken(ctx, cur); err != nil || id != ws.ID {
		t.Fatalf("WorkspaceByToken(new) = %q, %v", id, err)
	}
	wantKind(t, s.SetAgentToken(ctx, other.ID, cur), sdk.KindConflict)
	wantKind(t, s.SetAgentToken(ctx, ws.ID, nil), sdk.KindInvalid)
	mustTransition(t, s, ws.ID, host.StatusRemoved)
	_, err = s.WorkspaceByToken(ctx, cur)
	wantKind(t, err, sdk.KindNotFound)
}

func TestConcurrentEnqueueAdmitsOne(t *testing.T) {
	t.Parallel()
	s, _ := mustOpen(t, store.Options{})
	ws, create := mustCreate(t, s, "race")
	mustFinish(t, s, create)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.EnqueueOperation(ctxT(t), &host.Operation{WorkspaceID: ws.ID, Verb: host.VerbRestart})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !sdk.IsKind(err, sdk.KindConflict):
			t.Errorf("losing enqueue error = %v, want conflict", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d concurrent enqueues succeeded, want exactly 1", ok)
	}
}

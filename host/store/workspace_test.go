package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/store"
	"github.com/molecule-ai/molecule-host/sdk"
)

func TestCreateWorkspaceIsAtomic(t *testing.T) {
	t.Parallel()
	s, dsn := mustOpen(t, store.Options{})
	ws, op := mustCreate(t, s, "alpha")
	if ws.ID == "" || op.ID == "" || ws.Status != host.StatusProvisioning || ws.CreatedAt.IsZero() {
		t.Fatalf("created workspace %+v, op %+v: want ids, provisioning and timestamps", ws, op)
	}
	got, err := s.GetOperation(ctxT(t), op.ID)
	if err != nil {
		t.Fatalf("GetOperation: %v", err)
	}
	if got.State != host.OpQueued || got.WorkspaceID != ws.ID || got.Verb != host.VerbCreate {
		t.Errorf("operation = %+v, want queued create of %s", got, ws.ID)
	}
	if n := count(t, dsn, `SELECT count(*) FROM river_job WHERE kind = 'operation' AND args->>'operation_id' = $1`, op.ID); n != 1 {
		t.Errorf("jobs for the operation = %d, want 1", n)
	}
	if n := count(t, dsn, `SELECT count(*) FROM events WHERE type = 'workspace.created' AND workspace_id = $1`, ws.ID); n != 1 {
		t.Errorf("workspace.created events = %d, want 1", n)
	}

	// A failing create (duplicate live name) leaves no operation, job or event.
	dup := &host.Workspace{Name: "alpha", Backend: "fake", Runtime: "default", Tier: 2}
	err = s.CreateWorkspace(ctxT(t), dup, &host.Operation{})
	wantKind(t, err, sdk.KindConflict)
	for table, want := range map[string]int{"workspaces": 1, "operations": 1, "river_job": 1, "events": 1} {
		if n := count(t, dsn, `SELECT count(*) FROM `+table); n != want {
			t.Errorf("%s rows after a refused create = %d, want %d", table, n, want)
		}
	}
}

func TestWorkspaceNameReusableAfterRemoval(t *testing.T) {
	t.Parallel()
	s, _ := mustOpen(t, store.Options{})
	ws, _ := mustCreate(t, s, "reuse")
	err := s.CreateWorkspace(ctxT(t), &host.Workspace{Name: "reuse", Backend: "fake"}, &host.Operation{})
	wantKind(t, err, sdk.KindConflict)
	mustTransition(t, s, ws.ID, host.StatusRemoved)
	again, _ := mustCreate(t, s, "reuse")
	if again.ID == ws.ID {
		t.Fatal("the new workspace reuses the removed one's id")
	}
}

func TestGetUpdateAndList(t *testing.T) {
	t.Parallel()
	s, _ := mustOpen(t, store.Options{})
	a, _ := mustCreate(t, s, "a")
	b, _ := mustCreate(t, s, "b")
	c, _ := mustCreate(t, s, "c")
	ctx := ctxT(t)
	if err := s.UpdateConfig(ctx, a.ID, map[string]string{"new.yaml": "y"}, "h2"); err != nil {
		t.Fatalf("UpdateConfig: %v", err)
	}
	if err := s.SaveBackendState(ctx, a.ID, []byte{0, 1, 2}, 7, "10.0.0.1"); err != nil {
		t.Fatalf("SaveBackendState: %v", err)
	}
	got, err := s.GetWorkspace(ctx, a.ID)
	if err != nil {
		t.Fatalf("GetWorkspace: %v", err)
	}
	if diff := cmp.Diff(map[string]string{"new.yaml": "y"}, got.Config); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if got.ConfigHash != "h2" || got.BackendStateVersion != 7 || string(got.BackendState) != "\x00\x01\x02" || got.Address != "10.0.0.1" {
		t.Errorf("workspace after updates = %+v", got)
	}
	mustTransition(t, s, b.ID, host.StatusStopped)
	mustTransition(t, s, c.ID, host.StatusRemoved)

	tests := map[string]struct {
		f    store.ListFilter
		want []string
	}{
		"default hides removed": {store.ListFilter{}, []string{a.ID, b.ID}},
		"include removed":       {store.ListFilter{IncludeRemoved: true}, []string{a.ID, b.ID, c.ID}},
		"by status":             {store.ListFilter{Statuses: []host.Status{host.StatusStopped}}, []string{b.ID}},
		"removed by status":     {store.ListFilter{Statuses: []host.Status{host.StatusRemoved}}, []string{c.ID}},
		"by backend":            {store.ListFilter{Backend: "other"}, nil},
		"limit":                 {store.ListFilter{Limit: 1}, []string{a.ID}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			list, err := s.ListWorkspaces(ctxT(t), tc.f)
			if err != nil {
				t.Fatalf("ListWorkspaces: %v", err)
			}
			var ids []string
			for _, ws := range list {
				ids = append(ids, ws.ID)
			}
			if diff := cmp.Diff(tc.want, ids); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
	_, err = s.ListWorkspaces(ctx, store.ListFilter{Statuses: []host.Status{"bogus"}})
	wantKind(t, err, sdk.KindInvalid)
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	s, _ := mustOpen(t, store.Options{})
	ctx := ctxT(t)
	missing := "6f1c1f4e-0000-4000-8000-000000000000"
	_, err1 := s.GetWorkspace(ctx, missing)
	_, err2 := s.GetWorkspace(ctx, "not-a-uuid")
	_, err3 := s.GetOperation(ctx, missing)
	_, err4 := s.Transition(ctx, missing, host.StatusChange{To: host.StatusOnline})
	err5 := s.UpdateConfig(ctx, missing, nil, "")
	err6 := s.EnqueueOperation(ctx, &host.Operation{WorkspaceID: missing, Verb: host.VerbStart})
	err7 := s.RecordHeartbeat(ctx, missing, store.Heartbeat{})
	for i, err := range []error{err1, err2, err3, err4, err5, err6, err7} {
		if !errors.Is(err, store.ErrNotFound) || !sdk.IsKind(err, sdk.KindNotFound) {
			t.Errorf("call %d: error = %v, want ErrNotFound of kind not_found", i+1, err)
		}
	}
}

func TestEvents(t *testing.T) {
	t.Parallel()
	s, _ := mustOpen(t, store.Options{})
	ws, _ := mustCreate(t, s, "ev")
	ctx := ctxT(t)
	if err := s.AppendEvent(ctx, ws.ID, "custom", map[string]int{"n": 1}); err != nil {
		t.Fatalf("AppendEvent: %v", err)
	}
	mustTransition(t, s, ws.ID, host.StatusOnline)
	evs, err := s.ListEvents(ctx, ws.ID, 10)
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
	}
	if diff := cmp.Diff([]string{"status.changed", "custom", "workspace.created"}, types); diff != "" {
		t.Errorf("event types newest first (-want +got):\n%s", diff)
	}
	if string(evs[0].Payload) != `{"to": "online", "from": "provisioning", "reason": "test"}` {
		t.Errorf("status.changed payload = %s", evs[0].Payload)
	}
	if evs, _ := s.ListEvents(ctx, ws.ID, 1); len(evs) != 1 {
		t.Errorf("limit 1 returned %d events", len(evs))
	}
	err = s.AppendEvent(ctx, ws.ID, "bad", func() {})
	wantKind(t, err, sdk.KindInvalid)
}

func TestSweeps(t *testing.T) {
	t.Parallel()
	s, _ := mustOpen(t, store.Options{})
	ctx := ctxT(t)
	beating, _ := mustCreate(t, s, "beating")
	silent, _ := mustCreate(t, s, "silent")
	stopped, _ := mustCreate(t, s, "stopped")
	for _, ws := range []*host.Workspace{beating, silent} {
		mustTransition(t, s, ws.ID, host.StatusOnline)
	}
	mustTransition(t, s, stopped.ID, host.StatusStopped)
	if err := s.RecordHeartbeat(ctx, beating.ID, store.Heartbeat{UptimeSeconds: 5, ActiveTasks: 1}); err != nil {
		t.Fatalf("RecordHeartbeat: %v", err)
	}
	expired, err := s.ListHeartbeatExpired(ctx, time.Hour)
	if err != nil {
		t.Fatalf("ListHeartbeatExpired: %v", err)
	}
	if diff := cmp.Diff([]string{silent.ID}, expired); diff != "" {
		t.Errorf("expired with ttl 1h (-want +got):\n%s", diff)
	}
	waitFor(t, 10*time.Second, "the heartbeat to age past 50ms", func() bool {
		ids, err := s.ListHeartbeatExpired(ctx, 50*time.Millisecond)
		return err == nil && len(ids) == 2
	})

	past, future := time.Now().Add(-time.Minute), time.Now().Add(time.Hour)
	late := &host.Workspace{Name: "late", Backend: "fake", ProvisionDeadline: &past}
	onTime := &host.Workspace{Name: "ontime", Backend: "fake", ProvisionDeadline: &future}
	for _, ws := range []*host.Workspace{late, onTime} {
		if err := s.CreateWorkspace(ctx, ws, &host.Operation{}); err != nil {
			t.Fatalf("CreateWorkspace: %v", err)
		}
	}
	got, err := s.ListProvisionExpired(ctx)
	if err != nil {
		t.Fatalf("ListProvisionExpired: %v", err)
	}
	if diff := cmp.Diff([]string{late.ID}, got); diff != "" {
		t.Errorf("provision expired (-want +got):\n%s", diff)
	}
	mustTransition(t, s, late.ID, host.StatusFailed)
	if got, _ := s.ListProvisionExpired(ctx); len(got) != 0 {
		t.Errorf("a failed workspace is still provision-expired: %v", got)
	}
}

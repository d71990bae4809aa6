package store_test

import (
	"strconv"
	"testing"

	"github.com/molecule-ai/molecule-host/host/store"
)

// TestEventsBoundedPerWorkspace attacks the event log with more events than
// a workspace may keep: the oldest go, the newest stay, and another
// workspace's log is untouched.
func TestEventsBoundedPerWorkspace(t *testing.T) {
	t.Parallel()
	s, dsn := mustOpen(t, store.Options{})
	noisy, _ := mustCreate(t, s, "noisy")
	quiet, _ := mustCreate(t, s, "quiet")
	ctx := ctxT(t)
	const extra = 20
	for i := range store.MaxEventsPerWorkspace + extra {
		if err := s.AppendEvent(ctx, noisy.ID, "flood", map[string]int{"n": i}); err != nil {
			t.Fatalf("AppendEvent %d: %v", i, err)
		}
	}
	const q = `SELECT count(*) FROM events WHERE workspace_id = $1`
	if n := count(t, dsn, q, noisy.ID); n != store.MaxEventsPerWorkspace {
		t.Errorf("noisy workspace keeps %d events, want %d", n, store.MaxEventsPerWorkspace)
	}
	if n := count(t, dsn, q, quiet.ID); n != 1 {
		t.Errorf("quiet workspace has %d events, want its workspace.created only", n)
	}
	last := store.MaxEventsPerWorkspace + extra - 1
	if n := count(t, dsn, q+` AND payload->>'n' = $2`, noisy.ID, strconv.Itoa(last)); n != 1 {
		t.Errorf("the newest event (n=%d) is gone", last)
	}
	if n := count(t, dsn, q+` AND type = 'workspace.created'`, noisy.ID); n != 0 {
		t.Errorf("the oldest event (workspace.created) was kept")
	}
}

package store_test

import (
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/store"
)

// TestFailAbandonedOperations: an operation whose job still exists is
// left alone; once its job is gone (River discarded it), the sweep fails
// it with a message, once.
func TestFailAbandonedOperations(t *testing.T) {
	t.Parallel()
	s, dsn := mustOpen(t, store.Options{})
	ctx := ctxT(t)
	_, op := mustCreate(t, s, "abandoned")

	ids, err := s.FailAbandonedOperations(ctx, 0)
	if err != nil || len(ids) != 0 {
		t.Fatalf("with its job queued: failed %v, %v; want none", ids, err)
	}

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tag, err := conn.Exec(ctx, `DELETE FROM river_job WHERE args->>'operation_id' = $1`, op.ID)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("deleting the job: %v rows, %v", tag.RowsAffected(), err)
	}
	if ids, err := s.FailAbandonedOperations(ctx, 3600e9); err != nil || len(ids) != 0 {
		t.Fatalf("younger than minAge: failed %v, %v; want none", ids, err)
	}
	ids, err = s.FailAbandonedOperations(ctx, 0)
	if err != nil || len(ids) != 1 || ids[0] != op.ID {
		t.Fatalf("without its job: failed %v, %v; want [%s]", ids, err, op.ID)
	}
	got, err := s.GetOperation(ctx, op.ID)
	if err != nil || got.State != host.OpFailed || got.ErrorMessage == "" || got.FinishedAt == nil {
		t.Fatalf("operation after the sweep: %+v, %v", got, err)
	}
	if ids, _ := s.FailAbandonedOperations(ctx, 0); len(ids) != 0 {
		t.Errorf("second sweep failed %v again", ids)
	}
}

package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/sdk"
)

const operationColumns = `id, workspace_id, verb, state, step, error_kind, error_message,
	attempts, created_at, updated_at, finished_at`

// EnqueueOperation inserts op (state queued) and the job that runs it in
// one transaction, filling op.ID when empty and the timestamps. Errors:
// KindConflict naming the other operation when the workspace already has
// one that is not final; KindNotFound when the workspace does not exist.
func (s *Store) EnqueueOperation(ctx context.Context, op *host.Operation) error {
	const name = "store.enqueue_operation"
	if _, err := uuid.Parse(op.WorkspaceID); err != nil {
		return notFound(name, "workspace %q does not exist", op.WorkspaceID)
	}
	return s.inTx(ctx, name, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM workspaces WHERE id = $1)`,
			op.WorkspaceID).Scan(&exists); err != nil {
			return dbError(name, err)
		}
		if !exists {
			return notFound(name, "workspace %s does not exist", op.WorkspaceID)
		}
		return s.insertOperation(ctx, tx, op)
	})
}

// insertOperation inserts op and its River job in tx.
func (s *Store) insertOperation(ctx context.Context, tx pgx.Tx, op *host.Operation) error {
	const name = "store.enqueue_operation"
	if op.ID == "" {
		op.ID = uuid.NewString()
	}
	var live string
	err := tx.QueryRow(ctx, `SELECT id FROM operations
		WHERE workspace_id = $1 AND state IN ('queued', 'running') LIMIT 1`, op.WorkspaceID).Scan(&live)
	if err == nil {
		return liveOpConflict(op.WorkspaceID, live)
	}
	if err != pgx.ErrNoRows {
		return dbError(name, err)
	}
	op.State, op.Attempts, op.FinishedAt = host.OpQueued, 0, nil
	err = tx.QueryRow(ctx, `INSERT INTO operations (id, workspace_id, verb, state, step)
		VALUES ($1, $2, $3, 'queued', $4) RETURNING created_at, updated_at`,
		op.ID, op.WorkspaceID, string(op.Verb), op.Step).Scan(&op.CreatedAt, &op.UpdatedAt)
	if code, constraint := pgCode(err); code == "23505" && constraint == "operations_one_live_key" {
		return liveOpConflict(op.WorkspaceID, "")
	} else if code == "23514" {
		return sdk.Invalid(name, "unknown verb", sdk.FieldError{Path: "verb", Message: string(op.Verb)})
	}
	if err != nil {
		return dbError(name, err)
	}
	if _, err := s.insert.InsertTx(ctx, tx, operationArgs{OperationID: op.ID}, &river.InsertOpts{
		MaxAttempts: s.opts.MaxAttempts,
	}); err != nil {
		return internal(name, err)
	}
	return nil
}

func liveOpConflict(workspaceID, opID string) error {
	if opID == "" {
		return sdk.Errorf(sdk.KindConflict, "store.enqueue_operation",
			"workspace %s already has an operation in flight", workspaceID)
	}
	return sdk.Errorf(sdk.KindConflict, "store.enqueue_operation",
		"workspace %s already has operation %s in flight", workspaceID, opID)
}

// GetOperation returns one operation. Errors: KindNotFound (ErrNotFound).
func (s *Store) GetOperation(ctx context.Context, id string) (*host.Operation, error) {
	const name = "store.get_operation"
	if _, err := uuid.Parse(id); err != nil {
		return nil, notFound(name, "operation %q does not exist", id)
	}
	op, err := scanOperation(s.pool.QueryRow(ctx, `SELECT `+operationColumns+` FROM operations WHERE id = $1`, id))
	if err == pgx.ErrNoRows {
		return nil, notFound(name, "operation %s does not exist", id)
	}
	if err != nil {
		return nil, dbError(name, err)
	}
	return op, nil
}

// UpdateOperation writes op's state, step, error, attempts and finished_at
// (set to now when op becomes final without one), and refreshes
// op.UpdatedAt and op.FinishedAt. Errors: KindNotFound; KindInvalid for an
// unknown state.
func (s *Store) UpdateOperation(ctx context.Context, op *host.Operation) error {
	const name = "store.update_operation"
	if _, err := uuid.Parse(op.ID); err != nil {
		return notFound(name, "operation %q does not exist", op.ID)
	}
	err := s.pool.QueryRow(ctx, `UPDATE operations SET state = $2, step = $3, error_kind = $4,
		error_message = $5, attempts = $6, updated_at = now(),
		finished_at = COALESCE($7, CASE WHEN $2 IN ('succeeded', 'failed') THEN now() END)
		WHERE id = $1 RETURNING updated_at, finished_at`,
		op.ID, string(op.State), op.Step, op.ErrorKind, op.ErrorMessage, op.Attempts, op.FinishedAt,
	).Scan(&op.UpdatedAt, &op.FinishedAt)
	if err == pgx.ErrNoRows {
		return notFound(name, "operation %s does not exist", op.ID)
	}
	if code, _ := pgCode(err); code == "23514" {
		return sdk.Invalid(name, "unknown operation state", sdk.FieldError{Path: "state", Message: string(op.State)})
	}
	return dbError(name, err)
}

// ListOperations returns a workspace's operations, oldest first.
func (s *Store) ListOperations(ctx context.Context, workspaceID string) ([]*host.Operation, error) {
	const name = "store.list_operations"
	if _, err := uuid.Parse(workspaceID); err != nil {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+operationColumns+` FROM operations
		WHERE workspace_id = $1 ORDER BY created_at, id`, workspaceID)
	if err != nil {
		return nil, dbError(name, err)
	}
	defer rows.Close()
	var out []*host.Operation
	for rows.Next() {
		op, err := scanOperation(rows)
		if err != nil {
			return nil, dbError(name, err)
		}
		out = append(out, op)
	}
	return out, dbError(name, rows.Err())
}

func scanOperation(row pgx.Row) (*host.Operation, error) {
	var op host.Operation
	var finished *time.Time
	err := row.Scan(&op.ID, &op.WorkspaceID, &op.Verb, &op.State, &op.Step, &op.ErrorKind,
		&op.ErrorMessage, &op.Attempts, &op.CreatedAt, &op.UpdatedAt, &finished)
	if err != nil {
		return nil, err
	}
	op.FinishedAt = finished
	return &op, nil
}

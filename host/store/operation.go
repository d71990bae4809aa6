package store

import (
	"context"
	"fmt"
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
	_, err := s.EnqueueOperationWith(ctx, op, EnqueueOptions{})
	return err
}

// EnqueueOptions are what EnqueueOperationWith does in the transaction that
// enqueues the operation.
type EnqueueOptions struct {
	// Status, when set, is applied as by Transition (same checks, same
	// event), so a caller can show the status the operation moves the
	// workspace to and no waiter sees the state from before the request.
	Status *host.StatusChange
	// RevokeToken deletes the workspace's agent token, so the agent of the
	// old boot can no longer report anything.
	RevokeToken bool
	// Preempt lets the operation take over from a live create, start or
	// restart: that operation is marked failed ("Preempted by <verb>.")
	// and its job cancelled, which ends the running attempt's context. A
	// live stop or delete still conflicts.
	Preempt bool
}

// EnqueueOperationWith is EnqueueOperation plus opts, all in one
// transaction; nothing is written when it returns an error. It returns the
// workspace as it is after the transaction. Errors: those of
// EnqueueOperation, and those of Transition for opts.Status.
func (s *Store) EnqueueOperationWith(ctx context.Context, op *host.Operation, opts EnqueueOptions) (*host.Workspace, error) {
	const name = "store.enqueue_operation"
	if _, err := uuid.Parse(op.WorkspaceID); err != nil {
		return nil, notFound(name, "workspace %q does not exist", op.WorkspaceID)
	}
	var ws *host.Workspace
	err := s.inTx(ctx, name, func(tx pgx.Tx) error {
		var backend string
		err := tx.QueryRow(ctx, `SELECT backend FROM workspaces WHERE id = $1 FOR UPDATE`,
			op.WorkspaceID).Scan(&backend)
		if err == pgx.ErrNoRows {
			return notFound(name, "workspace %s does not exist", op.WorkspaceID)
		}
		if err != nil {
			return dbError(name, err)
		}
		if opts.Preempt {
			if err := s.preempt(ctx, tx, op); err != nil {
				return err
			}
		}
		if err := s.insertOperation(ctx, tx, op, backend); err != nil {
			return err
		}
		if opts.RevokeToken {
			if _, err := tx.Exec(ctx, `DELETE FROM agent_tokens WHERE workspace_id = $1`, op.WorkspaceID); err != nil {
				return dbError(name, err)
			}
		}
		if opts.Status != nil {
			if _, err := s.transitionTx(ctx, tx, op.WorkspaceID, *opts.Status); err != nil {
				return err
			}
		}
		ws, err = scanWorkspace(tx.QueryRow(ctx, `SELECT `+workspaceColumns+` FROM workspaces WHERE id = $1`, op.WorkspaceID))
		return dbError(name, err)
	})
	if err != nil {
		return nil, err
	}
	if opts.Status != nil {
		s.watch.notify(op.WorkspaceID)
	}
	return ws, nil
}

// preempt fails the workspace's live create, start or restart operation in
// tx, on behalf of op, and cancels its job.
func (s *Store) preempt(ctx context.Context, tx pgx.Tx, op *host.Operation) error {
	const name = "store.enqueue_operation"
	var liveID string
	err := tx.QueryRow(ctx, `UPDATE operations SET state = 'failed', error_kind = 'conflict',
		error_message = $2, updated_at = now(), finished_at = now()
		WHERE workspace_id = $1 AND state IN ('queued', 'running') AND verb IN ('create', 'start', 'restart')
		RETURNING id`, op.WorkspaceID, "Preempted by "+string(op.Verb)+".").Scan(&liveID)
	if err == pgx.ErrNoRows {
		return nil
	}
	if err != nil {
		return dbError(name, err)
	}
	rows, err := tx.Query(ctx, `SELECT id FROM river_job WHERE kind = $1 AND args->>'operation_id' = $2
		AND state NOT IN ('cancelled', 'completed', 'discarded')`, operationArgs{}.Kind(), liveID)
	if err != nil {
		return dbError(name, err)
	}
	jobs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return dbError(name, err)
	}
	for _, id := range jobs {
		if _, err := s.insert.JobCancelTx(ctx, tx, id); err != nil {
			return dbError(name, err)
		}
	}
	s.log.Info("operation preempted", "operation", liveID, "by", op.Verb, "workspace", op.WorkspaceID)
	return nil
}

// insertOperation inserts op and its River job, in the queue of the
// workspace's backend, in tx.
func (s *Store) insertOperation(ctx context.Context, tx pgx.Tx, op *host.Operation, backend string) error {
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
	queue := queueFor(backend)
	if _, err := s.insert.InsertTx(ctx, tx, operationArgs{OperationID: op.ID}, &river.InsertOpts{
		MaxAttempts: s.opts.MaxAttempts, Queue: queue,
	}); err != nil {
		return dbError(name, err)
	}
	s.addQueue(queue)
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
// op.UpdatedAt and op.FinishedAt. A final operation is never changed again.
// Errors: KindNotFound; KindConflict wrapping ErrFinal when the operation
// is already final (it was preempted, or failed after its last attempt);
// KindInvalid for an unknown state.
func (s *Store) UpdateOperation(ctx context.Context, op *host.Operation) error {
	const name = "store.update_operation"
	if _, err := uuid.Parse(op.ID); err != nil {
		return notFound(name, "operation %q does not exist", op.ID)
	}
	switch op.State {
	case host.OpQueued, host.OpRunning, host.OpSucceeded, host.OpFailed:
	default:
		return sdk.Invalid(name, "unknown operation state", sdk.FieldError{Path: "state", Message: string(op.State)})
	}
	err := s.pool.QueryRow(ctx, `UPDATE operations SET state = $2, step = $3, error_kind = $4,
		error_message = $5, attempts = $6, updated_at = now(),
		finished_at = COALESCE($7, CASE WHEN $2 IN ('succeeded', 'failed') THEN now() END)
		WHERE id = $1 AND state IN ('queued', 'running') RETURNING updated_at, finished_at`,
		op.ID, string(op.State), op.Step, op.ErrorKind, op.ErrorMessage, op.Attempts, op.FinishedAt,
	).Scan(&op.UpdatedAt, &op.FinishedAt)
	if err == pgx.ErrNoRows {
		cur, gerr := s.GetOperation(ctx, op.ID)
		if gerr != nil {
			return gerr
		}
		return &sdk.Error{Kind: sdk.KindConflict, Op: name, Err: ErrFinal,
			Message: fmt.Sprintf("operation %s is %s already", op.ID, cur.State)}
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

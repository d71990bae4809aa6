package store

import (
	"context"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/sdk"
)

// Transition is the one writer of a workspace's status. In one transaction
// it locks the row, checks ch.From (when set) and the transition table,
// writes the status, its reason and the fields ch carries, and records a
// "status.changed" event. It returns the status the workspace had.
//
// Errors: KindNotFound (ErrNotFound); KindConflict wrapping ErrStale when
// the current status is not in ch.From (nothing is written); KindConflict
// wrapping *host.TransitionError when the table refuses the change.
func (s *Store) Transition(ctx context.Context, id string, ch host.StatusChange) (host.Status, error) {
	const name = "store.transition"
	if !ch.To.Valid() {
		return "", sdk.Invalid(name, "unknown status", sdk.FieldError{Path: "status", Message: string(ch.To)})
	}
	if _, err := uuid.Parse(id); err != nil {
		return "", notFound(name, "workspace %q does not exist", id)
	}
	var from host.Status
	err := s.inTx(ctx, name, func(tx pgx.Tx) error {
		var err error
		from, err = s.transitionTx(ctx, tx, id, ch)
		return err
	})
	if err != nil {
		return "", err
	}
	s.watch.notify(id)
	return from, nil
}

// transitionTx is Transition's work in tx; the caller notifies the
// watchers after the commit.
func (s *Store) transitionTx(ctx context.Context, tx pgx.Tx, id string, ch host.StatusChange) (host.Status, error) {
	const name = "store.transition"
	if !ch.To.Valid() {
		return "", sdk.Invalid(name, "unknown status", sdk.FieldError{Path: "status", Message: string(ch.To)})
	}
	var from host.Status
	err := tx.QueryRow(ctx, `SELECT status FROM workspaces WHERE id = $1 FOR UPDATE`, id).Scan(&from)
	if err == pgx.ErrNoRows {
		return "", notFound(name, "workspace %s does not exist", id)
	}
	if err != nil {
		return "", dbError(name, err)
	}
	if len(ch.From) > 0 && !slices.Contains(ch.From, from) {
		return "", &sdk.Error{Kind: sdk.KindConflict, Op: name, Err: ErrStale,
			Message: "workspace " + id + " is " + string(from) + " now; the change to " + string(ch.To) + " no longer applies"}
	}
	if err := host.CheckTransition(from, ch.To); err != nil {
		return "", &sdk.Error{Kind: sdk.KindConflict, Op: name, Message: err.Error(), Err: err}
	}
	_, err = tx.Exec(ctx, `UPDATE workspaces SET
		status = $2, status_reason = $3, updated_at = now(),
		provision_deadline = CASE WHEN $2 = 'provisioning' THEN COALESCE($4, provision_deadline) END,
		registered_at = CASE WHEN $5 THEN NULL ELSE registered_at END,
		config_applied_hash = CASE WHEN $5 THEN '' ELSE config_applied_hash END,
		url = CASE WHEN $5 THEN '' ELSE url END
		WHERE id = $1`, id, string(ch.To), ch.Reason, ch.ProvisionDeadline, ch.ClearBoot)
	if err != nil {
		return "", dbError(name, err)
	}
	return from, appendEvent(ctx, tx, id, "status.changed",
		map[string]string{"from": string(from), "to": string(ch.To), "reason": ch.Reason})
}

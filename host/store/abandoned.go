package store

import (
	"context"
	"time"
)

// abandonedMessage is what an abandoned operation shows its user.
const abandonedMessage = "The operation was abandoned: its job ended without finishing it " +
	"(the host stopped during every attempt). Run the verb again."

// FailAbandonedOperations fails the operations left queued or running
// whose job no longer exists or has ended: River discards a job that its
// rescuer finds stuck after the last attempt, and only this sweep then
// tells the user. Operations younger than minAge are left alone (their job
// is being inserted or picked up). It returns the ids it failed.
func (s *Store) FailAbandonedOperations(ctx context.Context, minAge time.Duration) ([]string, error) {
	// The state comparison is on text so that job states this River
	// version does not know cannot break the query.
	return s.ids(ctx, "store.fail_abandoned_operations", `
		UPDATE operations o
		SET state = 'failed', error_kind = 'internal', error_message = $2,
		    finished_at = now(), updated_at = now()
		WHERE o.state IN ('queued', 'running')
		  AND o.updated_at < now() - make_interval(secs => $1)
		  AND NOT EXISTS (
		    SELECT 1 FROM river_job j
		    WHERE j.args->>'operation_id' = o.id::text
		      AND j.state::text IN ('available', 'pending', 'retryable', 'running', 'scheduled'))
		RETURNING o.id::text`, minAge.Seconds(), abandonedMessage)
}

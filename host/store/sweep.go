package store

import (
	"context"
	"time"

	"github.com/molecule-ai/molecule-host/host"
)

// ListHeartbeatExpired returns the ids of online or degraded workspaces
// whose last heartbeat is older than ttl by the database's clock (or that
// never heartbeat), oldest first.
func (s *Store) ListHeartbeatExpired(ctx context.Context, ttl time.Duration) ([]string, error) {
	return s.ids(ctx, "store.list_heartbeat_expired", `SELECT id::text FROM workspaces
		WHERE status IN ('online', 'degraded')
		  AND (last_heartbeat_at IS NULL OR last_heartbeat_at < now() - $1::bigint * interval '1 microsecond')
		ORDER BY last_heartbeat_at NULLS FIRST, id`, ttl.Microseconds())
}

// ListProvisionExpired returns the ids of provisioning workspaces whose
// provision deadline has passed, by the database's clock.
func (s *Store) ListProvisionExpired(ctx context.Context) ([]string, error) {
	return s.ids(ctx, "store.list_provision_expired", `SELECT id::text FROM workspaces
		WHERE status = 'provisioning' AND provision_deadline < now()
		ORDER BY provision_deadline, id`)
}

func (s *Store) ids(ctx context.Context, name, sql string, args ...any) ([]string, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, dbError(name, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, dbError(name, err)
		}
		out = append(out, id)
	}
	return out, dbError(name, rows.Err())
}

// ListBackendChecked returns the workspaces the backend status sweep asks
// their backend about, oldest first: every online or degraded one, and
// every provisioning or stopped one with no queued or running operation
// (its start or stop has returned), so that a boot that failed on the
// substrate is noticed before the provision deadline and a stopped
// workspace that still runs is shown.
func (s *Store) ListBackendChecked(ctx context.Context) ([]*host.Workspace, error) {
	const name = "store.list_backend_checked"
	rows, err := s.pool.Query(ctx, `SELECT `+workspaceColumns+` FROM workspaces w
		WHERE status IN ('online', 'degraded')
		   OR (status IN ('provisioning', 'stopped') AND NOT EXISTS (
		       SELECT 1 FROM operations o WHERE o.workspace_id = w.id AND o.state IN ('queued', 'running')))
		ORDER BY created_at, id`)
	if err != nil {
		return nil, dbError(name, err)
	}
	return collectWorkspaces(name, rows)
}

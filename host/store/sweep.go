package store

import (
	"context"
	"time"
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

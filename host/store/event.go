package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/molecule-ai/molecule-host/sdk"
)

// Event is one entry of a workspace's event log.
type Event struct {
	ID          int64
	WorkspaceID string
	Type        string
	Payload     json.RawMessage
	CreatedAt   time.Time
}

// MaxEventsPerWorkspace bounds a workspace's event log: appending an event
// deletes the workspace's events older than its newest MaxEventsPerWorkspace,
// so an agent (or a flapping status) cannot grow the table without limit.
const MaxEventsPerWorkspace = 1000

// AppendEvent adds an event whose payload is payload marshalled as JSON,
// keeping the workspace's newest MaxEventsPerWorkspace events.
// Errors: KindInvalid when payload does not marshal; KindNotFound.
func (s *Store) AppendEvent(ctx context.Context, workspaceID, typ string, payload any) error {
	const name = "store.append_event"
	if _, err := uuid.Parse(workspaceID); err != nil {
		return notFound(name, "workspace %q does not exist", workspaceID)
	}
	return s.inTx(ctx, name, func(tx pgx.Tx) error {
		return appendEvent(ctx, tx, workspaceID, typ, payload)
	})
}

func appendEvent(ctx context.Context, tx pgx.Tx, workspaceID, typ string, payload any) error {
	const name = "store.append_event"
	data, err := json.Marshal(payload)
	if err != nil {
		return sdk.Wrap(sdk.KindInvalid, name, err, "the event payload is not JSON")
	}
	_, err = tx.Exec(ctx, `INSERT INTO events (workspace_id, type, payload) VALUES ($1, $2, $3::jsonb)`,
		workspaceID, typ, string(data))
	if code, _ := pgCode(err); code == "23503" {
		return notFound(name, "workspace %s does not exist", workspaceID)
	}
	if err != nil {
		return dbError(name, err)
	}
	// The row comparison walks events_workspace_idx: at most
	// MaxEventsPerWorkspace entries to find the cut, then the few older ones.
	_, err = tx.Exec(ctx, `DELETE FROM events WHERE workspace_id = $1 AND (created_at, id) <=
		(SELECT created_at, id FROM events WHERE workspace_id = $1
		 ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT 1)`, workspaceID, MaxEventsPerWorkspace)
	return dbError(name, err)
}

// ListEvents returns a workspace's newest events first, at most limit
// (default 100).
func (s *Store) ListEvents(ctx context.Context, workspaceID string, limit int) ([]Event, error) {
	const name = "store.list_events"
	if _, err := uuid.Parse(workspaceID); err != nil {
		return nil, nil
	}
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, `SELECT id, workspace_id::text, type, payload, created_at FROM events
		WHERE workspace_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`, workspaceID, limit)
	if err != nil {
		return nil, dbError(name, err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var payload []byte
		if err := rows.Scan(&e.ID, &e.WorkspaceID, &e.Type, &payload, &e.CreatedAt); err != nil {
			return nil, dbError(name, err)
		}
		e.Payload = payload
		out = append(out, e)
	}
	return out, dbError(name, rows.Err())
}

package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/sdk"
)

// ListFilter selects workspaces. Zero fields select everything except
// removed workspaces.
type ListFilter struct {
	Backend  string
	Statuses []host.Status
	// IncludeRemoved lists removed workspaces too (also implied when
	// Statuses names StatusRemoved).
	IncludeRemoved bool
	// Limit caps the result; 0 means no cap.
	Limit int
}

const workspaceColumns = `id, name, org_id, backend, runtime, tier, config, config_hash,
	status, status_reason, url, address, backend_state, backend_state_version,
	provision_deadline, last_heartbeat_at, registered_at, config_applied_hash,
	created_at, updated_at`

// CreateWorkspace inserts ws (status provisioning) with its first operation
// op (state queued, verb create unless set) and the job that will run it,
// plus a "workspace.created" event, in one transaction. It fills ws.ID and
// op.ID when empty, and the timestamps. Errors: KindConflict when a live
// workspace already has ws.Name; KindInvalid for a malformed id.
func (s *Store) CreateWorkspace(ctx context.Context, ws *host.Workspace, op *host.Operation) error {
	const name = "store.create_workspace"
	if ws.ID == "" {
		ws.ID = uuid.NewString()
	} else if _, err := uuid.Parse(ws.ID); err != nil {
		return sdk.Invalid(name, "the workspace id is not a uuid", sdk.FieldError{Path: "id", Message: err.Error()})
	}
	cfg, err := json.Marshal(nonNilConfig(ws.Config))
	if err != nil {
		return internal(name, err)
	}
	return s.inTx(ctx, name, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO workspaces
			(id, name, org_id, backend, runtime, tier, config, config_hash, url, address,
			 backend_state, backend_state_version, provision_deadline)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
			RETURNING status, status_reason, created_at, updated_at`,
			ws.ID, ws.Name, ws.OrgID, ws.Backend, ws.Runtime, ws.Tier, cfg, ws.ConfigHash,
			ws.URL, ws.Address, ws.BackendState, ws.BackendStateVersion, ws.ProvisionDeadline,
		).Scan(&ws.Status, &ws.StatusReason, &ws.CreatedAt, &ws.UpdatedAt)
		if code, constraint := pgCode(err); code == "23505" && constraint == "workspaces_live_name_key" {
			return sdk.Errorf(sdk.KindConflict, name, "a workspace named %q already exists", ws.Name)
		} else if code == "23505" {
			return sdk.Errorf(sdk.KindConflict, name, "a workspace with id %s already exists", ws.ID)
		}
		if err != nil {
			return dbError(name, err)
		}
		op.WorkspaceID = ws.ID
		if op.Verb == "" {
			op.Verb = host.VerbCreate
		}
		if err := s.insertOperation(ctx, tx, op, ws.Backend); err != nil {
			return err
		}
		return appendEvent(ctx, tx, ws.ID, "workspace.created",
			map[string]any{"name": ws.Name, "backend": ws.Backend, "operation_id": op.ID})
	})
}

// GetWorkspace returns the workspace with this id, removed or not. Errors:
// KindNotFound (ErrNotFound) when there is none.
func (s *Store) GetWorkspace(ctx context.Context, id string) (*host.Workspace, error) {
	const name = "store.get_workspace"
	if _, err := uuid.Parse(id); err != nil {
		return nil, notFound(name, "workspace %q does not exist", id)
	}
	row := s.pool.QueryRow(ctx, `SELECT `+workspaceColumns+` FROM workspaces WHERE id = $1`, id)
	ws, err := scanWorkspace(row)
	if err == pgx.ErrNoRows {
		return nil, notFound(name, "workspace %s does not exist", id)
	}
	if err != nil {
		return nil, dbError(name, err)
	}
	return ws, nil
}

// ListWorkspaces returns the workspaces f selects, oldest first (by
// created_at, then id).
func (s *Store) ListWorkspaces(ctx context.Context, f ListFilter) ([]*host.Workspace, error) {
	const name = "store.list_workspaces"
	statuses := make([]string, 0, len(f.Statuses))
	for _, st := range f.Statuses {
		if !st.Valid() {
			return nil, sdk.Invalid(name, "unknown status", sdk.FieldError{Path: "status", Message: string(st)})
		}
		statuses = append(statuses, string(st))
	}
	var limit *int
	if f.Limit > 0 {
		limit = &f.Limit
	}
	rows, err := s.pool.Query(ctx, `SELECT `+workspaceColumns+` FROM workspaces
		WHERE ($1 = '' OR backend = $1)
		  AND (cardinality($2::text[]) = 0 OR status = ANY($2))
		  AND ($3 OR cardinality($2::text[]) > 0 OR status <> 'removed')
		ORDER BY created_at, id
		LIMIT $4`, f.Backend, statuses, f.IncludeRemoved, limit)
	if err != nil {
		return nil, dbError(name, err)
	}
	return collectWorkspaces(name, rows)
}

// collectWorkspaces scans every row of a workspaceColumns query and closes
// rows.
func collectWorkspaces(name string, rows pgx.Rows) ([]*host.Workspace, error) {
	defer rows.Close()
	var out []*host.Workspace
	for rows.Next() {
		ws, err := scanWorkspace(rows)
		if err != nil {
			return nil, dbError(name, err)
		}
		out = append(out, ws)
	}
	return out, dbError(name, rows.Err())
}

// UpdateConfig replaces a workspace's config and its hash in the database
// only; the running workspace sees it at its next start or restart.
// Errors: KindNotFound.
func (s *Store) UpdateConfig(ctx context.Context, id string, config map[string]string, hash string) error {
	const name = "store.update_config"
	cfg, err := json.Marshal(nonNilConfig(config))
	if err != nil {
		return internal(name, err)
	}
	return s.execOne(ctx, name, id, `UPDATE workspaces SET config = $2, config_hash = $3, updated_at = now()
		WHERE id = $1`, id, cfg, hash)
}

// SaveBackendState stores the backend's opaque state for a workspace and
// the address the backend reports. Errors: KindNotFound.
func (s *Store) SaveBackendState(ctx context.Context, id string, data []byte, version int64, address string) error {
	return s.execOne(ctx, "store.save_backend_state", id, `UPDATE workspaces
		SET backend_state = $2, backend_state_version = $3, address = $4, updated_at = now()
		WHERE id = $1`, id, data, version, address)
}

// execOne runs an UPDATE of one workspace row; no row is KindNotFound.
func (s *Store) execOne(ctx context.Context, name, id, sql string, args ...any) error {
	if _, err := uuid.Parse(id); err != nil {
		return notFound(name, "workspace %q does not exist", id)
	}
	tag, err := s.pool.Exec(ctx, sql, args...)
	if err != nil {
		return dbError(name, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound(name, "workspace %s does not exist", id)
	}
	return nil
}

func scanWorkspace(row pgx.Row, extra ...any) (*host.Workspace, error) {
	var ws host.Workspace
	var cfg []byte
	var deadline, heartbeat, registered *time.Time
	err := row.Scan(append([]any{&ws.ID, &ws.Name, &ws.OrgID, &ws.Backend, &ws.Runtime, &ws.Tier, &cfg,
		&ws.ConfigHash, &ws.Status, &ws.StatusReason, &ws.URL, &ws.Address, &ws.BackendState,
		&ws.BackendStateVersion, &deadline, &heartbeat, &registered, &ws.ConfigAppliedHash,
		&ws.CreatedAt, &ws.UpdatedAt}, extra...)...)
	if err != nil {
		return nil, err
	}
	ws.ProvisionDeadline, ws.LastHeartbeatAt, ws.RegisteredAt = deadline, heartbeat, registered
	if err := json.Unmarshal(cfg, &ws.Config); err != nil {
		return nil, err
	}
	return &ws, nil
}

func nonNilConfig(c map[string]string) map[string]string {
	if c == nil {
		return map[string]string{}
	}
	return c
}

package store

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/molecule-ai/molecule-host/host"
)

// WorkspaceForA2A returns a workspace and the digest of its live agent
// token (nil when it has none: never started, stopped or removed), in one
// query: the A2A proxy's hot path, which derives the credential it presents
// to the agent from the digest (agentapi.A2ACredential). Errors:
// KindNotFound when the workspace does not exist.
func (s *Store) WorkspaceForA2A(ctx context.Context, id string) (*host.Workspace, []byte, error) {
	const name = "store.workspace_for_a2a"
	if _, err := uuid.Parse(id); err != nil {
		return nil, nil, notFound(name, "workspace %q does not exist", id)
	}
	var digest []byte
	row := s.pool.QueryRow(ctx, `SELECT `+workspaceColumns+`,
		(SELECT t.digest FROM agent_tokens t WHERE t.workspace_id = workspaces.id)
		FROM workspaces WHERE id = $1`, id)
	ws, err := scanWorkspace(row, &digest)
	if err == pgx.ErrNoRows {
		return nil, nil, notFound(name, "workspace %s does not exist", id)
	}
	if err != nil {
		return nil, nil, dbError(name, err)
	}
	return ws, digest, nil
}

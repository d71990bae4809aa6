package store

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/molecule-ai/molecule-host/sdk"
)

// SetAgentToken stores the SHA-256 digest of a workspace's agent token,
// replacing its previous one (one live token per workspace). Errors:
// KindInvalid for an empty digest; KindNotFound.
func (s *Store) SetAgentToken(ctx context.Context, workspaceID string, digest []byte) error {
	const name = "store.set_agent_token"
	if len(digest) == 0 {
		return sdk.Invalid(name, "the token digest is empty", sdk.FieldError{Path: "digest", Message: "empty"})
	}
	if _, err := uuid.Parse(workspaceID); err != nil {
		return notFound(name, "workspace %q does not exist", workspaceID)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO agent_tokens (workspace_id, digest) VALUES ($1, $2)
		ON CONFLICT (workspace_id) DO UPDATE SET digest = EXCLUDED.digest, created_at = now()`,
		workspaceID, digest)
	switch code, _ := pgCode(err); code {
	case "23503":
		return notFound(name, "workspace %s does not exist", workspaceID)
	case "23505":
		return sdk.Errorf(sdk.KindConflict, name, "this token digest is already in use")
	}
	return dbError(name, err)
}

// WorkspaceByToken returns the id of the workspace whose live token has
// this digest. Errors: KindNotFound when none does or it is removed.
func (s *Store) WorkspaceByToken(ctx context.Context, digest []byte) (string, error) {
	const name = "store.workspace_by_token"
	var id string
	err := s.pool.QueryRow(ctx, `SELECT t.workspace_id::text FROM agent_tokens t
		JOIN workspaces w ON w.id = t.workspace_id
		WHERE t.digest = $1 AND w.status <> 'removed'`, digest).Scan(&id)
	if err == pgx.ErrNoRows {
		return "", notFound(name, "no workspace has this token")
	}
	if err != nil {
		return "", dbError(name, err)
	}
	return id, nil
}

// RevokeAgentToken deletes a workspace's agent token, so its agent can no
// longer call the registry. Revoking a workspace with no token succeeds.
func (s *Store) RevokeAgentToken(ctx context.Context, workspaceID string) error {
	const name = "store.revoke_agent_token"
	if _, err := uuid.Parse(workspaceID); err != nil {
		return notFound(name, "workspace %q does not exist", workspaceID)
	}
	_, err := s.pool.Exec(ctx, `DELETE FROM agent_tokens WHERE workspace_id = $1`, workspaceID)
	return dbError(name, err)
}

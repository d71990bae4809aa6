package store

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// AgentTokenDigest returns the digest of a workspace's live agent token,
// from which the A2A proxy derives the credential it presents to the agent
// (agentapi.A2ACredential). Errors: KindNotFound when the workspace has no
// live token (never started, stopped or removed).
func (s *Store) AgentTokenDigest(ctx context.Context, workspaceID string) ([]byte, error) {
	const name = "store.agent_token_digest"
	if _, err := uuid.Parse(workspaceID); err != nil {
		return nil, notFound(name, "workspace %q does not exist", workspaceID)
	}
	var digest []byte
	err := s.pool.QueryRow(ctx, `SELECT digest FROM agent_tokens WHERE workspace_id = $1`, workspaceID).Scan(&digest)
	if err == pgx.ErrNoRows {
		return nil, notFound(name, "workspace %s has no live agent token", workspaceID)
	}
	if err != nil {
		return nil, dbError(name, err)
	}
	return digest, nil
}

package fake

import (
	"context"
	"os"
	"path/filepath"

	"github.com/molecule-ai/molecule-host/sdk"
)

// Destroy stops the agent and removes the workspace record.
// Idempotent: an unknown workspace is a success. Returns KindInvalid for a
// bad workspace id.
func (b *Backend) Destroy(ctx context.Context, req *sdk.DestroyRequest) (*sdk.DestroyResponse, error) {
	st, err := b.begin(ctx, "destroy")
	if err != nil {
		return nil, err
	}
	if err := checkID("destroy", req.WorkspaceID); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopAgentLocked(req.WorkspaceID)
	if err := os.RemoveAll(filepath.Dir(st.configDir(req.WorkspaceID))); err != nil {
		return nil, sdk.Wrap(sdk.KindInternal, "destroy", err, "The workspace's agent directory cannot be removed.")
	}
	if err := st.remove(req.WorkspaceID); err != nil {
		return nil, sdk.Wrap(sdk.KindInternal, "destroy", err, "The workspace record cannot be removed.")
	}
	return &sdk.DestroyResponse{}, nil
}

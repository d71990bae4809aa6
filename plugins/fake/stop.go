package fake

import (
	"context"

	"github.com/molecule-ai/molecule-host/sdk"
)

// Stop stops the workspace agent and marks the record stopped, keeping it.
// Idempotent: a stopped or unknown workspace is a success. Returns
// KindInvalid for a bad workspace id.
func (b *Backend) Stop(ctx context.Context, req *sdk.StopRequest) (*sdk.StopResponse, error) {
	st, err := b.begin(ctx, "stop")
	if err != nil {
		return nil, err
	}
	if err := checkID("stop", req.WorkspaceID); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopAgentLocked(req.WorkspaceID)
	err = st.update(req.WorkspaceID, func(r *record) *record {
		if r == nil || r.State == sdk.RunStateStopped {
			return nil
		}
		r.State = sdk.RunStateStopped
		r.Logs = appendLine(r.Logs, "workspace stopped")
		return r
	})
	if err != nil {
		return nil, sdk.Wrap(sdk.KindInternal, "stop", err, "The workspace record cannot be written.")
	}
	return &sdk.StopResponse{State: req.State}, nil
}

package cp

import (
	"context"
	"net/url"

	"github.com/molecule-ai/molecule-host/sdk"
)

// Stop stops the workspace's instance and keeps it (disk, private IP,
// instance id). Idempotent: a stopped instance or a workspace without one
// is a success. Returns KindTransient, KindInvalid or KindInternal.
func (b *Backend) Stop(ctx context.Context, req *sdk.StopRequest) (*sdk.StopResponse, error) {
	c, err := b.client("stop")
	if err != nil {
		return nil, err
	}
	var out instance
	err = c.call(ctx, "stop", "POST", "/cp/workspaces/"+url.PathEscape(req.WorkspaceID)+"/stop", nil, &out, maxAnswer)
	if sdk.IsKind(err, sdk.KindNotFound) {
		return &sdk.StopResponse{State: req.State}, nil
	}
	if err != nil {
		return nil, err
	}
	return &sdk.StopResponse{State: encodeState(out)}, nil
}

package cp

import (
	"context"
	"net/url"

	"github.com/molecule-ai/molecule-host/sdk"
)

// Destroy terminates the workspace's instance and its disk (the disk is the
// instance's only volume, so RemoveVolumes changes nothing). Idempotent:
// nothing left is a success. Returns KindTransient, KindInvalid or
// KindInternal.
func (b *Backend) Destroy(ctx context.Context, req *sdk.DestroyRequest) (*sdk.DestroyResponse, error) {
	c, err := b.client("destroy")
	if err != nil {
		return nil, err
	}
	var out instance
	err = c.call(ctx, "destroy", "DELETE", "/cp/workspaces/"+url.PathEscape(req.WorkspaceID), nil, &out, maxAnswer)
	if err != nil && !sdk.IsKind(err, sdk.KindNotFound) {
		return nil, err
	}
	if err == nil && out.State != "terminated" {
		return nil, sdk.Errorf(sdk.KindTransient, "destroy", "The control plane answered state %q to terminate; retry.", out.State)
	}
	return &sdk.DestroyResponse{}, nil
}

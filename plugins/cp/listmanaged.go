package cp

import (
	"context"
	"net/url"

	"github.com/molecule-ai/molecule-host/sdk"
)

// ListManaged lists every workspace with an instance tagged with the org
// (the request's, else the configured org_id). Returns KindTransient,
// KindInvalid or KindInternal.
func (b *Backend) ListManaged(ctx context.Context, req *sdk.ListManagedRequest) (*sdk.ListManagedResponse, error) {
	c, err := b.client("list_managed")
	if err != nil {
		return nil, err
	}
	var list instanceList
	if err := c.call(ctx, "list_managed", "GET", "/cp/workspaces?org_id="+url.QueryEscape(c.org(req.OrgID)), nil, &list, maxListAnswer); err != nil {
		return nil, err
	}
	out := &sdk.ListManagedResponse{Workspaces: make([]sdk.ManagedWorkspace, 0, len(list.Workspaces))}
	for _, in := range list.Workspaces {
		out.Workspaces = append(out.Workspaces, sdk.ManagedWorkspace{
			WorkspaceID: in.WorkspaceID,
			State:       runState(in.State),
			Resources:   []string{"instance " + in.InstanceID + " (" + in.PrivateIP + ")"},
		})
	}
	return out, nil
}

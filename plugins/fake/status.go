package fake

import (
	"context"
	"fmt"

	"github.com/molecule-ai/molecule-host/sdk"
)

// Status reads each requested workspace's record from disk (never a
// cache, so an observer instance sees what the agents' instance wrote): a
// missing record is RunStateMissing, an unreadable one RunStateUnknown.
func (b *Backend) Status(ctx context.Context, req *sdk.StatusRequest) (*sdk.StatusResponse, error) {
	st, err := b.begin(ctx, "status")
	if err != nil {
		return nil, err
	}
	out := make([]sdk.WorkspaceStatus, 0, len(req.Workspaces))
	for _, ref := range req.Workspaces {
		out = append(out, statusOf(st, ref.WorkspaceID))
	}
	return &sdk.StatusResponse{Statuses: out}, nil
}

func statusOf(st *store, id string) sdk.WorkspaceStatus {
	s := sdk.WorkspaceStatus{WorkspaceID: id}
	if err := checkID("status", id); err != nil {
		s.State, s.Detail = sdk.RunStateMissing, "not a workspace id the fake can hold"
		return s
	}
	r, err := st.read(id)
	switch {
	case err != nil:
		s.State, s.Detail = sdk.RunStateUnknown, err.Error()
	case r == nil:
		s.State = sdk.RunStateMissing
	default:
		s.State, s.Detail = r.State, fmt.Sprintf("boot %d", r.StartCount)
		if r.State == sdk.RunStateRunning {
			s.Address = address
		}
	}
	return s
}

// ListManaged lists every workspace record on disk, optionally only those
// of one organization.
func (b *Backend) ListManaged(ctx context.Context, req *sdk.ListManagedRequest) (*sdk.ListManagedResponse, error) {
	st, err := b.begin(ctx, "list_managed")
	if err != nil {
		return nil, err
	}
	ids, err := st.ids()
	if err != nil {
		return nil, sdk.Wrap(sdk.KindInternal, "list_managed", err, "The workspace records cannot be listed.")
	}
	out := []sdk.ManagedWorkspace{}
	for _, id := range ids {
		r, err := st.read(id)
		if err != nil {
			out = append(out, sdk.ManagedWorkspace{WorkspaceID: id, State: sdk.RunStateUnknown, Resources: []string{"record " + st.path(id)}})
			continue
		}
		if r == nil {
			continue // removed meanwhile
		}
		if req.OrgID != "" && r.OrgID != req.OrgID {
			continue
		}
		res := []string{"record " + st.path(id)}
		if r.State == sdk.RunStateRunning {
			res = append(res, "agent "+id)
		}
		out = append(out, sdk.ManagedWorkspace{WorkspaceID: id, State: r.State, Resources: res})
	}
	return &sdk.ListManagedResponse{Workspaces: out}, nil
}

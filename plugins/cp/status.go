package cp

import (
	"context"
	"fmt"

	"github.com/molecule-ai/molecule-host/sdk"
)

// maxBatch is the control plane's limit of workspace ids per status call.
const maxBatch = 1000

// Status reports many workspaces with one batched CP call per 1000
// workspaces: pending and running instances are running, stopping and
// stopped ones stopped, terminated ones missing. Returns KindTransient,
// KindInvalid or KindInternal.
func (b *Backend) Status(ctx context.Context, req *sdk.StatusRequest) (*sdk.StatusResponse, error) {
	c, err := b.client("status")
	if err != nil {
		return nil, err
	}
	out := &sdk.StatusResponse{Statuses: make([]sdk.WorkspaceStatus, 0, len(req.Workspaces))}
	for start := 0; start < len(req.Workspaces); start += maxBatch {
		refs := req.Workspaces[start:min(start+maxBatch, len(req.Workspaces))]
		ids := make([]string, len(refs))
		for i, r := range refs {
			ids[i] = r.WorkspaceID
		}
		var list instanceList
		if err := c.call(ctx, "status", "POST", "/cp/workspaces/status", map[string][]string{"workspace_ids": ids}, &list, maxAnswer); err != nil {
			return nil, err
		}
		if len(list.Workspaces) != len(refs) {
			return nil, sdk.Errorf(sdk.KindInternal, "status", "The control plane answered %d statuses for %d workspaces.", len(list.Workspaces), len(refs))
		}
		for i, in := range list.Workspaces {
			out.Statuses = append(out.Statuses, toStatus(refs[i], in))
		}
	}
	return out, nil
}

func toStatus(ref sdk.WorkspaceRef, in instance) sdk.WorkspaceStatus {
	st := sdk.WorkspaceStatus{WorkspaceID: ref.WorkspaceID, State: runState(in.State), Address: in.PrivateIP}
	st.Detail = fmt.Sprintf("instance %s is %s", in.InstanceID, in.State)
	if in.InstanceID == "" {
		st.Detail = "no instance"
	}
	if in.StateReason != "" {
		st.Detail += ": " + in.StateReason
	}
	if prev, err := DecodeState(ref.State); err == nil && prev.InstanceID != "" && in.InstanceID != "" && prev.InstanceID != in.InstanceID {
		st.Detail += fmt.Sprintf(" (it replaced %s)", prev.InstanceID)
	}
	return st
}

// runState maps a CP instance state to the sdk's.
func runState(s string) sdk.RunState {
	switch s {
	case "pending", "running":
		return sdk.RunStateRunning
	case "stopping", "stopped":
		return sdk.RunStateStopped
	case "terminated":
		return sdk.RunStateMissing
	}
	return sdk.RunStateUnknown
}

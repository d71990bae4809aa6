package docker

import (
	"context"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/molecule-ai/molecule-host/sdk"
)

// Status reports every requested workspace with ONE container list call
// (filtered by the managed label), never one inspect per workspace:
// running, stopped (created, exited, paused, dead...) or missing. Returns
// KindConflict (not configured), KindTransient or KindInternal.
func (b *Backend) Status(ctx context.Context, req *sdk.StatusRequest) (*sdk.StatusResponse, error) {
	s, err := b.settings("status")
	if err != nil {
		return nil, err
	}
	all, err := s.listManagedContainers(ctx, "status", "")
	if err != nil {
		return nil, err
	}
	byID := map[string]container.Summary{}
	for _, c := range all {
		id := c.Labels[LabelWorkspaceID]
		if prev, ok := byID[id]; !ok || prev.State != container.StateRunning {
			byID[id] = c
		}
	}
	resp := &sdk.StatusResponse{Statuses: make([]sdk.WorkspaceStatus, 0, len(req.Workspaces))}
	for _, ref := range req.Workspaces {
		st := sdk.WorkspaceStatus{WorkspaceID: ref.WorkspaceID, State: sdk.RunStateMissing}
		if c, ok := byID[ref.WorkspaceID]; ok {
			st.State, st.Detail = runState(c.State), c.Status // no Address: the agent is reached only at its socket
		}
		resp.Statuses = append(resp.Statuses, st)
	}
	return resp, nil
}

// listManagedContainers is the one list call Status and ListManaged make.
func (s *settings) listManagedContainers(ctx context.Context, op, orgID string) ([]container.Summary, error) {
	f := make(client.Filters).Add("label", LabelManaged+"=true")
	if orgID != "" {
		f.Add("label", LabelOrgID+"="+orgID)
	}
	var items []container.Summary
	err := s.call(ctx, op, "list containers", func(ctx context.Context) error {
		r, err := s.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
		items = r.Items
		return err
	})
	return items, err
}

func runState(s container.ContainerState) sdk.RunState {
	switch s {
	case container.StateRunning, container.StateRestarting:
		return sdk.RunStateRunning
	case container.StateRemoving:
		return sdk.RunStateUnknown
	}
	return sdk.RunStateStopped
}

package dispatch

import (
	"context"

	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/sdk"
)

// RunState is a workspace's substrate state as a backend reports it.
type RunState struct {
	WorkspaceID string
	State       sdk.RunState
	Detail      string
	Address     string
}

// Running reports whether the substrate runs the workspace.
func (r RunState) Running() bool { return r.State == sdk.RunStateRunning }

// Status asks each backend once for all of its workspaces in wss (one
// batched call per backend, never one per workspace) and returns one
// RunState per workspace, keyed by id. Fallback: the workspaces of a
// backend that is not usable, or whose call fails, are RunStateUnknown with
// the reason; the first such error is returned beside the full map.
func (d *Dispatcher) Status(ctx context.Context, wss []*host.Workspace) (map[string]RunState, error) {
	byBackend := map[string][]*host.Workspace{}
	for _, ws := range wss {
		byBackend[ws.Backend] = append(byBackend[ws.Backend], ws)
	}
	out := make(map[string]RunState, len(wss))
	var first error
	for name, group := range byBackend {
		if err := d.statusOf(ctx, name, group, out); err != nil {
			if first == nil {
				first = err
			}
			for _, ws := range group {
				out[ws.ID] = RunState{WorkspaceID: ws.ID, State: sdk.RunStateUnknown, Detail: message(err)}
			}
		}
	}
	return out, first
}

func (d *Dispatcher) statusOf(ctx context.Context, name string, group []*host.Workspace, out map[string]RunState) error {
	b, _, err := d.resolve(name, "status", sdk.CapStatus)
	if err != nil {
		return err
	}
	req := &sdk.StatusRequest{Workspaces: make([]sdk.WorkspaceRef, len(group))}
	for i, ws := range group {
		req.Workspaces[i] = sdk.WorkspaceRef{WorkspaceID: ws.ID, State: stateOf(ws)}
	}
	var resp *sdk.StatusResponse
	err = d.call(ctx, "status", func(ctx context.Context) error {
		var err error
		resp, err = b.Status(ctx, req)
		return err
	})
	if err != nil {
		return err
	}
	for _, s := range resp.Statuses {
		out[s.WorkspaceID] = RunState{WorkspaceID: s.WorkspaceID, State: s.State, Detail: s.Detail, Address: s.Address}
	}
	for _, ws := range group { // a backend that forgot one is not trusted about it
		if _, ok := out[ws.ID]; !ok {
			out[ws.ID] = RunState{WorkspaceID: ws.ID, State: sdk.RunStateUnknown, Detail: "backend did not report this workspace"}
		}
	}
	return nil
}

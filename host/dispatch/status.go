package dispatch

import (
	"context"
	"fmt"
	"sync"

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
// batched call per backend, never one per workspace, the backends in
// parallel, each bounded by Timeouts.Status) and returns one RunState per
// workspace, keyed by id. Fallback: the workspaces of a backend that is not
// usable, or whose call fails or times out, are RunStateUnknown with the
// reason; the first such error is returned beside the full map.
//
// A backend speaks only for the workspaces it was asked about: ids it was
// not asked about are dropped, and a run state outside the sdk's set is
// RunStateUnknown, both logged as plugin faults. So one plugin's reply can
// never change another backend's workspaces.
func (d *Dispatcher) Status(ctx context.Context, wss []*host.Workspace) (map[string]RunState, error) {
	byBackend := map[string][]*host.Workspace{}
	var order []string
	for _, ws := range wss {
		if _, ok := byBackend[ws.Backend]; !ok {
			order = append(order, ws.Backend)
		}
		byBackend[ws.Backend] = append(byBackend[ws.Backend], ws)
	}
	results := make([]map[string]RunState, len(order))
	errs := make([]error, len(order))
	if len(order) == 1 { // one backend: no goroutine hop on the hot path
		results[0], errs[0] = d.statusOf(ctx, order[0], byBackend[order[0]])
	} else {
		var wg sync.WaitGroup
		for i, name := range order {
			wg.Go(func() { results[i], errs[i] = d.statusOf(ctx, name, byBackend[name]) })
		}
		wg.Wait()
	}
	out := make(map[string]RunState, len(wss))
	var first error
	for i, name := range order {
		if err := errs[i]; err != nil {
			if first == nil {
				first = err
			}
			for _, ws := range byBackend[name] {
				out[ws.ID] = RunState{WorkspaceID: ws.ID, State: sdk.RunStateUnknown, Detail: message(err)}
			}
			continue
		}
		for id, st := range results[i] {
			out[id] = st
		}
	}
	return out, first
}

// statusOf asks backend name about group and returns exactly one RunState
// per workspace of group.
func (d *Dispatcher) statusOf(ctx context.Context, name string, group []*host.Workspace) (map[string]RunState, error) {
	b, _, err := d.resolve(name, "status", sdk.CapStatus)
	if err != nil {
		return nil, err
	}
	req := &sdk.StatusRequest{Workspaces: make([]sdk.WorkspaceRef, len(group))}
	for i, ws := range group {
		req.Workspaces[i] = sdk.WorkspaceRef{WorkspaceID: ws.ID, State: stateOf(ws)}
	}
	var resp *sdk.StatusResponse
	err = d.call(ctx, b, name, "status", d.timeouts.Status, func(ctx context.Context) error {
		var err error
		resp, err = b.Status(ctx, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d.acceptStatuses(name, group, resp.Statuses), nil
}

// acceptStatuses keeps, of a backend's reply, one state per workspace the
// host asked about: the first reported, unless its run state is not one the
// sdk defines. Everything else is a plugin fault, logged once per reply.
func (d *Dispatcher) acceptStatuses(name string, group []*host.Workspace, got []sdk.WorkspaceStatus) map[string]RunState {
	out := make(map[string]RunState, len(group))
	asked := make(map[string]bool, len(group))
	for _, ws := range group {
		asked[ws.ID] = true
	}
	var strangers, dups int
	var sample string
	for _, s := range got {
		id := s.WorkspaceID
		switch _, seen := out[id]; {
		case !asked[id]:
			if strangers++; strangers == 1 {
				sample = id
			}
			continue
		case seen:
			dups++
			continue
		}
		if !knownRunState(s.State) {
			d.log.Warn("plugin fault: status reports a run state the sdk does not define; the workspace is left as it is",
				"backend", name, "workspace", id, "state", clip(string(s.State), 64))
			out[id] = RunState{WorkspaceID: id, State: sdk.RunStateUnknown,
				Detail: fmt.Sprintf("backend %s reported an invalid run state %q", quote(name), clip(string(s.State), 64))}
			continue
		}
		out[id] = RunState{WorkspaceID: id, State: s.State, Detail: s.Detail, Address: s.Address}
	}
	if strangers > 0 {
		d.log.Warn("plugin fault: status reports workspaces the host did not ask this backend about; ignored",
			"backend", name, "count", strangers, "first", clip(sample, 64))
	}
	if dups > 0 {
		d.log.Warn("plugin fault: status reports a workspace more than once; the first is kept", "backend", name, "count", dups)
	}
	for _, ws := range group { // a backend that forgot one is not trusted about it
		if _, ok := out[ws.ID]; !ok {
			out[ws.ID] = RunState{WorkspaceID: ws.ID, State: sdk.RunStateUnknown, Detail: "backend did not report this workspace"}
		}
	}
	return out
}

func knownRunState(s sdk.RunState) bool {
	switch s {
	case sdk.RunStateRunning, sdk.RunStateStopped, sdk.RunStateMissing, sdk.RunStateUnknown:
		return true
	}
	return false
}

// clip cuts a plugin-supplied string for a log line.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

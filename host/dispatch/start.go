package dispatch

import (
	"context"

	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/sdk"
)

// StartSpec is what the host knows when it starts a workspace. Runtime and
// config come from the Workspace as read from the database, never from the
// substrate.
type StartSpec struct {
	Workspace  *host.Workspace
	Image      string
	Env        map[string]string
	AgentToken string
	HostURL    string
}

// Placement is where a backend put a workspace: its new opaque state and
// the address its agent is reachable at.
type Placement struct {
	State        []byte
	StateVersion int64
	Address      string
}

// Start creates or starts the workspace on its backend. Fallback: with no
// usable backend it returns an error wrapping ErrNoBackend and makes no
// plugin call; the caller marks the workspace failed with that reason.
// Returns the backend's kinds unchanged.
func (d *Dispatcher) Start(ctx context.Context, spec StartSpec) (*Placement, error) {
	ws := spec.Workspace
	b, _, err := d.resolve(ws.Backend, "start", sdk.CapStart)
	if err != nil {
		return nil, err
	}
	req := &sdk.StartRequest{
		WorkspaceID: ws.ID,
		OrgID:       ws.OrgID,
		Name:        ws.Name,
		Runtime:     ws.Runtime,
		Tier:        ws.Tier,
		Image:       spec.Image,
		Env:         spec.Env,
		ConfigFiles: ConfigFiles(ws.Config),
		ConfigHash:  ws.ConfigHash,
		AgentToken:  spec.AgentToken,
		HostURL:     spec.HostURL,
		State:       stateOf(ws),
	}
	var resp *sdk.StartResponse
	err = d.call(ctx, "start", func(ctx context.Context) error {
		var err error
		resp, err = b.Start(ctx, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Placement{State: resp.State.Data, StateVersion: resp.State.Version, Address: resp.Address}, nil
}

// ConfigFiles converts a workspace's stored config to the sdk's form.
func ConfigFiles(cfg map[string]string) map[string][]byte {
	files := make(map[string][]byte, len(cfg))
	for p, c := range cfg {
		files[p] = []byte(c)
	}
	return files
}

func stateOf(ws *host.Workspace) sdk.BackendState {
	return sdk.BackendState{Data: ws.BackendState, Version: ws.BackendStateVersion}
}

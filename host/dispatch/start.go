package dispatch

import (
	"context"
	"net"
	"path/filepath"
	"strings"

	"github.com/molecule-ai/molecule-host/agentapi"

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
	// AgentDir is the workspace's agent directory (see
	// sdk.StartRequest.AgentDir); empty when the host serves none.
	AgentDir string
}

// Placement is where a backend put a workspace: its new opaque state and
// the address its agent is reachable at, in the form host.Workspace.Address
// documents.
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
		AgentDir:    spec.AgentDir,
		State:       stateOf(ws),
	}
	var resp *sdk.StartResponse
	err = d.call(ctx, b, ws.Backend, "start", d.timeouts.Start, func(ctx context.Context) error {
		var err error
		resp, err = b.Start(ctx, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	addr, err := placedAddress(ws.Backend, spec.AgentDir, resp)
	if err != nil {
		return nil, err
	}
	return &Placement{State: resp.State.Data, StateVersion: resp.State.Version, Address: addr}, nil
}

// placedAddress checks where the backend says the agent is and returns it
// as the host stores it: the exact endpoint when the backend gave one, else
// its bare address. A unix endpoint must be the agent socket of this
// workspace's own agent directory, and no address may be link-local,
// multicast or unspecified (cloud metadata services live on link-local
// addresses): a backend answering otherwise is at fault (KindInternal), and
// nothing is recorded.
func placedAddress(backend, agentDir string, resp *sdk.StartResponse) (string, error) {
	bad := func(format string, a ...any) error {
		return sdk.Errorf(sdk.KindInternal, "start", "Backend %s placed the workspace at an address the host refuses: "+format, append([]any{backend}, a...)...)
	}
	if resp.Endpoint == "" {
		if err := host.CheckAgentHost(resp.Address); err != nil {
			return "", bad("%v", err)
		}
		return resp.Address, nil
	}
	if path, ok := strings.CutPrefix(resp.Endpoint, host.UnixEndpointPrefix); ok {
		if want := filepath.Join(agentDir, agentapi.AgentSocket); agentDir == "" || path != want {
			return "", bad("unix endpoint %q is not this workspace's agent socket %q", path, want)
		}
		return resp.Endpoint, nil
	}
	h, port, err := net.SplitHostPort(resp.Endpoint)
	if err != nil || port == "" || port == "0" {
		return "", bad("endpoint %q is neither host:port nor unix:<agent socket>", resp.Endpoint)
	}
	if err := host.CheckAgentHost(h); err != nil {
		return "", bad("%v", err)
	}
	return resp.Endpoint, nil
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

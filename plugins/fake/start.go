package fake

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"

	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/sdk"
)

// address is where every workspace agent of the fake listens when the host
// gives no agent directory.
const address = "127.0.0.1"

// stateVersion is the schema version of the BackendState the fake returns.
const stateVersion = 1

// Start creates or starts the workspace: it records the request, marks the
// record running and starts the workspace agent. Idempotent: repeating the
// same request on a running workspace starts no second agent (the running
// one re-announces itself); a changed request (new host URL, token, env or
// config) restarts the agent as a new boot. Returns KindInvalid for a bad
// workspace id or a missing host URL.
func (b *Backend) Start(ctx context.Context, req *sdk.StartRequest) (*sdk.StartResponse, error) {
	st, err := b.begin(ctx, "start")
	if err != nil {
		return nil, err
	}
	if err := checkStart(req); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	prev, err := st.read(req.WorkspaceID)
	if err != nil {
		return nil, sdk.Wrap(sdk.KindInternal, "start", err, "The workspace record cannot be read.")
	}
	resp := &sdk.StartResponse{State: sdk.BackendState{Data: []byte(req.WorkspaceID), Version: stateVersion}, Address: address}
	if req.AgentDir != "" {
		resp.Address, resp.Endpoint = "", "unix:"+filepath.Join(req.AgentDir, agentapi.AgentSocket)
	}
	same := prev != nil && prev.State == sdk.RunStateRunning && sameBoot(prev, req)
	if a := b.agents[req.WorkspaceID]; same && a != nil && a.alive() {
		return resp, nil // the same boot is running: nothing to do
	}
	var r *record
	err = st.update(req.WorkspaceID, func(*record) *record {
		r = recordFor(prev, req, !same)
		return r
	})
	if err != nil {
		return nil, sdk.Wrap(sdk.KindInternal, "start", err, "The workspace record cannot be written.")
	}
	b.startAgentLocked(r)
	return resp, nil
}

func checkStart(req *sdk.StartRequest) error {
	if err := checkID("start", req.WorkspaceID); err != nil {
		return err
	}
	if req.HostURL == "" && req.AgentDir == "" {
		return sdk.Invalid("start", "The start request has neither a host URL nor an agent directory.", sdk.FieldError{Path: "host_url", Message: "host_url or agent_dir is required: the workspace agent registers there"})
	}
	if req.AgentDir != "" && !filepath.IsAbs(req.AgentDir) {
		return sdk.Invalid("start", "The start request's agent directory is not absolute.", sdk.FieldError{Path: "agent_dir", Message: fmt.Sprintf("%q is not an absolute path", req.AgentDir)})
	}
	return nil
}

// sameBoot reports whether req would boot the workspace exactly as the
// record says it is running.
func sameBoot(r *record, req *sdk.StartRequest) bool {
	return r.HostURL == req.HostURL && r.AgentDir == req.AgentDir && r.Token == req.AgentToken &&
		r.ConfigHash == agentapi.ConfigHash(req.ConfigFiles) && maps.Equal(r.Env, req.Env)
}

// recordFor builds the running record for req on top of prev (nil for a
// new workspace); newBoot counts a boot and logs its first line.
func recordFor(prev *record, req *sdk.StartRequest, newBoot bool) *record {
	r := &record{}
	if prev != nil {
		*r = *prev
	}
	r.ID, r.OrgID, r.State = req.WorkspaceID, req.OrgID, sdk.RunStateRunning
	r.Env, r.ConfigFiles = req.Env, req.ConfigFiles
	r.ConfigHash, r.Token, r.HostURL = agentapi.ConfigHash(req.ConfigFiles), req.AgentToken, req.HostURL
	r.AgentDir = req.AgentDir
	if newBoot {
		r.StartCount++
		r.Logs = appendLine(r.Logs, "starting workspace "+req.WorkspaceID)
	}
	return r
}

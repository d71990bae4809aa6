package cp

import (
	"context"
	"encoding/json"
	"maps"
	"net"
	"strconv"

	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/sdk"
)

type provisionRequest struct {
	OrgID             string `json:"org_id"`
	WorkspaceID       string `json:"workspace_id"`
	Runtime           string `json:"runtime"`
	Tier              int    `json:"tier"`
	Image             string `json:"image,omitempty"`
	UserData          string `json:"user_data"`
	HostURL           string `json:"host_url,omitempty"`
	AgentToken        string `json:"agent_token,omitempty"`
	HeartbeatInterval string `json:"heartbeat_interval,omitempty"`
}

// Start provisions the workspace's instance: the CP creates it, starts it
// when stopped, or reboots it when the user data (env, config files, token)
// changed; it never creates a second one, so a retried Start is safe. The
// config is applied asynchronously by the agent. The answer's Endpoint is
// the instance's private IP and agent port (Address alone, the IP, when the
// CP reports no port). Returns KindInvalid,
// KindConflict, KindQuota, KindTransient or KindInternal.
func (b *Backend) Start(ctx context.Context, req *sdk.StartRequest) (*sdk.StartResponse, error) {
	c, err := b.client("start")
	if err != nil {
		return nil, err
	}
	if req.WorkspaceID == "" {
		return nil, sdk.Invalid("start", "The start request is invalid.", sdk.FieldError{Path: "workspace_id", Message: "is required"})
	}
	ud, err := json.Marshal(userData(req))
	if err != nil {
		return nil, sdk.Wrap(sdk.KindInternal, "start", err, "The user data could not be encoded.")
	}
	runtime := req.Runtime
	if runtime == "" {
		runtime = "default"
	}
	in := provisionRequest{OrgID: c.org(req.OrgID), WorkspaceID: req.WorkspaceID, Runtime: runtime, Tier: req.Tier, Image: req.Image,
		UserData: string(ud), HostURL: req.HostURL, AgentToken: req.AgentToken, HeartbeatInterval: req.Env[agentapi.EnvHeartbeatInterval]}
	var out instance
	if err := c.call(ctx, "start", "POST", "/cp/workspaces/provision", in, &out, maxAnswer); err != nil {
		return nil, err
	}
	return &sdk.StartResponse{State: encodeState(out), Address: out.PrivateIP, Endpoint: endpoint(out)}, nil
}

// endpoint is the exact address the instance's agent serves A2A at, or
// empty when the control plane reports no agent port (the host then
// accepts any port the agent registers on the private IP).
func endpoint(in instance) string {
	if in.PrivateIP == "" || in.AgentPort <= 0 || in.AgentPort > 65535 {
		return ""
	}
	return net.JoinHostPort(in.PrivateIP, strconv.Itoa(in.AgentPort))
}

// userData is what the agent applies on boot: the request's env without the
// variables the launcher owns (agentapi.UserDataEnvRefused), which the agent
// refuses from user data. Of those, the agent's identity, the host's
// address and the heartbeat interval travel as provision fields the CP sets
// on the instance's environment; the rest (config directory, listener) are
// the instance's own.
func userData(req *sdk.StartRequest) agentapi.UserData {
	env := maps.Clone(req.Env)
	if env == nil {
		env = map[string]string{}
	}
	maps.DeleteFunc(env, func(k, _ string) bool { return agentapi.UserDataEnvRefused(k) })
	files := req.ConfigFiles
	if files == nil {
		files = map[string][]byte{}
	}
	return agentapi.UserData{Env: env, ConfigFiles: files}
}

// org is the org tag to use: the request's, else the configured one.
func (c *client) org(requested string) string {
	if requested != "" {
		return requested
	}
	return c.cfg.orgID
}

package sdk

// StartRequest is everything a backend needs to create or start a workspace.
// The host sends the full request every time, so a backend never needs to
// remember a previous one.
type StartRequest struct {
	WorkspaceID string
	// OrgID is the organization owning the workspace; empty means the
	// backend's configured one.
	OrgID   string
	Name    string
	Runtime string
	Tier    int
	// Image is the workspace image the host chose for Runtime.
	Image string
	// Env is the workspace's environment, secrets included. Never log it.
	Env map[string]string
	// ConfigFiles maps slash-separated paths relative to the workspace's
	// config root to their content.
	ConfigFiles map[string][]byte
	// ConfigHash is the hash of ConfigFiles the agent reports once it has
	// applied them (see agentapi.ConfigHash).
	ConfigHash string
	// AgentToken is the workspace agent's bearer token for the host's
	// registry. Never log it.
	AgentToken string
	// HostURL is the address the agent reaches the host at.
	HostURL string
	// State is the backend state the previous verb returned, zero if none.
	State BackendState
}

// StartResponse reports where the workspace runs.
type StartResponse struct {
	State BackendState
	// Address is the host (IP or name, no port) the workspace's agent is
	// reachable at. The host only forwards to agent URLs on this address.
	Address string
}

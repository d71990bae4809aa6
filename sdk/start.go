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
	// HostURL is the address the agent reaches the host at over the network
	// (http://host:port). A backend whose workspaces run on the host's
	// machine should use AgentDir instead and give the workspace no network
	// path to the host at all.
	HostURL string
	// AgentDir is a directory on the host's machine, private to this
	// workspace, in which the host serves the agent routes (register,
	// heartbeat, boot events; nothing else) on the unix socket
	// agentapi.HostSocket. A backend whose workspaces run on the host's
	// machine (containers, local processes) makes it the agent's only way to
	// the host: a container gets it mounted at agentapi.AgentDirInWorkspace
	// with the agent's host URL "unix://"+that+"/"+agentapi.HostSocket, and
	// the agent serves A2A on agentapi.AgentSocket in the same directory; the
	// backend then answers Endpoint "unix:"+AgentDir+"/"+agentapi.AgentSocket.
	// Empty when the host serves no agent sockets.
	AgentDir string
	// State is the backend state the previous verb returned, zero if none.
	State BackendState
}

// StartResponse reports where the workspace runs.
type StartResponse struct {
	State BackendState
	// Address is the host (IP or name, no port) the workspace's agent is
	// reachable at. Used only when Endpoint is empty: the host then forwards
	// to the URL the agent registered, provided its host is Address.
	Address string
	// Endpoint is the exact address the workspace's agent serves A2A at:
	// "host:port" for TCP, or "unix:" + StartRequest.AgentDir + "/" +
	// agentapi.AgentSocket for the agent socket in the workspace's agent
	// directory. The host forwards A2A calls there and nowhere else: never
	// to a URL the agent claims, never through a redirect, never to
	// link-local or metadata addresses, never to another unix path. Every
	// backend should set it.
	Endpoint string
}

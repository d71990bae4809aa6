package sdk

// RunState is what a backend reports about one workspace's substrate.
type RunState string

// Run states.
const (
	RunStateRunning RunState = "running"
	RunStateStopped RunState = "stopped"
	RunStateMissing RunState = "missing" // the backend holds nothing for it
	RunStateUnknown RunState = "unknown" // the backend could not tell; Detail says why
)

// WorkspaceRef names one workspace and its state in a batch call.
type WorkspaceRef struct {
	WorkspaceID string
	State       BackendState
}

// StatusRequest asks for the state of many workspaces in one call.
type StatusRequest struct {
	Workspaces []WorkspaceRef
}

// StatusResponse has one entry per requested workspace, in request order.
type StatusResponse struct {
	Statuses []WorkspaceStatus
}

// WorkspaceStatus is the substrate state of one workspace.
type WorkspaceStatus struct {
	WorkspaceID string
	State       RunState
	Detail      string
	Address     string
}

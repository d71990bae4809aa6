package sdk

// StopRequest names the workspace to stop.
type StopRequest struct {
	WorkspaceID string
	State       BackendState
}

// StopResponse carries the state after the stop.
type StopResponse struct {
	State BackendState
}

package sdk

// DestroyRequest names the workspace whose resources to remove.
type DestroyRequest struct {
	WorkspaceID string
	State       BackendState
	// RemoveVolumes also removes the workspace's persistent data.
	RemoveVolumes bool
}

// DestroyResponse is empty today; it exists so fields can be added.
type DestroyResponse struct{}

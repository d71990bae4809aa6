package sdk

// ListManagedRequest optionally narrows the listing to one organization.
type ListManagedRequest struct {
	OrgID string
}

// ListManagedResponse lists every workspace the backend holds resources for.
type ListManagedResponse struct {
	Workspaces []ManagedWorkspace
}

// ManagedWorkspace is one workspace a backend holds resources for.
type ManagedWorkspace struct {
	WorkspaceID string
	State       RunState
	// Resources names what the backend holds, e.g. "container ws-…",
	// "volume ws-…-config", for leak reports.
	Resources []string
}

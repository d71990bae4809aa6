package sdk

// ListManagedRequest optionally narrows the listing to one organization.
// Empty OrgID lists everything the backend's configuration gives it access
// to; a backend scoped to one organization (a control plane tenant) lists
// that organization's workspaces, the same ones a Start with an empty OrgID
// creates.
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

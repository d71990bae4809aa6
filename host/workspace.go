package host

import "time"

// Workspace is an agent's home on one backend, as the host stores it.
type Workspace struct {
	ID      string
	Name    string
	OrgID   string
	Backend string
	Runtime string
	Tier    int
	// Config maps config file paths (relative to the workspace's config
	// root) to their content. It is the only source of a workspace's
	// configuration: restart reads it from the database, never from the
	// substrate.
	Config map[string]string
	// ConfigHash is agentapi.ConfigHash(Config), stored beside it.
	ConfigHash string

	Status       Status
	StatusReason string

	// URL is the agent's A2A URL as registered; empty until it registers.
	URL string
	// Address is the host the backend says the agent runs at.
	Address string

	// BackendState is the backend's opaque state; never exposed by the API.
	BackendState        []byte
	BackendStateVersion int64

	// ProvisionDeadline is when a workspace still provisioning is failed.
	ProvisionDeadline *time.Time
	LastHeartbeatAt   *time.Time
	// RegisteredAt and ConfigAppliedHash record this boot's readiness
	// signals; both are cleared when a start begins.
	RegisteredAt      *time.Time
	ConfigAppliedHash string

	CreatedAt time.Time
	UpdatedAt time.Time
}
